"""Metadata filters: what a search may return, parsed from the CLI or the HTTP API and turned
into one SQL condition. Keys are validated here and every value is a bound parameter, so a
filter can never change the SQL text.

A filter is any-of over its values; a list of filters means all of them must hold. Fields:

- ``collection``: the chunk's collection name is one of the values;
- ``uri_prefix``: the source uri starts with one of the values (``LIKE`` wildcards escaped);
- ``synthetic``: ``sources.synthetic`` is the value (true or false);
- ``metadata``: the source metadata's ``key``, as text (``metadata ->> key``), is one of the values
  (a JSON ``true`` compares as ``"true"``, ``1`` as ``"1"``).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.errors import InputError

FIELDS = ("collection", "uri_prefix", "synthetic", "metadata")

# The join every filtered query runs over; the conditions below name these aliases.
CHUNK_JOIN = "chunks c JOIN sources s ON s.id = c.source_id JOIN collections col ON col.id = s.collection_id"

_CONDITIONS = {
    "collection": "col.name = ANY(%s::text[])",
    "uri_prefix": "s.uri LIKE ANY(%s::text[])",
    "synthetic": "s.synthetic = ANY(%s::boolean[])",
    "metadata": "s.metadata ->> %s::text = ANY(%s::text[])",
}
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$")
_KEY_RULE = "a metadata key of 1-64 letters, digits, '_', '.', ':' or '-'"
_IN = re.compile(r"^\s*(?P<key>\S+?)\s+in\s*\((?P<values>.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_OTHER_OPERATOR = re.compile(r"^\s*(?P<key>[^\s=!<>~]+)\s*(?P<op>!=|<>|>=|<=|==|>|<|~|\s(?:like|not in|is)\s)")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class Filter:
    """One condition on a chunk's source. Build it with the functions below."""

    field: str
    values: tuple[str | bool, ...]
    key: str = ""


def collection_filter(names: Iterable[str]) -> Filter:
    """Chunks whose collection is one of ``names`` (an empty list allows nothing)."""
    return Filter("collection", tuple(names))


def uri_prefix_filter(prefixes: Iterable[str]) -> Filter:
    return Filter("uri_prefix", tuple(prefixes))


def synthetic_filter(flag: bool) -> Filter:
    return Filter("synthetic", (flag,))


def metadata_filter(key: str, values: Iterable[str]) -> Filter:
    if not _KEY.match(key):
        raise InputError(f"invalid filter key {key!r}; expected one of {', '.join(FIELDS[:3])} or {_KEY_RULE}")
    return Filter("metadata", tuple(values), key)


def filter_sql(filters: Iterable[Filter]) -> tuple[str, list[Any]]:
    """An SQL condition over ``CHUNK_JOIN``'s aliases, and its parameters in order."""
    conditions, params = [], []
    for f in filters:
        conditions.append(_CONDITIONS[f.field])
        if f.field == "metadata":
            params.append(f.key)
        if f.field == "uri_prefix":
            params.append([_escape_like(str(v)) + "%" for v in f.values])
        else:
            params.append(list(f.values))
    return (" AND ".join(conditions) or "TRUE"), params


def parse_filter_args(items: list[str], *, collection: str | None = None) -> list[Filter]:
    """Filters from CLI strings: ``key=value`` or ``key in (a, b)``. ``collection``,
    ``uri_prefix`` and ``synthetic`` are fields; any other key (optionally written
    ``metadata.KEY``) is a source metadata key. ``collection`` adds a collection filter."""
    filters = [collection_filter([collection])] if collection else []
    for item in items:
        key, values = _split_filter_arg(item)
        filters.append(_filter_for(key, values, item))
    return filters


def parse_filter_json(obj: Any) -> list[Filter]:
    """Filters from the HTTP API's object, for example
    ``{"collection": "demo" | ["a", "b"], "uri_prefix": "file:///docs/" | [...],
    "synthetic": false, "metadata": {"lang": "en", "team": ["a", "b"]}}``."""
    if obj is None:
        return []
    if not isinstance(obj, dict):
        raise InputError(f"filters must be a JSON object with keys {', '.join(FIELDS)}; got {obj!r}")
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown filter key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(FIELDS)}")
    filters = []
    for field in ("collection", "uri_prefix"):
        if field in obj:
            filters.append(Filter(field, _json_strings(field, obj[field], scalars=(str,))))
    if "synthetic" in obj:
        if not isinstance(obj["synthetic"], bool):
            raise InputError(f"filter 'synthetic' must be true or false; got {obj['synthetic']!r}")
        filters.append(synthetic_filter(obj["synthetic"]))
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InputError(f"filter 'metadata' must be an object of key: value or key: [values]; got {metadata!r}")
    for key, value in metadata.items():
        filters.append(metadata_filter(key, _json_strings(f"metadata.{key}", value, scalars=(str, int, float, bool))))
    return filters


def _split_filter_arg(item: str) -> tuple[str, list[str]]:
    match = _IN.match(item)
    if match:
        values = [_unquote(v) for v in match.group("values").split(",") if v.strip()]
        if not values:
            raise InputError(f"filter {item!r} has an empty list; expected 'key in (a, b)'")
        return match.group("key"), values
    other = _OTHER_OPERATOR.match(item)
    if other:
        raise InputError(
            f"unknown operator {other.group('op').strip()!r} in filter {item!r}; expected '=' or 'in (...)'"
        )
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise InputError(f"malformed filter {item!r}; expected key=value or 'key in (a, b)'")
    return key.strip(), [_unquote(value)]


def _filter_for(key: str, values: list[str], item: str) -> Filter:
    if key == "collection":
        return collection_filter(values)
    if key == "uri_prefix":
        return uri_prefix_filter(values)
    if key == "synthetic":
        flags = {_BOOLEANS.get(v.lower()) for v in values}
        if None in flags or len(flags) != 1:
            raise InputError(f"filter {item!r}: synthetic must be true or false")
        return synthetic_filter(flags.pop())
    return metadata_filter(key.removeprefix("metadata."), values)


def _json_strings(name: str, value: Any, *, scalars: tuple[type, ...]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, scalars) for v in items):
        kinds = " or ".join(t.__name__ for t in scalars)
        raise InputError(f"filter {name!r} must be a {kinds} or a non-empty list of them; got {value!r}")
    return tuple(_as_text(v) for v in items)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _escape_like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
