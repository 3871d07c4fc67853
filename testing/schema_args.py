"""Arguments that satisfy a tool's JSON schema, made up from the schema alone.

``example_arguments(schema)`` is what :class:`testing.fakes.EveryToolChatModel` sends
each tool, the way pydantic-ai's ``TestModel`` does: every required and optional
property gets a value of its type within its bounds (enum members, ``const``, lengths,
minimum and maximum, array sizes, ``$ref`` and ``anyOf`` followed). A schema keyword it
does not understand (``pattern`` beyond a plain literal, ``not``) raises ``ValueError``
rather than send arguments it cannot vouch for.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["example_arguments", "example_value"]

_FORMATS = {
    "date": "2024-01-31",
    "date-time": "2024-01-31T08:00:00Z",
    "time": "08:00:00",
    "email": "clinician@example.org",
    "uri": "https://example.org/a",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_PATTERN_TRIES = ("a", "A1", "1", "ab", "a1", "I1", "G1", "E1", "abc", "x-1", "2024-01-31")


def example_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """A dict of arguments valid under the object schema ``schema``."""
    value = example_value(schema, schema)
    if not isinstance(value, dict):
        raise ValueError(f"a tool's arguments schema must be an object, got {schema!r}")
    return value


def example_value(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """One value valid under ``schema``; ``root`` holds the ``$defs`` that ``$ref`` names."""
    if "$ref" in schema:
        return example_value(_resolve(schema["$ref"], root), root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_value(options[0], root)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged |= part
        return example_value(merged, root)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    maker = _MAKERS.get(kind)
    if maker is None:
        raise ValueError(f"no example for schema type {kind!r}")
    return maker(schema, root)


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref is supported, got {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return dict(node)


def _object(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties", {})
    return {name: example_value(sub, root) for name, sub in props.items()}


def _string(schema: dict[str, Any], root: dict[str, Any]) -> str:
    low = int(schema.get("minLength", 1))
    high = int(schema.get("maxLength", max(low, 1)))
    if "format" in schema and schema["format"] in _FORMATS:
        return _FORMATS[schema["format"]]
    pattern = schema.get("pattern")
    if pattern is not None:
        for candidate in _PATTERN_TRIES:
            if re.search(pattern, candidate) and low <= len(candidate) <= high:
                return candidate
        raise ValueError(f"no example string for pattern {pattern!r}")
    return "a" * max(low, min(high, 1))


def _number(schema: dict[str, Any], root: dict[str, Any]) -> float:
    value = float(schema.get("minimum", schema.get("exclusiveMinimum", 0)))
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        value = schema["exclusiveMinimum"] + 0.5
    top = schema.get("maximum", schema.get("exclusiveMaximum"))
    if top is not None and value >= top:
        value = float(top) - (0.5 if "exclusiveMaximum" in schema else 0)
    return value


def _integer(schema: dict[str, Any], root: dict[str, Any]) -> int:
    value = int(schema.get("minimum", 1))
    if "exclusiveMinimum" in schema:
        value = max(value, int(schema["exclusiveMinimum"]) + 1)
    if "maximum" in schema:
        value = min(value, int(schema["maximum"]))
    if "exclusiveMaximum" in schema:
        value = min(value, int(schema["exclusiveMaximum"]) - 1)
    return value


def _array(schema: dict[str, Any], root: dict[str, Any]) -> list[Any]:
    size = max(int(schema.get("minItems", 1)), 1)
    size = min(size, int(schema.get("maxItems", size)))
    items = schema.get("items", {"type": "string"})
    if schema.get("uniqueItems") and size > 1:
        raise ValueError("no example for an array of unique items longer than one")
    return [example_value(items, root) for _ in range(size)]


_MAKERS: dict[str, Any] = {
    "object": _object,
    "string": _string,
    "number": _number,
    "integer": _integer,
    "boolean": lambda schema, root: True,
    "array": _array,
    "null": lambda schema, root: None,
}
