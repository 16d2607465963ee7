import subprocess
import sys

import daytwo


def test_public_names_are_exactly_these() -> None:
    assert daytwo.__all__ == ["__version__"]


def test_importing_daytwo_loads_no_server_or_storage_stack() -> None:
    heavy = ["fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "genai_prices"]
    code = f"import sys, daytwo; print([m for m in {heavy!r} if m in sys.modules])"

    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == "[]"


def test_the_command_line_prints_its_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "daytwo", "version"], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == daytwo.__version__
