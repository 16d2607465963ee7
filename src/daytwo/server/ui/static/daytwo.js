// daytwo's web UI: keyboard navigation in lists of rows, and charts drawn with uPlot.
// No page puts script inline; data reaches this file through <script type="application/json">.
"use strict";

(function () {
  // Rows marked [data-nav-row] inside a [data-nav-list] move with ArrowUp and ArrowDown;
  // Enter or a click on a row activates it (htmx loads its detail).
  function rows(list) { return Array.from(list.querySelectorAll("[data-nav-row]")); }

  function select(row, activate) {
    const list = row.closest("[data-nav-list]");
    rows(list).forEach(function (other) { other.setAttribute("aria-selected", other === row ? "true" : "false"); });
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
    if (activate) { row.click(); }
  }

  document.addEventListener("keydown", function (event) {
    const row = event.target.closest ? event.target.closest("[data-nav-row]") : null;
    const list = row ? row.closest("[data-nav-list]") : document.querySelector("[data-nav-list]");
    if (!list || ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName)) { return; }
    const all = rows(list);
    if (!all.length) { return; }
    const current = all.findIndex(function (r) { return r.getAttribute("aria-selected") === "true"; });
    let next = null;
    if (event.key === "ArrowDown" || event.key === "j") { next = all[Math.min(current + 1, all.length - 1)]; }
    if (event.key === "ArrowUp" || event.key === "k") { next = all[Math.max(current - 1, 0)]; }
    if (event.key === "Enter" && current >= 0) { all[current].click(); event.preventDefault(); return; }
    if (next) { event.preventDefault(); select(next, true); }
  });

  document.addEventListener("click", function (event) {
    const row = event.target.closest ? event.target.closest("[data-nav-row]") : null;
    if (row) { select(row, false); }
  });

  // Charts: <div class="plot" data-chart="ID"> with <script type="application/json" id="ID">
  // holding {"x": [unix seconds], "series": [{"label": "...", "values": [...]}], "unit": "..."}.
  const palette = ["#2456c6", "#b3261e", "#1e7b3a", "#a35a00", "#6b3fb8", "#0f7b8a", "#4c5560", "#c2185b"];

  function draw(element) {
    if (element.dataset.drawn || typeof uPlot === "undefined") { return; }
    const source = document.getElementById(element.dataset.chart);
    if (!source) { return; }
    const spec = JSON.parse(source.textContent);
    const width = Math.max(element.clientWidth, 320);
    // Points show where the line is sparse (uPlot's default), so a lone value between
    // empty buckets stays visible.
    const series = [{}].concat(spec.series.map(function (s, i) {
      return { label: s.label, stroke: palette[i % palette.length], width: 1.5 };
    }));
    const counts = spec.unit === "";
    const options = {
      width: width, height: 220, series: series,
      // Pages state times in UTC; the axis and the legend do too.
      tzDate: function (seconds) { return uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"); },
      axes: [{}, {
        size: 70,
        // Counts have whole-number ticks only: no "1.5 errors".
        incrs: counts ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6] : undefined,
        values: function (u, ticks) { return ticks.map(function (t) { return format(t, spec.unit); }); },
      }],
      scales: { x: { time: true } },
    };
    element.dataset.drawn = "1";
    new uPlot(options, [spec.x].concat(spec.series.map(function (s) { return s.values; })), element);
  }

  function format(value, unit) {
    if (value === null || value === undefined) { return ""; }
    if (unit === "$") { return "$" + (value >= 1 ? value.toFixed(2) : value.toPrecision(2)); }
    if (unit === "ms") { return value >= 1000 ? (value / 1000).toFixed(1) + " s" : value.toFixed(0) + " ms"; }
    return value >= 1000 ? (value / 1000).toFixed(1) + "k" : String(Math.round(value * 100) / 100);
  }

  function drawAll(root) { (root || document).querySelectorAll("[data-chart]").forEach(draw); }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
})();

// The traces explorer: the filter form leaves its empty fields out of the URL, so that a
// shared link holds only the filters in use, and a header checkbox selects every row.
(function () {
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches || !form.matches("form[data-drop-empty]")) { return; }
    event.preventDefault();
    const params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && value.trim() !== "") { params.append(name, value.trim()); }
    });
    const query = params.toString();
    window.location.assign(form.action + (query ? "?" + query : ""));
  });

  document.addEventListener("change", function (event) {
    const box = event.target;
    if (!box.matches || !box.matches("input[data-check-all]")) { return; }
    box.form.querySelectorAll("input[type=checkbox][name=trace_id]").forEach(function (each) { each.checked = box.checked; });
  });

  // The trace view: htmx checks hx-trigger="revealed" on scrolls of the window only, so a
  // scroll inside the span tree is passed on; the window's last row then loads the next one.
  document.addEventListener("scroll", function (event) {
    if (event.target.matches && event.target.matches("[data-reveal-scroll]")) {
      window.dispatchEvent(new Event("scroll"));
    }
  }, true);
})();

// The score form: show only the value field of the chosen type (all three show without script).
(function () {
  function showType(form) {
    const type = form.querySelector("select[name=data_type]");
    if (type) { form.dataset.type = type.value; }
  }

  function showAll(root) { (root || document).querySelectorAll("form.score-form").forEach(showType); }

  document.addEventListener("change", function (event) {
    const form = event.target.closest ? event.target.closest("form.score-form") : null;
    if (form && event.target.name === "data_type") { showType(form); }
  });
  document.addEventListener("DOMContentLoaded", function () { showAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { showAll(event.target); });
})();
