"""The ``daytwo`` command line: ``serve``, ``db upgrade``, ``eval`` and ``version``."""

import argparse
import logging
import os
import sys
from collections.abc import Sequence

import daytwo
from daytwo.demo import run as demo
from daytwo.evals import gate
from daytwo.prompts import cli as prompt_cli

DEFAULT_PORT = 7700


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        result: int = args.handler(args)
    except ValueError as error:
        print(f"daytwo: {error}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daytwo", description=daytwo.__doc__)
    commands = parser.add_subparsers(metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server (API and OTLP ingest)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s)")
    serve.add_argument("--database-url", help="overrides DAYTWO_DATABASE_URL")
    serve.add_argument("--workers", type=int, default=1, help="server processes (default: 1)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(handler=_serve)

    database = commands.add_parser("db", help="manage the database schema")
    database_commands = database.add_subparsers(metavar="ACTION", required=True)
    upgrade = database_commands.add_parser("upgrade", help="migrate to the newest schema")
    upgrade.add_argument("--database-url", help="overrides DAYTWO_DATABASE_URL")
    upgrade.set_defaults(handler=_db_upgrade)

    gate.add_parser(commands)
    prompt_cli.add_parser(commands)
    demo.add_parser(commands)

    version = commands.add_parser("version", help="print the version")
    version.set_defaults(handler=lambda _: print(daytwo.__version__) or 0)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from daytwo.config import Settings

    if args.database_url:
        # Through the environment, so that every worker process sees it.
        os.environ["DAYTWO_DATABASE_URL"] = args.database_url
    settings = Settings.from_env()
    _configure_logging(args.log_level)
    logging.getLogger(__name__).info(
        "storing data in %s", _describe(settings.resolved_database_url())
    )
    uvicorn.run(
        "daytwo.server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        timeout_graceful_shutdown=30,
    )
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from daytwo.config import Settings
    from daytwo.storage import migrate
    from daytwo.storage.engine import create_database_engine

    settings = Settings.from_env(database_url=args.database_url)
    engine = create_database_engine(settings.resolved_database_url())
    migrate.upgrade(engine)
    print(f"database at revision {migrate.current_revision(engine)}")
    return 0


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(levelname)s:     %(name)s: %(message)s")


def _describe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
