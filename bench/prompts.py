"""Time ``get_prompt``: cached, with a sticky split, uncached (one request), and rendering.

    python -m bench.prompts [--calls 20000] [--fetches 200]

Starts ``daytwo serve`` on 127.0.0.1 with a throw-away SQLite database, pushes
a chat prompt with a production label that splits 10% of keys to a second
version, and prints the median wall time per call on the calling thread.
Nothing asserts on timing.
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from daytwo.prompts import PromptClient

TEMPLATE = [
    {"role": "system", "content": "You support {{ product }} customers. Answer {{ tone }}."},
    {"role": "user", "content": "{{ question }}"},
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "DAYTWO_DATA_DIR": str(data_dir)}
    env.pop("DAYTWO_DATABASE_URL", None)
    command = [sys.executable, "-m", "daytwo", "serve", "--port", str(port), "--log-level", "error"]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    _stop(process)
    raise RuntimeError("the server did not become healthy in 30 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _seed(url: str) -> None:
    base = f"{url}/api/v1/projects/bench/prompts/support"
    with httpx.Client(timeout=10) as http:
        for model in ("gpt-4o-mini", "gpt-4o"):
            http.post(f"{base}/versions", json={"template": TEMPLATE, "model": model})
        body = {"version": 1, "split_version": 2, "split_percent": 10}
        http.put(f"{base}/labels/production", json=body).raise_for_status()


def _median_us(calls: int, call: Callable[[int], object]) -> float:
    timings = []
    clock = time.perf_counter_ns
    for i in range(calls):
        start = clock()
        call(i)
        timings.append(clock() - start)
    return statistics.median(timings) / 1000


def measure(url: str, calls: int, fetches: int) -> dict[str, float]:
    """Return the median microseconds per call of each way of getting a prompt."""
    client = PromptClient(url=url, project="bench")
    try:

        def uncached(_: int) -> object:
            client.clear()
            return client.get("support")

        figures = {"uncached (one HTTP request)": _median_us(fetches, uncached)}
        client.get("support")
        figures["cached, no key"] = _median_us(calls, lambda i: client.get("support"))
        figures["cached, sticky key (split)"] = _median_us(
            calls, lambda i: client.get("support", key=f"user-{i}")
        )
        prompt = client.get("support")
        figures["render (chat, 3 variables)"] = _median_us(
            calls, lambda i: prompt.render(product="Acme", tone="briefly", question="Refund?")
        )
        return figures
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--fetches", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        process, url = _start_server(Path(data_dir))
        try:
            _seed(url)
            figures = measure(url, args.calls, args.fetches)
        finally:
            _stop(process)
    width = max(map(len, figures))
    for name, micros in figures.items():
        print(f"{name.ljust(width)}  {micros:9.2f} µs median")


if __name__ == "__main__":
    main()
