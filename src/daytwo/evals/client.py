"""A small client for the server's datasets and experiments API.

It uses the SDK's settings (``DAYTWO_URL``, ``DAYTWO_API_KEY``,
``DAYTWO_PROJECT``) unless given others, so evaluation code reaches the same
server as the traces it produces.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from daytwo.sdk import tracer

DEFAULT_PROJECT = "default"


class ApiError(Exception):
    """The server answered with an error; the message is the server's."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class DaytwoClient:
    """Datasets and experiments of one project on one daytwo server."""

    def __init__(
        self,
        url: str | None = None,
        *,
        project: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        settings = tracer.settings()
        self.url = (url or settings.url).rstrip("/")
        self.project = project or settings.project or DEFAULT_PROJECT
        key = api_key or settings.api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "DaytwoClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Datasets.

    def create_dataset(self, name: str, description: str | None = None) -> dict[str, Any]:
        """Create a dataset; raise ``ApiError`` (409) if it exists."""
        body = {"name": name, "description": description}
        return self._object("POST", self._datasets(), json=body)

    def dataset(self, name: str) -> dict[str, Any]:
        """Return a dataset's name, version and item count."""
        return self._object("GET", self._datasets(name))

    def ensure_dataset(self, name: str, description: str | None = None) -> dict[str, Any]:
        """Return the dataset, creating it if it does not exist."""
        try:
            return self.dataset(name)
        except ApiError as error:
            if error.status != 404:
                raise
        return self.create_dataset(name, description)

    def add_items(self, name: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Add (or, by id, replace) items as one new version."""
        return self._object("POST", self._datasets(name, "items"), json={"items": list(items)})

    def items(self, name: str, version: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield every item of a version (the newest by default), in the order added."""
        after = None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if version is not None:
                params["version"] = version
            if after is not None:
                params["after"] = after
            page: list[dict[str, Any]] = self._call(
                "GET", self._datasets(name, "items"), params=params
            )
            yield from page
            if len(page) < 1000:
                return
            after = page[-1]["id"]

    def add_items_from_traces(self, name: str, trace_ids: Iterable[str]) -> dict[str, Any]:
        """Add one item per stored trace (its input; its output as the expected answer)."""
        body = {"trace_ids": list(trace_ids)}
        return self._object("POST", self._datasets(name, "items", "from-traces"), json=body)

    # Experiments.

    def start_experiment(self, **spec: Any) -> dict[str, Any]:
        """Create an experiment (or resume the one whose ``id`` is given)."""
        return self._object("POST", self._experiments(), json=spec)

    def experiment(self, experiment_id: str) -> dict[str, Any]:
        return self._object("GET", self._experiments(experiment_id))

    def experiments(self, name: str | None = None) -> list[dict[str, Any]]:
        """Return experiments newest first, optionally only those called ``name``."""
        params = {"name": name} if name else {}
        found: list[dict[str, Any]] = self._call("GET", self._experiments(), params=params)
        return found

    def experiment_items(self, experiment_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("GET", self._experiments(experiment_id, "items"))
        return found

    def record_items(self, experiment_id: str, items: Sequence[Mapping[str, Any]]) -> None:
        self._call("POST", self._experiments(experiment_id, "items"), json={"items": list(items)})

    def set_status(self, experiment_id: str, status: str) -> dict[str, Any]:
        return self._object("PATCH", self._experiments(experiment_id), json={"status": status})

    def compare(self, experiment_ids: Sequence[str]) -> dict[str, Any]:
        """Compare experiments with the first: per-metric differences and item changes."""
        return self._object(
            "GET", self._experiments("compare"), params={"ids": list(experiment_ids)}
        )

    def experiment_url(self, experiment_id: str) -> str:
        """Return where the experiment is shown in the web UI."""
        return f"{self.url}/projects/{self.project}/experiments/{experiment_id}"

    # Plumbing.

    def _datasets(self, *parts: str) -> str:
        return self._path("datasets", parts)

    def _experiments(self, *parts: str) -> str:
        return self._path("experiments", parts)

    def _path(self, collection: str, parts: Sequence[str]) -> str:
        quoted = [quote(part, safe="") for part in (self.project, collection, *parts)]
        return "/api/v1/projects/" + "/".join(quoted)

    def _object(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        found: dict[str, Any] = self._call(method, path, **options)
        return found

    def _call(self, method: str, path: str, **options: Any) -> Any:
        response = self._http.request(method, path, **options)
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except Exception:
                message = response.text[:500]
            raise ApiError(response.status_code, message)
        return response.json() if response.content else None
