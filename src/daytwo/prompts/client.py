"""Fetch prompts from the server and cache them in the process.

A label is cached with the versions it points at, for ``ttl`` seconds (60 by
default, ``DAYTWO_PROMPT_CACHE_TTL``). Once stale, the cached value is still
returned at once while one background thread fetches a fresh one, so a
request never waits for the server after the first. When the server is down
the last known version keeps being served; with nothing cached, the
``default`` given is used, or ``PromptUnavailableError`` raised. A version
fetched by number never changes, so it never expires.

Rollouts are resolved here, not on the server: the cached label holds both of
its versions, and the caller's key picks one (`daytwo.model.prompts.in_split`),
so a split costs one hash per call.

``DAYTWO_PROMPT_VERSIONS="support=3,other=2"`` pins prompts to versions:
every lookup of a pinned prompt by label, the default one or one named, gets
the pinned version; only an explicit ``version=`` is served as asked. The
regression check of ``daytwo prompt label --check-*`` uses it to evaluate a
version before a label moves to it, whichever label the task asks for.
"""

import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from daytwo.model.prompts import LABEL_PATTERN, LabelView
from daytwo.prompts.errors import PromptUnavailableError
from daytwo.prompts.prompt import Prompt, PromptVersion
from daytwo.sdk import tracer
from daytwo.sdk.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_PROJECT = "default"
DEFAULT_LABEL = "production"
DEFAULT_TTL = 60.0
DEFAULT_TIMEOUT = 2.0
PINS_VARIABLE = "DAYTWO_PROMPT_VERSIONS"
TTL_VARIABLE = "DAYTWO_PROMPT_CACHE_TTL"

Default = str | Sequence[Mapping[str, str]]
_LABEL = re.compile(LABEL_PATTERN)
_CacheKey = tuple[str, str, str, str | int]


class _FetchError(Exception):
    """The server could not be reached, or answered with an error."""


@dataclass(slots=True)
class _Entry:
    """A cached label (with its versions) or a cached version."""

    label: LabelView | None
    versions: dict[int, PromptVersion]
    expires_at: float

    def serve(self, name: str, key: str | None) -> Prompt:
        label = self.label
        if label is None:
            return Prompt(next(iter(self.versions.values())), None)
        number, from_split = label.choose(name, key)
        split_percent = label.split_percent if label.split_version is not None else None
        return Prompt(self.versions[number], label.label, from_split, split_percent)


class PromptClient:
    """Prompts of one daytwo server, cached in this process.

    ``url``, ``api_key`` and ``project`` default to the SDK's settings as they
    are at each fetch. ``clock`` (seconds, monotonic) and ``transport`` are
    for tests.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        project: str | None = None,
        ttl: float = DEFAULT_TTL,
        timeout: float = DEFAULT_TIMEOUT,
        retry_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if ttl < 0 or timeout <= 0 or retry_interval < 0:
            raise ConfigError("ttl and retry_interval cannot be negative; timeout must be positive")
        self._url, self._api_key, self._project = url, api_key, project
        self.ttl = ttl
        # After a failed refresh, wait this long before trying again (not a full TTL).
        self.retry_interval = min(retry_interval, ttl)
        self._clock = clock
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._entries: dict[_CacheKey, _Entry] = {}
        self._refreshing: dict[_CacheKey, threading.Thread] = {}
        self._lock = threading.Lock()

    def get(
        self,
        name: str,
        *,
        label: str | None = None,
        version: int | None = None,
        key: str | None = None,
        default: Default | None = None,
        project: str | None = None,
    ) -> Prompt:
        """Return the prompt a label (``production`` by default) or a version number names."""
        cache_key = self._cache_key(name, label, version, project)
        entry = self._entries.get(cache_key)
        if entry is None:
            try:
                entry = self._fetch_and_store(cache_key)
            except _FetchError as error:
                if default is not None:
                    return Prompt(PromptVersion.default(name, default), None)
                raise PromptUnavailableError(
                    f"prompt {name!r} is unavailable and none is cached: {error}; "
                    "pass default= to get_prompt to fall back on a template"
                ) from None
        elif entry.expires_at <= self._clock():
            self._refresh_in_background(cache_key)
        return entry.serve(name, key)

    def _cache_key(
        self, name: str, label: str | None, version: int | None, project: str | None
    ) -> _CacheKey:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a prompt name must be a non-empty string, not {name!r}")
        if label is not None and version is not None:
            raise ValueError(f"give a label or a version of prompt {name!r}, not both")
        label = label or DEFAULT_LABEL
        if not _LABEL.match(label):
            raise ValueError(f"label {label!r} is not valid; expected {LABEL_PATTERN}")
        if version is None:
            # A pin overrides every label, so that a check sees the candidate however
            # the code under test asks for the prompt.
            version = pinned_versions().get(name)
        project = project or self._project or tracer.settings().project or DEFAULT_PROJECT
        if version is not None:
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise ValueError(f"version {version!r} of prompt {name!r} must be 1 or more")
            return (project, name, "version", version)
        return (project, name, "label", label)

    # Fetching.

    def _fetch_and_store(self, cache_key: _CacheKey) -> _Entry:
        entry = self._fetch(cache_key)
        with self._lock:
            self._entries[cache_key] = entry
        return entry

    def _fetch(self, cache_key: _CacheKey) -> _Entry:
        project, name, kind, selector = cache_key
        path = f"/api/v1/projects/{_q(project)}/prompts/{_q(name)}"
        if kind == "version":
            data = self._request(f"{path}/versions/{selector}", f"version {selector}")
            content = PromptVersion.from_api(data)
            return _Entry(None, {content.number or 0: content}, math.inf)
        data = self._request(f"{path}/labels/{_q(str(selector))}", f"label {selector!r}")
        label = LabelView.model_validate(data["label"])
        versions = {label.version: PromptVersion.from_api(data["target"])}
        if label.split_version is not None and data.get("split_target"):
            versions[label.split_version] = PromptVersion.from_api(data["split_target"])
        return _Entry(label, versions, self._clock() + self.ttl)

    def _request(self, path: str, what: str) -> dict[str, Any]:
        settings = tracer.settings()
        url = (self._url or settings.url).rstrip("/") + path
        api_key = self._api_key or settings.api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        try:
            response = self._http.get(url, headers=headers)
        except httpx.HTTPError as error:
            raise _FetchError(f"cannot reach {url}: {error}") from None
        if response.status_code != 200:
            raise _FetchError(
                f"{what}: the server answered {response.status_code}: {_error_message(response)}"
            )
        found: dict[str, Any] = response.json()
        return found

    # Background refresh.

    def _refresh_in_background(self, cache_key: _CacheKey) -> None:
        with self._lock:
            if cache_key in self._refreshing:
                return
            thread = threading.Thread(
                target=self._refresh, args=(cache_key,), name="daytwo-prompt-refresh", daemon=True
            )
            self._refreshing[cache_key] = thread
        thread.start()

    def _refresh(self, cache_key: _CacheKey) -> None:
        try:
            self._fetch_and_store(cache_key)
        except _FetchError as error:
            logger.debug("keeping the cached prompt %s: %s", cache_key[1], error)
            with self._lock:
                entry = self._entries.get(cache_key)
                if entry is not None:
                    entry.expires_at = self._clock() + self.retry_interval
        except Exception:
            logger.exception("refreshing prompt %r failed; the cached one is kept", cache_key[1])
        finally:
            with self._lock:
                self._refreshing.pop(cache_key, None)

    def wait_for_refreshes(self, timeout: float | None = None) -> bool:
        """Wait for background refreshes to finish; return whether they all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._refreshing.values())
            if not threads:
                return True
            for thread in threads:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                thread.join(remaining)
                if thread.is_alive():
                    return False

    def clear(self) -> None:
        """Forget every cached prompt."""
        with self._lock:
            self._entries.clear()

    def close(self) -> None:
        self.wait_for_refreshes(timeout=5.0)
        self._http.close()


def _q(part: str) -> str:
    return quote(part, safe="")


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


_pins: tuple[str, dict[str, int]] = ("", {})


def pinned_versions() -> dict[str, int]:
    """Return the versions pinned by ``DAYTWO_PROMPT_VERSIONS`` ("support=3,other=2")."""
    global _pins
    raw = os.environ.get(PINS_VARIABLE, "")
    if raw == _pins[0]:
        return _pins[1]
    found: dict[str, int] = {}
    for part in filter(None, (piece.strip() for piece in raw.split(","))):
        name, equals, number = part.partition("=")
        if not equals or not name.strip() or not number.strip().isdigit() or int(number) < 1:
            raise ConfigError(
                f"{PINS_VARIABLE} entry {part!r} is not NAME=VERSION, as in support=3"
            )
        found[name.strip()] = int(number)
    _pins = (raw, found)
    return found


_default_client: PromptClient | None = None
_default_lock = threading.Lock()


def default_client() -> PromptClient:
    """Return the process's client, made on first use with ``DAYTWO_PROMPT_CACHE_TTL``."""
    global _default_client
    client = _default_client
    if client is None:
        with _default_lock:
            if _default_client is None:
                _default_client = PromptClient(ttl=_ttl_from_env())
            client = _default_client
    return client


def configure(
    *, ttl: float | None = None, timeout: float | None = None, client: PromptClient | None = None
) -> PromptClient:
    """Replace the process's prompt client (and drop its cache); return the new one."""
    global _default_client
    new = client or PromptClient(
        ttl=_ttl_from_env() if ttl is None else ttl,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
    )
    with _default_lock:
        old, _default_client = _default_client, new
    if old is not None and old is not new:
        old.close()
    return new


def _ttl_from_env() -> float:
    raw = os.environ.get(TTL_VARIABLE, "")
    if not raw:
        return DEFAULT_TTL
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{TTL_VARIABLE}={raw!r} is not a number of seconds") from None


def get_prompt(
    name: str,
    *,
    label: str | None = None,
    version: int | None = None,
    key: str | None = None,
    default: Default | None = None,
    project: str | None = None,
) -> Prompt:
    """Return a managed prompt: the version a label points at, or a version by number.

    ``label`` defaults to ``production``. With ``key`` (a user or thread id), a
    label that splits traffic between two versions always serves that key the
    same one. ``default`` (a template string or a list of messages) is used
    when nothing can be fetched or cached; without it that raises
    ``PromptUnavailableError``.

        prompt = daytwo.get_prompt("support", key=user_id, default="Help with {{ product }}.")
        text = prompt.render(product="Acme")
    """
    return default_client().get(
        name, label=label, version=version, key=key, default=default, project=project
    )
