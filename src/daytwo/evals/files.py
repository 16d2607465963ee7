"""Dataset items in files: JSON Lines and CSV, read and written the same way everywhere.

A JSON Lines file holds one object a line with the keys ``input``,
``expected``, ``context``, ``metadata`` and optionally ``id``. A CSV file has a
header naming those columns; a cell holding JSON (an object, a list, a number)
is read as that value, any other cell as text. ``context`` and ``metadata``
cells must hold JSON.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

FIELDS = ("id", "input", "expected", "context", "metadata")
_JSON_ONLY = ("context", "metadata")


class DatasetFileError(ValueError):
    """A line or row of a dataset file cannot be read; the message names which and why."""


def read_jsonl(text: str) -> list[dict[str, Any]]:
    """Return the items of a JSON Lines document."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetFileError(f"line {number} is not valid JSON: {error.msg}") from None
        if not isinstance(item, dict):
            raise DatasetFileError(
                f"line {number} must be a JSON object, not {type(item).__name__}"
            )
        found.append(_checked(item, f"line {number}"))
    return found


def read_csv(text: str) -> list[dict[str, Any]]:
    """Return the items of a CSV document with a header row."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise DatasetFileError("the CSV file is empty; it needs a header row")
    unknown = set(reader.fieldnames) - set(FIELDS)
    if unknown:
        raise DatasetFileError(
            f"unknown CSV column {', '.join(sorted(unknown))}; expected: {', '.join(FIELDS)}"
        )
    found = []
    for number, row in enumerate(reader, start=2):
        item: dict[str, Any] = {}
        for key, cell in row.items():
            if cell is None or cell == "":
                continue
            item[key] = _cell(key, cell, number)
        found.append(_checked(item, f"row {number}"))
    return found


def write_jsonl(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Yield the lines of a JSON Lines document."""
    for item in items:
        yield json.dumps({key: item.get(key) for key in FIELDS}, ensure_ascii=False) + "\n"


def write_csv(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Yield the rows of a CSV document, values other than text written as JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for item in items:
        writer.writerow([_to_cell(key, item.get(key)) for key in FIELDS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _cell(key: str, cell: str, number: int) -> Any:
    if key == "id":
        return cell
    try:
        return json.loads(cell)
    except json.JSONDecodeError:
        if key in _JSON_ONLY:
            raise DatasetFileError(f"row {number}: the {key} cell must hold JSON") from None
        return cell


def _to_cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and key not in _JSON_ONLY:
        # Text that would read back as JSON (such as "42") is quoted as a JSON string.
        try:
            json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.dumps(value, ensure_ascii=False)


def _checked(item: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(item) - set(FIELDS)
    if unknown:
        raise DatasetFileError(
            f"{where}: unknown key {', '.join(sorted(unknown))}; expected: {', '.join(FIELDS)}"
        )
    if item.get("metadata") is not None and not isinstance(item["metadata"], dict):
        raise DatasetFileError(f"{where}: metadata must be an object")
    if item.get("id") is not None:
        item["id"] = str(item["id"])
    return item
