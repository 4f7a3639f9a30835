"""Pseudonymize the leaves of a JSON document, keeping what the allowlist names.

Kept as they are: the structure, object keys, booleans, nulls, every ``schema`` value that is an
Iglu URI, and, inside each self-describing entity (``{"schema": "iglu:...", "data": ...}``), the
scalars at the paths the allowlist lists for its schema. Every other string becomes its
pseudonym; every number becomes the pseudonym of its literal text as written in the input
(``1.50`` hashes ``"1.50"``), because numbers are parsed as :class:`JsonNumber` strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from allowlist import Allowlist, PathNode

# The typing module costs milliseconds of cold start; annotations only need it for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class JsonNumber(str):
    """The literal text of a JSON number (or NaN/Infinity) exactly as the input wrote it."""

    __slots__ = ()


# Built once: json.loads and json.dumps with options build a new decoder or encoder every call.
_DECODER = json.JSONDecoder(parse_int=JsonNumber, parse_float=JsonNumber, parse_constant=JsonNumber)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Any:
    """Parse JSON, keeping every number as its literal text (a :class:`JsonNumber`)."""
    return _DECODER.decode(text)


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII characters written as they are."""
    return _ENCODER.encode(value)


def _kept(value: str) -> Any:
    """A kept scalar: numbers go back to being numbers."""
    return json.loads(value) if type(value) is JsonNumber else value


def leaf_pseudonymizer(
    allowlist: Allowlist, pseudonym: Callable[[str], str]
) -> Callable[[Any], Any]:
    """Return ``walk(document)``, which returns a pseudonymized copy of a parsed document."""

    def walk(value: Any, node: PathNode | None) -> Any:
        if isinstance(value, dict):
            return walk_object(value, node)
        if isinstance(value, list):
            return walk_array(value, node)
        if isinstance(value, str):
            return _kept(value) if node is not None and node.keep else pseudonym(value)
        return value  # True, False, None

    def walk_array(items: list[Any], node: PathNode | None) -> list[Any]:
        # Strings, the most common elements, are handled here rather than through walk().
        keep = node is not None and node.keep
        return [
            (_kept(item) if keep else pseudonym(item))
            if isinstance(item, str)
            else walk(item, node)
            for item in items
        ]

    def walk_object(obj: dict[str, Any], node: PathNode | None) -> dict[str, Any]:
        schema = obj.get("schema")
        # the entity's schema URI, or None when the object is not a self-describing entity
        entity = schema if isinstance(schema, str) and schema.startswith("iglu:") else None
        children = node.children if node is not None else None
        result = {}
        for key, value in obj.items():
            if entity is not None and key == "schema":
                result[key] = value
            elif entity is not None and key == "data":
                result[key] = walk(value, allowlist.entity_paths(entity))
            else:
                child = children.get(key) if children else None
                if isinstance(value, str):  # the common case, without a call to walk()
                    keep = child is not None and child.keep
                    result[key] = _kept(value) if keep else pseudonym(value)
                else:
                    result[key] = walk(value, child)
        return result

    def walk_document(document: Any) -> Any:
        return walk(document, None)

    return walk_document
