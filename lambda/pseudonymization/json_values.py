"""Pseudonymize a JSON document by position: which objects are entities is decided by where they
are, never by what they look like.

Entity positions (the rules and the attack each stops: docs/pseudonymization.md):

* a JSON field of an enriched event: the ``contexts``/``derived_contexts`` wrapper, each element
  of its ``data`` array, the ``unstruct_event`` wrapper and its ``data``;
* a bad row itself (the whole record).

At an entity position, ``schema`` is kept when it is an Iglu URI by the grammar (bounded
length); its ``data`` then follows the allowlist's paths for that schema. Any other ``schema`` is
hashed and the ``data`` is treated as an unknown entity's. Everywhere else an object is plain
data, whatever keys it has. In plain data, a key stays in clear only where the allowlist names
it; every other key is hashed, keeping the structure. Strings and numbers become the pseudonym
of their text as written (``1.50`` hashes ``"1.50"``, numbers are parsed as :class:`JsonNumber`
strings) unless the allowlist keeps them. A kept number that is not finite (``NaN``,
``Infinity``, ``1e999``) or does not convert is hashed: the output is always strict JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from allowlist import Allowlist, PathNode, is_iglu_uri
from event_fields import FIELD_NAMES

# The typing module costs milliseconds of cold start; annotations only need it for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class JsonNumber(str):
    """The literal text of a JSON number (or NaN/Infinity) exactly as the input wrote it."""

    __slots__ = ()


# Built once: json.loads and json.dumps with options build a new decoder or encoder every call.
_DECODER = json.JSONDecoder(parse_int=JsonNumber, parse_float=JsonNumber, parse_constant=JsonNumber)
# allow_nan=False: a non-finite float can never be written (a kept one is hashed before).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ENRICHED_FIELDS = frozenset(FIELD_NAMES)
MAX_SCHEMA_MEMO_ENTRIES = 4096
MAX_SCHEMA_MEMO_LENGTH = 256
_NOT_INTEGER = frozenset(".eE")


def loads(text: str) -> Any:
    """Parse JSON, keeping every number as its literal text (a :class:`JsonNumber`)."""
    return _DECODER.decode(text)


def dumps(value: Any) -> str:
    """Compact strict JSON, non-ASCII characters written as they are."""
    return _ENCODER.encode(value)


def _number(text: str) -> int | float | None:
    """The value of a JSON number literal, or None when it is not finite or does not convert."""
    try:
        if _NOT_INTEGER.isdisjoint(text) and text not in ("NaN", "Infinity", "-Infinity"):
            return int(text)  # ValueError past sys.get_int_max_str_digits()
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class Walker:
    """Pseudonymized copies of parsed documents, from one allowlist and one pseudonym function."""

    __slots__ = ("_allowlist", "_pseudonym", "_schemas")

    def __init__(self, allowlist: Allowlist, pseudonym: Callable[[str], str]) -> None:
        self._allowlist = allowlist
        self._pseudonym = pseudonym
        # schema string -> (whether it is an Iglu URI, the allowlist's paths for it): a stream
        # uses a handful of schemas over and over.
        self._schemas: dict[str, tuple[bool, PathNode | None]] = {}

    def _schema(self, schema: Any) -> tuple[bool, PathNode | None]:
        """Whether ``schema`` (any value) is an Iglu URI, and the allowlist's paths for it."""
        if not isinstance(schema, str):
            return False, None
        known = self._schemas.get(schema)
        if known is None:
            valid = is_iglu_uri(schema)
            known = valid, self._allowlist.entity_paths(schema) if valid else None
            if len(schema) <= MAX_SCHEMA_MEMO_LENGTH:
                if len(self._schemas) >= MAX_SCHEMA_MEMO_ENTRIES:
                    self._schemas.clear()
                self._schemas[schema] = known
        return known

    def contexts(self, document: Any) -> Any:
        """A ``contexts``/``derived_contexts`` field: a wrapper entity holding an array of them."""
        return self._wrapper(document, self._entities)

    def unstruct_event(self, document: Any) -> Any:
        """An ``unstruct_event`` field: a wrapper entity holding one entity."""
        return self._wrapper(document, self.entity)

    def _entities(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.entity(item) for item in value]
        return self.data(value, None)

    def _wrapper(self, document: Any, inner: Callable[[Any], Any]) -> Any:
        if not isinstance(document, dict):
            return self.data(document, None)
        result = {}
        for key, value in document.items():
            if key == "schema":
                result[key] = value if self._schema(value)[0] else self.data(value, None)
            elif key == "data":
                result[key] = inner(value)
            else:
                result[self._pseudonym(key)] = self.data(value, None)
        return result

    def entity(self, value: Any) -> Any:
        """A value at an entity position: a bad row, or an entity inside a wrapper."""
        if not isinstance(value, dict):
            return self.data(value, None)
        valid, node = self._schema(value.get("schema"))
        result = {}
        for key, item in value.items():
            if key == "schema":
                result[key] = item if valid else self.data(item, None)
            elif key == "data":
                result[key] = self.data(item, node)
            else:
                result[self._pseudonym(key)] = self.data(item, None)
        return result

    def data(self, value: Any, node: PathNode | None) -> Any:
        """Plain data: keys and values stay only where ``node`` (the allowlist) names them."""
        if isinstance(value, str):
            return self._scalar(value, node)
        if isinstance(value, dict):
            if node is not None and node.enriched:
                return self._enriched_event(value)
            return self._object(value, node)
        if isinstance(value, list):
            return self._array(value, node)
        return value  # True, False, None

    def _scalar(self, value: str, node: PathNode | None) -> Any:
        if node is None or not node.keep:
            return self._pseudonym(value)
        if type(value) is JsonNumber:
            number = _number(value)
            return self._pseudonym(value) if number is None else number
        if node.iglu and not is_iglu_uri(value):
            return self._pseudonym(value)
        return value

    def _array(self, items: list[Any], node: PathNode | None) -> list[Any]:
        if node is None or not node.keep:
            # Strings, the most common elements, are handled here rather than through data().
            pseudonym = self._pseudonym
            return [
                pseudonym(item) if isinstance(item, str) else self.data(item, node)
                for item in items
            ]
        return [self.data(item, node) for item in items]

    def _object(self, obj: dict[str, Any], node: PathNode | None) -> dict[str, Any]:
        pseudonym = self._pseudonym
        children = node.children if node is not None else None
        result = {}
        for key, value in obj.items():
            child = children.get(key) if children else None
            if child is None:
                name = pseudonym(key)
                result[name] = (
                    pseudonym(value) if isinstance(value, str) else self.data(value, None)
                )
            elif isinstance(value, str):  # the common cases without a call
                if not child.keep:
                    result[key] = pseudonym(value)
                elif type(value) is str and not child.iglu:
                    result[key] = value
                else:
                    result[key] = self._scalar(value, child)
            else:
                result[key] = self.data(value, child)
        return result

    def _enriched_event(self, obj: dict[str, Any]) -> dict[str, Any]:
        """An enriched event inside a bad row: field names stay, every value is hashed."""
        pseudonym = self._pseudonym
        result = {}
        for key, value in obj.items():
            name = key if key in _ENRICHED_FIELDS else pseudonym(key)
            result[name] = pseudonym(value) if isinstance(value, str) else self.data(value, None)
        return result
