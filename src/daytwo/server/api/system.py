"""Health and the server's own counters."""

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

import daytwo
from daytwo.server.deps import ServicesDep
from daytwo.server.errors import ERROR_RESPONSES, ApiError

router = APIRouter(tags=["system"], responses=ERROR_RESPONSES)


class Health(BaseModel):
    status: str
    version: str


class ServerStats(BaseModel):
    """What ingest accepted, committed and refused since this process started."""

    committed_records: int
    commits: int
    largest_group: int
    pending_records: int
    failed_records: int
    rejected_spans: int
    overloaded_requests: int


@router.get("/healthz", response_model=Health, summary="Liveness and database check")
def health(services: ServicesDep) -> Health:
    """Answer 200 when the server can reach its database, 503 otherwise."""
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        raise ApiError(503, f"database unreachable: {type(error).__name__}") from None
    return Health(status="ok", version=daytwo.__version__)


@router.get("/api/v1/server/stats", response_model=ServerStats, summary="Ingest counters")
def server_stats(services: ServicesDep) -> ServerStats:
    """Return ingest counters, so that refused or failed data is never silent."""
    stats = services.committer.stats
    return ServerStats(
        committed_records=stats.committed_records,
        commits=stats.commits,
        largest_group=stats.largest_group,
        pending_records=services.committer.pending_records,
        failed_records=stats.failed_records,
        rejected_spans=services.counters.rejected_spans,
        overloaded_requests=stats.overloaded_requests,
    )
