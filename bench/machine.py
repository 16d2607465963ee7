"""What a benchmark ran on: the machine, the interpreter and the versions compared."""

import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

import daytwo

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Machine:
    cores: int
    memory_gib: float
    cpu: str
    system: str
    python: str
    sqlite: str

    def describe(self) -> str:
        return (
            f"{self.cores} cores ({self.cpu}), {self.memory_gib:.0f} GiB, {self.system}, "
            f"Python {self.python}, SQLite {self.sqlite}"
        )


def this_machine() -> Machine:
    return Machine(
        cores=os.cpu_count() or 0,
        memory_gib=psutil.virtual_memory().total / 2**30,
        cpu=_cpu_model(),
        system=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        sqlite=sqlite3.sqlite_version,
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def daytwo_version() -> str:
    """Return daytwo's version and the commit it was built from (``+dirty`` if edited)."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", "src"))
    except (OSError, subprocess.SubprocessError):
        return daytwo.__version__
    return f"{daytwo.__version__} ({commit}{'+dirty' if dirty else ''})"


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()
