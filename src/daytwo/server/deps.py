"""Shared server state, handed to routes as a FastAPI dependency."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from daytwo.config import Settings
from daytwo.server.errors import ApiError
from daytwo.storage.projects import ProjectDirectory

if TYPE_CHECKING:
    from daytwo.pricing import PriceBook
    from daytwo.server.committer import Committer
    from daytwo.storage.prices import PriceOverrideStore


@dataclass
class IngestCounters:
    """Records refused at ingest since the server started, by reason."""

    rejected_spans: int = 0


@dataclass
class Services:
    """Everything a route needs; one per server process, built by the app factory."""

    settings: Settings
    engine: Engine
    projects: ProjectDirectory
    prices: "PriceBook"
    committer: "Committer"
    price_overrides: "PriceOverrideStore"
    counters: IngestCounters = field(default_factory=IngestCounters)

    def project_id(self, name: str) -> int:
        """Return the id of project ``name`` or answer 404."""
        project_id = self.projects.lookup(name)
        if project_id is None:
            raise ApiError(404, f"no project named {name!r}")
        return project_id


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
