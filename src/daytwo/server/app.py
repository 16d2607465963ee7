"""The application factory: ``create_app()`` builds the whole server."""

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

import daytwo
from daytwo.config import Settings
from daytwo.pricing import PriceBook, load_overrides_file
from daytwo.server import ui
from daytwo.server.api import datasets, experiments, ingest, prices, prompts, query, system
from daytwo.server.committer import Committer
from daytwo.server.deps import Services
from daytwo.server.errors import install_error_handlers
from daytwo.server.origin import CrossSiteGuard
from daytwo.storage import migrate
from daytwo.storage.engine import create_database_engine
from daytwo.storage.prices import PriceOverrideStore
from daytwo.storage.writer import Batch, Writer, WriteSummary

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the daytwo server as an ASGI application.

    Settings default to the ``DAYTWO_*`` environment variables. The database
    is migrated to the newest schema when the application starts.
    """
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings)
        app.state.services = services
        services.committer.start()
        logger.info("daytwo %s ready on %s", daytwo.__version__, _safe_url(services))
        try:
            yield
        finally:
            services.committer.close()
            services.engine.dispose()

    app = FastAPI(
        title="daytwo",
        version=daytwo.__version__,
        summary="Traces, costs and scores of LLM applications.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (system, ingest, query, prices, datasets, experiments, prompts):
        app.include_router(module.router)
    ui.install(app)
    app.add_middleware(CrossSiteGuard)
    return app


def build_services(settings: Settings) -> Services:
    """Connect to the database, bring its schema up to date and start nothing yet."""
    engine = create_database_engine(
        settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous
    )
    migrate.upgrade(engine)
    file_overrides = load_overrides_file(settings.prices_file) if settings.prices_file else []
    overrides = PriceOverrideStore(engine, file_overrides)
    book = PriceBook(overrides.load())
    writer = Writer(engine, book)

    def write(batches: Sequence[Batch]) -> WriteSummary:
        overrides.refresh_if_stale(book)
        return writer.write(batches)

    committer = Committer(write, max_pending=settings.max_pending_spans)
    return Services(
        settings=settings,
        engine=engine,
        projects=writer.projects,
        prices=book,
        committer=committer,
        price_overrides=overrides,
    )


def _safe_url(services: Services) -> str:
    return services.engine.url.render_as_string(hide_password=True)
