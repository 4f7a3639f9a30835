"""The allowlist: which atomic fields and which JSON paths stay in clear text.

It lives in ``allowlist.toml`` next to this module (format: docs/pseudonymization.md) and is
validated when it is loaded, so a broken allowlist stops the Lambda at start-up.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence

from errors import ConfigurationError
from event_fields import FIELD_NAMES, JSON_FIELDS

# The typing module costs milliseconds of cold start; annotations only need it for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from os import PathLike
    from typing import Any

ALLOWLIST_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "allowlist.toml")

#: The Iglu URI grammar (Iglu's SchemaKey): vendor, name and format in the characters Iglu
#: allows, a SchemaVer without leading zeros, and a bounded length. Only a schema string that
#: matches it is kept in clear, and only at an entity position.
MAX_IGLU_URI_LENGTH = 255
_IGLU_URI = re.compile(
    r"iglu:([A-Za-z0-9_.-]+)/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)/"
    r"(0|[1-9][0-9]*)-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)"
)
_SCHEMA_PATTERN = re.compile(
    r"iglu:([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+|\*)/jsonschema/([0-9]+|\*)-([0-9]+|\*)-([0-9]+|\*)"
)
_MAX_RESOLVED_SCHEMAS = 4096

#: What an [[entities]] block may say about a path, and what the walker does there.
KEEP = "keep"  # the key and the scalar value stay in clear
KEEP_IGLU = "keep_iglu"  # the key stays; the value stays only if it is an Iglu URI
KEEP_KEYS = "keep_keys"  # the key stays, the value is hashed
ENRICHED_EVENT = "enriched_event"  # the key stays; the object there is an enriched event
PATH_RULES = (KEEP, KEEP_IGLU, KEEP_KEYS, ENRICHED_EVENT)


def is_iglu_uri(text: str) -> bool:
    """Whether ``text`` is an Iglu URI by the grammar, at most MAX_IGLU_URI_LENGTH characters."""
    return len(text) <= MAX_IGLU_URI_LENGTH and _IGLU_URI.fullmatch(text) is not None


class PathNode:
    """One step of the allowlisted paths of an entity.

    A key of an object stays in clear only when the node of that object has a child for it.
    ``keep``: the scalar value here stays (``iglu``: only if it is an Iglu URI). ``enriched``:
    the object here is an enriched event (bad-row payloads): its keys that are enriched-event
    field names stay, every value is hashed.
    """

    __slots__ = ("children", "enriched", "iglu", "keep")

    def __init__(self) -> None:
        self.keep = False
        self.iglu = False
        self.enriched = False
        self.children: dict[str, PathNode] = {}


class SchemaPattern:
    """``iglu:vendor/name/jsonschema/M-R-A`` where the name and each version part may be ``*``."""

    __slots__ = ("name", "text", "vendor", "version")

    def __init__(
        self, text: str, vendor: str, name: str | None, version: tuple[int | None, ...]
    ) -> None:
        self.text = text
        self.vendor = vendor
        self.name = name
        self.version = version

    @classmethod
    def parse(cls, text: str) -> SchemaPattern:
        match = _SCHEMA_PATTERN.fullmatch(text)
        if match is None:
            raise ValueError(
                "a schema pattern looks like iglu:<vendor>/<name>/jsonschema/<M>-<R>-<A>, "
                "where the name and each version part may be *"
            )
        vendor, name, *parts = match.groups()
        version = tuple(None if part == "*" else int(part) for part in parts)
        return cls(text, vendor, None if name == "*" else name, version)

    def matches(self, uri: str) -> bool:
        """Whether the Iglu URI of an entity (``iglu:v/n/jsonschema/1-0-2``) matches."""
        match = _IGLU_URI.fullmatch(uri) if len(uri) <= MAX_IGLU_URI_LENGTH else None
        if match is None:
            return False
        vendor, name, schema_format, *parts = match.groups()
        if vendor != self.vendor or schema_format != "jsonschema":
            return False
        if self.name is not None and name != self.name:
            return False
        wanted = zip(self.version, parts, strict=True)
        return all(want is None or want == int(got) for want, got in wanted)


class EntityRule:
    """One ``[[entities]]`` block: a schema pattern and, per path rule, the paths it names."""

    __slots__ = ("paths", "pattern")

    def __init__(
        self, pattern: SchemaPattern, paths: tuple[tuple[str, tuple[str, ...]], ...]
    ) -> None:
        self.pattern = pattern
        #: (rule, path) pairs, rule one of PATH_RULES.
        self.paths = paths


class Allowlist:
    """The validated allowlist. ``entity_paths(uri)`` is memoized per schema URI."""

    def __init__(
        self,
        keep_fields: Iterable[str],
        never_keep_fields: Iterable[str],
        entities: Sequence[EntityRule],
    ) -> None:
        self.keep_fields = frozenset(keep_fields)
        self.never_keep_fields = frozenset(never_keep_fields)
        self.entities = tuple(entities)
        self._resolved: dict[str, PathNode | None] = {}

    def entity_paths(self, schema_uri: str) -> PathNode | None:
        """The tree of named paths inside the ``data`` of an entity with this schema, or None.

        None for a schema the allowlist does not know, or a string that is not an Iglu URI.

        Memoized: an event stream uses a handful of schemas over and over.
        """
        try:
            return self._resolved[schema_uri]
        except KeyError:
            pass
        tree = self.resolve(schema_uri)
        if len(self._resolved) >= _MAX_RESOLVED_SCHEMAS:
            self._resolved.clear()
        self._resolved[schema_uri] = tree
        return tree

    def resolve(self, schema_uri: str) -> PathNode | None:
        """The kept paths for a schema, from every matching rule (not memoized)."""
        rules = [rule for rule in self.entities if rule.pattern.matches(schema_uri)]
        return _build_tree(path for rule in rules for path in rule.paths)


# When blocks name the same path with different rules, the one that keeps less wins.
_STRICTNESS = (KEEP_KEYS, ENRICHED_EVENT, KEEP_IGLU, KEEP)


def _build_tree(paths: Iterable[tuple[str, tuple[str, ...]]]) -> PathNode | None:
    """Merge (rule, path) pairs into one tree of PathNodes."""
    rules: dict[tuple[str, ...], str] = {}
    for rule, path in paths:
        known = rules.get(path)
        if known is None or _STRICTNESS.index(rule) < _STRICTNESS.index(known):
            rules[path] = rule
    if not rules:
        return None
    root = PathNode()
    for path, rule in rules.items():
        node = root
        for key in path:
            node = node.children.setdefault(key, PathNode())
        node.keep = rule in (KEEP, KEEP_IGLU)
        node.iglu = rule == KEEP_IGLU
        node.enriched = rule == ENRICHED_EVENT
    return root


def load_allowlist(
    path: str | PathLike[str] = ALLOWLIST_FILE, field_names: Sequence[str] = FIELD_NAMES
) -> Allowlist:
    """Read and validate an allowlist file; every problem names the file and the entry."""
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"Cannot read the allowlist {path}: {error}") from error
    try:
        return parse_allowlist(document, field_names)
    except ValueError as error:
        raise ConfigurationError(f"The allowlist {path} is invalid: {error}.") from None


def parse_allowlist(document: Mapping[str, Any], field_names: Sequence[str]) -> Allowlist:
    """Validate the decoded allowlist document; raises ValueError naming the bad entry."""
    _expect_keys(document, "the top level", required={"enriched"}, optional={"entities"})
    enriched = document["enriched"]
    if not isinstance(enriched, dict):
        raise ValueError("[enriched] must be a table")
    _expect_keys(enriched, "[enriched]", required={"keep", "never_keep"}, optional=set())
    known = set(field_names)
    keep = _names(enriched["keep"], "[enriched] keep")
    never_keep = _names(enriched["never_keep"], "[enriched] never_keep")
    for where, names in (("keep", keep), ("never_keep", never_keep)):
        for name in names:
            if name not in known:
                raise ValueError(f"[enriched] {where} lists {name!r}, not an enriched-event field")
            if name in JSON_FIELDS:
                raise ValueError(
                    f"[enriched] {where} lists the JSON field {name!r}; JSON fields follow the "
                    "[[entities]] rules"
                )
    clash = sorted(set(keep) & set(never_keep))
    if clash:
        raise ValueError(f"[enriched] keep lists {', '.join(clash)}, which never_keep forbids")

    entities = document.get("entities", [])
    if not isinstance(entities, list):
        raise ValueError("entities must be an array of tables ([[entities]])")
    rules = []
    seen: set[str] = set()
    for number, entity in enumerate(entities, start=1):
        rules.append(_entity_rule(entity, f"[[entities]] number {number}", seen))
    return Allowlist(keep, never_keep, rules)


def _entity_rule(entity: Any, where: str, seen: set[str]) -> EntityRule:
    """One validated ``[[entities]]`` block; ``seen`` holds the schema patterns before it."""
    if not isinstance(entity, dict):
        raise ValueError(f"{where} must be a table")
    _expect_keys(entity, where, required={"schema"}, optional=set(PATH_RULES))
    schema = entity["schema"]
    if not isinstance(schema, str):
        raise ValueError(f"{where}: schema must be a string")
    try:
        pattern = SchemaPattern.parse(schema)
    except ValueError as error:
        raise ValueError(f"{where}: schema {schema!r} is malformed: {error}") from None
    if schema in seen:
        raise ValueError(f"{where}: schema {schema!r} appears twice; merge the two blocks")
    seen.add(schema)
    paths: dict[tuple[str, ...], str] = {}
    for rule in PATH_RULES:
        for text in _names(entity.get(rule, []), f"{where} {rule}"):
            path = _path(text, where)
            if path in paths:
                raise ValueError(
                    f"{where}: path {text!r} is in both {paths[path]} and {rule}; "
                    "give each path one rule"
                )
            paths[path] = rule
    if not paths:
        raise ValueError(f"{where} names no path; give at least one of {', '.join(PATH_RULES)}")
    return EntityRule(pattern, tuple((rule, path) for path, rule in paths.items()))


def _expect_keys(
    table: Mapping[str, Any], where: str, required: set[str], optional: set[str]
) -> None:
    missing = sorted(required - table.keys())
    unknown = sorted(table.keys() - required - optional)
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)}")
    if unknown:
        raise ValueError(f"{where} has unknown keys {', '.join(unknown)}")


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"{where} must be an array of non-empty strings")

    duplicates = sorted({item for item in value if value.count(item) > 1})
    if duplicates:
        raise ValueError(f"{where} lists {', '.join(duplicates)} more than once")
    return value


def _path(text: str, where: str) -> tuple[str, ...]:
    keys = tuple(text.split("."))
    if any(not key or key != key.strip() for key in keys):
        raise ValueError(
            f"{where}: path {text!r} is malformed; write dot-separated keys such as a.b.c"
        )
    return keys
