"""The demo's documents: daytwo's own documentation, cut into sections.

The wheel carries the documentation as ``daytwo/_docs`` (see pyproject.toml);
an editable install reads it from the repository's ``docs/``.
"""

import re
from dataclasses import dataclass
from pathlib import Path

_HEADING = re.compile(r"^(#{1,3}) (.+)$", re.MULTILINE)
_MAX_CHARS = 1500
_MIN_CHARS = 80


@dataclass(frozen=True, slots=True)
class Passage:
    """One section of one document."""

    id: str
    title: str
    text: str


def docs_directory() -> Path:
    """Return where daytwo's documentation is, installed or in a clone."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_docs", package.parent.parent / "docs"):
        if (candidate / "sdk.md").exists():
            return candidate
    raise FileNotFoundError("daytwo's documentation is not installed with the package")


def load(directory: Path | None = None) -> list[Passage]:
    """Return every section of the documentation as a passage, in document order."""
    directory = directory or docs_directory()
    passages: list[Passage] = []
    for path in sorted(directory.glob("*.md")):
        if path.name in ("benchmarks.md", "README.md"):
            continue  # tables of measurements and an index: poor answers to questions
        passages += _sections(path.stem, path.read_text(encoding="utf-8"))
    return passages


def _sections(document: str, text: str) -> list[Passage]:
    found = []
    headings = list(_HEADING.finditer(text))
    for number, heading in enumerate(headings):
        end = headings[number + 1].start() if number + 1 < len(headings) else len(text)
        body = text[heading.end() : end].strip()
        if len(body) < _MIN_CHARS:
            continue
        title = heading.group(2).strip()
        for part, chunk in enumerate(_chunks(body)):
            found.append(Passage(f"{document}#{number}.{part}", f"{document}: {title}", chunk))
    return found


def _chunks(body: str) -> list[str]:
    """Cut a long section at paragraph boundaries into pieces of at most _MAX_CHARS."""
    chunks, current = [], ""
    for paragraph in body.split("\n\n"):
        if current and len(current) + len(paragraph) > _MAX_CHARS:
            chunks.append(current.strip())
            current = ""
        current += paragraph + "\n\n"
    if current.strip():
        chunks.append(current.strip())
    return chunks
