import subprocess
import sys

import daytwo


def test_public_names_are_exactly_these() -> None:
    assert daytwo.__all__ == [
        "ThreadPoolExecutor",
        "__version__",
        "configure",
        "continue_trace",
        "evaluate",
        "extract",
        "flush",
        "get_current_span",
        "get_prompt",
        "inject",
        "score",
        "shutdown",
        "span",
        "stats",
        "trace",
        "track",
        "update_current_span",
        "update_current_trace",
        "wrap",
    ]
    for name in daytwo.__all__:
        assert getattr(daytwo, name) is not None


def test_importing_daytwo_loads_no_server_or_storage_stack() -> None:
    heavy = ["fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "genai_prices"]
    # The exporter's needs load with the first span, not with the import.
    heavy += ["pydantic", "orjson", "http.client", "gzip", "logging", "concurrent.futures"]
    heavy += ["httpx", "daytwo.evals.runner"]
    code = f"import sys, daytwo; print([m for m in {heavy!r} if m in sys.modules])"

    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == "[]"


def test_evaluate_is_the_runners_and_loads_on_first_use() -> None:
    code = (
        "import sys, daytwo; before = 'daytwo.evals.runner' in sys.modules; "
        "from daytwo.evals.runner import evaluate; "
        "print(before, daytwo.evaluate is evaluate)"
    )

    printed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert printed == "False True"


def test_the_command_line_prints_its_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "daytwo", "version"], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == daytwo.__version__
