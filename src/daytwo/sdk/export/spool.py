"""The on-disk spool: batches the server could not take wait here to be replayed.

Each batch is one file holding the exact compressed request body, named so
that names sort oldest first and say how many spans are inside:
``<time ns>-<pid>-<sequence>-<spans>.json.gz``. A file is written under a
temporary name and renamed into place, so a crash never leaves half a batch
to replay. Replaying claims a file by renaming it, so that several processes
sharing one spool never send the same file twice at once; claims left by a
process that died are released. Replaying a batch twice is harmless: the
server merges records by id.
"""

import hashlib
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

_SUFFIX = ".json.gz"
_CLAIM = ".claim-"


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """A claimed spool file."""

    path: Path
    spans: int
    size: int

    def read(self) -> bytes:
        return self.path.read_bytes()


class Spool:
    """A bounded directory of batches for one server."""

    def __init__(self, root: Path, url: str, max_bytes: int) -> None:
        self.directory = root / hashlib.sha256(url.encode()).hexdigest()[:16]
        self.max_bytes = max_bytes
        self._sequence = itertools.count()
        self._ready = False

    def put(self, body: bytes, spans: int) -> bool:
        """Store one batch; return False when the spool is full (the batch is not stored)."""
        self._prepare()
        if self.size() + len(body) > self.max_bytes:
            return False
        name = f"{_now_ns():020d}-{os.getpid()}-{next(self._sequence)}-{spans}{_SUFFIX}"
        temporary = self.directory / f".{name}.tmp"
        with open(temporary, "wb") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.directory / name)
        return True

    def claim_oldest(self) -> SpooledBatch | None:
        """Claim the oldest batch for replay, or return None if there is none."""
        self._prepare()
        for name in sorted(self._names()):
            path = self.directory / name
            claimed = path.with_name(f"{name}{_CLAIM}{os.getpid()}")
            try:
                os.rename(path, claimed)
                size = claimed.stat().st_size
            except FileNotFoundError:
                continue  # another process claimed it first
            return SpooledBatch(claimed, _spans_in(name), size)
        return None

    def done(self, batch: SpooledBatch) -> None:
        """Delete a batch that the server accepted (or that can never be accepted)."""
        batch.path.unlink(missing_ok=True)

    def release(self, batch: SpooledBatch) -> None:
        """Put a claimed batch back for a later replay."""
        original = batch.path.name.split(_CLAIM, 1)[0]
        os.replace(batch.path, batch.path.with_name(original))

    def pending(self) -> tuple[int, int]:
        """Return the number of batches and of spans waiting in the spool."""
        if not self.directory.exists():
            return 0, 0
        names = self._names()
        return len(names), sum(_spans_in(name) for name in names)

    def size(self) -> int:
        """Return the bytes the spool's batches take."""
        total = 0
        with os.scandir(self.directory) as entries:
            for entry in entries:
                if entry.name.endswith(_SUFFIX) or _CLAIM in entry.name:
                    total += entry.stat().st_size
        return total

    def _names(self) -> list[str]:
        return [n for n in os.listdir(self.directory) if n.endswith(_SUFFIX) and n[0] != "."]

    def _prepare(self) -> None:
        if self._ready:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self._release_orphaned_claims()
        self._ready = True

    def _release_orphaned_claims(self) -> None:
        for name in os.listdir(self.directory):
            if _CLAIM not in name:
                continue
            original, pid = name.split(_CLAIM, 1)
            if pid.isdigit() and not _alive(int(pid)):
                try:
                    os.replace(self.directory / name, self.directory / original)
                except FileNotFoundError:
                    continue


def _spans_in(name: str) -> int:
    try:
        return int(name.removesuffix(_SUFFIX).rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now_ns() -> int:
    import time

    return time.time_ns()
