"""Sample a server with py-spy while it is benchmarked, and summarise where time goes.

py-spy is not a dependency of daytwo: install it into the venv to use
``--profile`` (``pip install py-spy``). It records collapsed stacks ("raw"
format: ``frame;frame;frame count``), from which the summary computes, per
function, the share of samples where it is running (self) and, for daytwo's
own functions, where it is on the stack (total). Idle threads (waiting on a
lock or a socket) are not sampled, so the shares are of busy time.
"""

import contextlib
import logging
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

TOP = 25


@dataclass(slots=True)
class Recorder:
    process: subprocess.Popen[bytes]
    output: Path
    summary: Path


def py_spy() -> str | None:
    """Return the py-spy executable beside this Python, or on the PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start(pid: int, directory: Path, name: str) -> Recorder | None:
    """Start sampling process ``pid``; None (and a warning) when py-spy is missing."""
    executable = py_spy()
    if executable is None:
        logger.warning("py-spy is not installed; run `pip install py-spy` to profile")
        return None
    directory.mkdir(parents=True, exist_ok=True)
    output = directory / f"{name}.collapsed.txt"
    command = [executable, "record", "--pid", str(pid), "--format", "raw", "--threads"]
    command += ["--rate", "100", "--subprocesses", "--nonblocking", "--output", str(output)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return Recorder(process, output, directory / f"{name}.summary.txt")


def finish(recorder: Recorder) -> str | None:
    """Stop sampling, write the summary beside the raw stacks and return its path."""
    with contextlib.suppress(ProcessLookupError):
        recorder.process.send_signal(signal.SIGINT)
    try:
        recorder.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        recorder.process.kill()
        recorder.process.wait(timeout=10)
    if not recorder.output.exists():
        logger.warning("py-spy wrote no profile to %s", recorder.output)
        return None
    recorder.summary.write_text(summarise(recorder.output.read_text()))
    return str(recorder.summary)


def summarise(collapsed: str, top: int = TOP) -> str:
    """Return tables of the busiest threads and functions in ``collapsed`` stacks."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(frame) for frame in stack.split(";")]
        thread = next((f for f in frames if f.startswith("thread ")), "thread ?")
        code = [f for f in frames if f != "process" and not f.startswith("thread ")]
        samples += count
        threads[thread] += count
        if code:
            own[code[-1]] += count
        for function in set(code):
            total[function] += count
    lines = [f"{samples} samples of busy threads", "", "by thread:"]
    lines += [f"  {n / samples:6.1%}  {name}" for name, n in threads.most_common()]
    lines += ["", "self time (the function itself was running):"]
    lines += [f"  {n / samples:6.1%}  {name}" for name, n in own.most_common(top)]
    packages: Counter[str] = Counter()
    for function, count in own.items():
        packages[function.split("/", 1)[0] if "/" in function else function] += count
    lines += ["", "self time by package or module:"]
    lines += [f"  {n / samples:6.1%}  {name}" for name, n in packages.most_common(12)]
    # Framework frames (asyncio, starlette) are on every stack and say little.
    ours = Counter({name: n for name, n in total.items() if name.startswith("daytwo/")})
    lines += ["", "total time of daytwo's functions (on the stack):"]
    lines += [f"  {n / samples:6.1%}  {name}" for name, n in ours.most_common(top)]
    return "\n".join(lines) + "\n"


def _function(frame: str) -> str:
    """Return ``file:function`` for a frame ``function (path/to/file.py:123)``."""
    if frame.startswith("process "):
        return "process"
    if frame.startswith("thread ("):
        return "thread " + frame.partition("): ")[2]
    name, _, where = frame.partition(" (")
    if not where:
        return frame
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{_short_path(path)}:{name}"


def _short_path(path: str) -> str:
    for marker in ("site-packages/", "/src/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path
