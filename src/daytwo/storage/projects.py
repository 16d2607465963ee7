"""Projects: looked up by name, created on first use, cached per process."""

import threading
import time
from collections.abc import Iterable

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from daytwo.storage.tables import projects


class ProjectDirectory:
    """Map project names to ids, creating projects that do not exist yet."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def ensure(self, names: Iterable[str]) -> dict[str, int]:
        """Return the id of every project in ``names``, creating missing ones."""
        wanted = set(names)
        with self._lock:
            missing = wanted - self._ids.keys()
        if missing:
            self._load_or_create(missing)
        with self._lock:
            return {name: self._ids[name] for name in wanted}

    def lookup(self, name: str) -> int | None:
        """Return the id of project ``name``, or None if there is no such project."""
        with self._lock:
            if name in self._ids:
                return self._ids[name]
        with self.engine.connect() as connection:
            found = connection.execute(select(projects.c.id).where(projects.c.name == name))
            project_id = found.scalar_one_or_none()
        if project_id is not None:
            with self._lock:
                self._ids[name] = project_id
        return project_id

    def _load_or_create(self, names: set[str]) -> None:
        for name in sorted(names):
            if self.lookup(name) is not None:
                continue
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        projects.insert().values(name=name, created_at=time.time_ns() // 1000)
                    )
            except IntegrityError:
                pass  # another process created it first; the lookup below finds it
            if self.lookup(name) is None:
                raise RuntimeError(f"project {name!r} could not be created")
