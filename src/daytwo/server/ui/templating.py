"""Jinja2 for the web UI: one autoescaping environment and the filters its pages share.

Everything a page shows of a trace is untrusted model output. Autoescaping is
on for every template, no filter marks text safe, and the few pieces of markup
built in Python (sparklines) contain only numbers, so escaping is never up to
the template author.
"""

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
NONE = "\N{EN DASH}"  # shown where a figure is missing


def duration(ms: float | None) -> str:
    """Format milliseconds for people: ``840 ms``, ``1.25 s``, ``2 min 5 s``."""
    if ms is None:
        return NONE
    if ms < 1:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s"


def cost(usd: float | None, unknown: int = 0) -> str:
    """Format US dollars with enough digits for a single call: ``$0.000150``."""
    if usd is None:
        return "unknown" if unknown else NONE
    text = "$0" if usd == 0 else f"${usd:.2f}" if usd >= 1 else f"${usd:.6f}".rstrip("0")
    return f"{text} + {unknown} unpriced" if unknown else text


def number(value: float | None) -> str:
    """Format a count with thousands separators; a dash for none."""
    if value is None:
        return NONE
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


def when(value: datetime | None) -> str:
    """Format a time in UTC to the second, as the API returns it."""
    if value is None:
        return NONE
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso(value: datetime | None) -> str:
    """Format a time for a ``<time datetime>`` attribute or a URL parameter."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def pretty_json(value: Any) -> str:
    """Return ``value`` as indented JSON text; a string is shown as it is."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)


def one_line(value: Any, length: int = 120) -> str:
    """Return ``value`` as compact JSON (a string as it is) on one line, cut to ``length``."""
    if value is None:
        return NONE
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "\N{HORIZONTAL ELLIPSIS}"


def score_value(value: bool | float | str | None) -> str:
    """Format a score's value: booleans as yes and no, numbers to three digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    return NONE if value is None else str(value)


def sparkline(values: Sequence[float | None], width: int = 120, height: int = 28) -> Markup:
    """Return an inline SVG line of ``values``; only numbers enter the markup."""
    points = [0.0 if v is None or math.isnan(v) else float(v) for v in values]
    if not points:
        return Markup("")
    top = max(points) or 1.0
    step = width / max(len(points) - 1, 1)
    path = " ".join(
        f"{index * step:.1f},{height - 2 - (value / top) * (height - 4):.1f}"
        for index, value in enumerate(points)
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-hidden="true"><polyline points="{path}"/></svg>'
    )


def query_string(current: Mapping[str, Any], **changes: Any) -> str:
    """Return ``?...`` with ``current`` parameters updated by ``changes`` (None drops one)."""
    merged = {**current, **changes}
    kept = [(key, value) for key, value in merged.items() if value not in (None, "")]
    return "?" + urlencode(kept, doseq=True) if kept else "?"


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        duration=duration,
        cost=cost,
        number=number,
        when=when,
        iso=iso,
        pretty_json=pretty_json,
        one_line=one_line,
        score_value=score_value,
    )
    environment.globals.update(sparkline=sparkline, query_string=query_string)
    return environment


environment = _environment()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with ``context`` and the request as an HTML response."""
    page = environment.get_template(template).render(request=request, **context)
    return HTMLResponse(page, status_code=status_code)


def is_fragment(request: Request) -> bool:
    """Tell whether htmx asked for a part of a page rather than the whole page."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
