"""OTLP attribute values as plain Python data, and lookups over them.

Every ``AnyValue`` is decoded fully (strings, booleans, integers, doubles,
arrays, key-value lists, and bytes as lowercase hex) so that the result can be
stored as JSON. A span's attributes are decoded once into a dictionary; every
mapping rule is then a dictionary lookup.

Conventions flatten lists into indexed keys (``llm.input_messages.0.message.role``,
OpenInference "Attribute Naming Conventions"). Rather than splitting every key
of every span, `indexed` probes the keys an item may have, index by index, and
stops at the first index with none of them: instrumentations number their items
from zero without gaps, and a lookup is several times cheaper than a split.
"""

import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

MAX_DEPTH = 32
"""How deeply arrays and key-value lists may nest inside one attribute value.

Binary protobuf cannot nest deeper (upb stops at 100 message levels, three per
level here), but OTLP/JSON can; JSON encoders refuse values past a few hundred
levels, so a deeper value is refused here, where it can be reported.
"""


def decode_value(value: AnyValue, depth: int = 0) -> Any:
    """Return an ``AnyValue`` as JSON-serializable Python data.

    Raise ValueError for a value nested deeper than `MAX_DEPTH`.
    """
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    return _decode_kind(value, kind, depth)


def _decode_kind(value: AnyValue, kind: str | None, depth: int = 0) -> Any:
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        return _finite(value.double_value)
    if kind in ("array_value", "kvlist_value"):
        if depth >= MAX_DEPTH:
            raise ValueError(f"an attribute value nests deeper than {MAX_DEPTH} levels")
        if kind == "array_value":
            return [decode_value(item, depth + 1) for item in value.array_value.values]
        items = value.kvlist_value.values
        return {item.key: decode_value(item.value, depth + 1) for item in items}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return None


def _finite(number: float) -> float | str:
    # JSON has no NaN or infinity; write them as the proto3 JSON mapping does.
    if math.isfinite(number):
        return number
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"


def decode_attributes(key_values: Iterable[KeyValue]) -> dict[str, Any]:
    """Return a list of ``KeyValue`` as a dictionary; a repeated key keeps its last value."""
    values: dict[str, Any] = {}
    for item in key_values:
        # decode_value, inlined for strings: this loop runs for every attribute of every span.
        any_value = item.value
        kind = any_value.WhichOneof("value")
        if kind == "string_value":
            values[item.key] = any_value.string_value
        else:
            values[item.key] = _decode_kind(any_value, kind)
    return values


class IndexedKeys:
    """The full keys of a flattened list's items, built once and reused for every span.

    A key built afresh must be hashed on every lookup; these keep their hash. Only
    the first `CACHED_INDICES` items are cached, so a span with a huge list cannot
    grow the cache without bound.
    """

    __slots__ = ("_by_index", "fields", "prefix")

    def __init__(self, prefix: str, fields: tuple[str, ...]) -> None:
        self.prefix = prefix
        self.fields = fields
        self._by_index: dict[int, tuple[tuple[str, str], ...]] = {}

    def at(self, index: int) -> tuple[tuple[str, str], ...]:
        """Return ``(field, full key)`` for each field of item ``index``."""
        pairs = self._by_index.get(index)
        if pairs is None:
            base = f"{self.prefix}{index}."
            pairs = tuple((field, base + field) for field in self.fields)
            if index < CACHED_INDICES:
                pairs = self._by_index.setdefault(index, pairs)
        return pairs


CACHED_INDICES = 256
_NESTED: dict[tuple[str, tuple[str, ...]], IndexedKeys] = {}


def nested_keys(prefix: str, fields: tuple[str, ...]) -> IndexedKeys:
    """Return the shared `IndexedKeys` of a list inside a list item, such as a message's calls."""
    keys = _NESTED.get((prefix, fields))
    if keys is None:
        keys = IndexedKeys(prefix, fields)
        if len(_NESTED) < CACHED_INDICES * 16:
            keys = _NESTED.setdefault((prefix, fields), keys)
    return keys


def indexed(values: Mapping[str, Any], keys: IndexedKeys) -> list[dict[str, Any]]:
    """Return the items of a flattened list, each holding the fields it has.

    Item ``i`` reads ``values[f"{prefix}{i}.{field}"]`` for each field; the list
    ends at the first index that has none of them.
    """
    items: list[dict[str, Any]] = []
    while True:
        item = {}
        for field, key in keys.at(len(items)):
            value = values.get(key)
            if value is not None:
                item[field] = value
        if not item:
            return items
        items.append(item)


def group(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Return the attributes under ``prefix``, keyed by what follows it."""
    size = len(prefix)
    return {key[size:]: value for key, value in values.items() if key.startswith(prefix)}


def first(values: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """Return the value of the first key present and not None, or None."""
    for key in keys:
        value = values.get(key)
        if value is not None:
            return value
    return None


def as_text(value: Any) -> str | None:
    """Return a non-empty string, or an integer written as one, else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def first_text(values: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """Return the first of ``keys`` that holds a usable string."""
    for key in keys:
        value = values.get(key)
        if value is not None:
            text = as_text(value)
            if text is not None:
                return text
    return None


def as_count(value: Any) -> int | None:
    """Return a non-negative whole number given as an int, a whole float or digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer():
        return int(value) if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def first_count(values: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    """Return the first of ``keys`` that holds a usable count."""
    for key in keys:
        value = values.get(key)
        if value is not None:
            count = as_count(value)
            if count is not None:
                return count
    return None


def as_number(value: Any) -> float | None:
    """Return a finite number given as an int, a float or a numeric string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_json(value: Any) -> Any:
    """Return a JSON string parsed, or the value itself when it is not valid JSON."""
    if not isinstance(value, str):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def maybe_json(value: Any) -> Any:
    """Return a string holding a JSON object or array parsed; anything else as it is.

    Used where a convention does not say whether a payload is JSON: a plain
    string such as ``"42"`` or ``"true"`` stays a string.
    """
    if not isinstance(value, str):
        return value
    head = value[:1]
    if head.isspace():
        head = value.lstrip()[:1]
    if head not in ("{", "["):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def as_object(value: Any) -> dict[str, Any] | None:
    """Return a dictionary given as one or as a JSON object string, else None."""
    if isinstance(value, str):
        value = parse_json(value)
    return value if isinstance(value, dict) else None


def as_list(value: Any) -> list[Any] | None:
    """Return a list given as one or as a JSON array string, else None."""
    if isinstance(value, str):
        value = parse_json(value)
    return value if isinstance(value, list) else None
