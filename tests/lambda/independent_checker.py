"""An independent reading of the pseudonymization rules, to check the Lambda's output with.

It shares no code with the Lambda: its own HMAC (the cryptography package, through
``reference_pseudonym``), its own reading of ``allowlist.toml`` (tomllib, its own schema-pattern
and Iglu-URI expressions), its own walk. ``expected_enriched_line`` and ``expected_bad_row``
return what the rules in docs/pseudonymization.md say the output must be.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from snowplow_infra.paths import LAMBDA_SOURCE_DIR

from .conftest import reference_pseudonym

IGLU = re.compile(
    r"iglu:[A-Za-z0-9_.-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/"
    r"(?:0|[1-9][0-9]*)-(?:0|[1-9][0-9]*)-(?:0|[1-9][0-9]*)"
)
IGLU_MAX = 255
RULES = ("keep_keys", "enriched_event", "keep_iglu", "keep")  # the first keeps least
JSON_FIELDS = ("contexts", "derived_contexts", "unstruct_event")
Path_ = tuple[str, ...]


class Literal(str):
    """A JSON number as written."""

    __slots__ = ()


def parse(text: str) -> Any:
    return json.loads(text, parse_int=Literal, parse_float=Literal, parse_constant=Literal)


def is_iglu(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= IGLU_MAX and IGLU.fullmatch(value) is not None


def _pattern(text: str) -> re.Pattern[str]:
    vendor, name, schema_format, version = text.removeprefix("iglu:").split("/")
    number = "(?:0|[1-9][0-9]*)"
    parts = [number if part == "*" else re.escape(part) for part in version.split("-")]
    name_re = "[A-Za-z0-9_-]+" if name == "*" else re.escape(name)
    return re.compile(
        f"iglu:{re.escape(vendor)}/{name_re}/{re.escape(schema_format)}/" + "-".join(parts)
    )


class Rules:
    """allowlist.toml, read afresh."""

    def __init__(self, path: Path = LAMBDA_SOURCE_DIR / "allowlist.toml") -> None:
        with path.open("rb") as file:
            document = tomllib.load(file)
        self.keep_fields = frozenset(document["enriched"]["keep"])
        self.field_names = tuple(
            line.strip()
            for line in (LAMBDA_SOURCE_DIR / "enriched_fields.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        )
        self.blocks = [
            (
                _pattern(block["schema"]),
                {rule: [tuple(p.split(".")) for p in block.get(rule, [])] for rule in RULES},
            )
            for block in document.get("entities", [])
        ]

    def _paths(self, schema: str) -> dict[Path_, str]:
        named: dict[Path_, str] = {}
        for pattern, rules in self.blocks:
            if not pattern.fullmatch(schema):
                continue
            for rule, paths in rules.items():
                for path in paths:
                    if path not in named or RULES.index(rule) < RULES.index(named[path]):
                        named[path] = rule
        return named

    def rule(self, schema: str, path: Path_) -> str | None:
        return self._paths(schema).get(path)

    def names_key(self, schema: str, path: Path_) -> bool:
        """Whether some named path is ``path`` or goes through it."""
        return any(named[: len(path)] == path for named in self._paths(schema))


class Checker:
    def __init__(self, rules: Rules, pseudonym: Callable[[str], str] = reference_pseudonym) -> None:
        self.rules = rules
        self.h = pseudonym

    def hashed(self, value: Any) -> Any:
        """Plain data with nothing named: every key, string and number hashed."""
        if isinstance(value, dict):
            return {self.h(key): self.hashed(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.hashed(item) for item in value]
        if isinstance(value, str):
            return self.h(value)
        return value

    def _kept_number(self, literal: str) -> Any:
        try:
            number = json.loads(literal)
        except ValueError:
            return self.h(literal)
        if isinstance(number, float) and not math.isfinite(number):
            return self.h(literal)
        return number

    def data(self, value: Any, schema: str | None, path: Path_) -> Any:
        rule = self.rules.rule(schema, path) if schema is not None and path else None
        if isinstance(value, dict):
            return self._object(value, schema, path, rule)
        if isinstance(value, list):
            return [self.data(item, schema, path) for item in value]
        if isinstance(value, str):
            if rule == "keep":
                return self._kept_number(value) if isinstance(value, Literal) else value
            if rule == "keep_iglu" and not isinstance(value, Literal) and is_iglu(value):
                return value
            return self.h(value)
        return value

    def _object(
        self, value: dict[str, Any], schema: str | None, path: Path_, rule: str | None
    ) -> Any:
        if rule == "enriched_event":
            names = self.rules.field_names
            return {
                (key if key in names else self.h(key)): self.hashed(item)
                for key, item in value.items()
            }
        result = {}
        for key, item in value.items():
            inner = (*path, key)
            if schema is not None and self.rules.names_key(schema, inner):
                result[key] = self.data(item, schema, inner)
            else:
                result[self.h(key)] = self.hashed(item)
        return result

    def entity(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return self.hashed(value)
        schema = value.get("schema")
        known = schema if is_iglu(schema) else None
        result = {}
        for key, item in value.items():
            if key == "schema":
                result[key] = item if known is not None else self.hashed(item)
            elif key == "data":
                result[key] = self.data(item, known, ())
            else:
                result[self.h(key)] = self.hashed(item)
        return result

    def wrapper(self, value: Any, field: str) -> Any:
        if not isinstance(value, dict):
            return self.hashed(value)
        result = {}
        for key, item in value.items():
            if key == "schema":
                result[key] = item if is_iglu(item) else self.hashed(item)
            elif key == "data" and field == "unstruct_event":
                result[key] = self.entity(item)
            elif key == "data":
                is_list = isinstance(item, list)
                result[key] = [self.entity(e) for e in item] if is_list else self.hashed(item)
            else:
                result[self.h(key)] = self.hashed(item)
        return result

    def check_enriched_line(self, before: str, after: str) -> int:
        """Assert every field of one enriched event; returns the number of fields checked."""
        old = before.removesuffix("\r").split("\t")
        new = after.split("\t")
        assert len(old) == len(new) == len(self.rules.field_names)
        for name, value, output in zip(self.rules.field_names, old, new, strict=True):
            if not value or name in self.rules.keep_fields:
                assert output == value, f"field {name} must be kept"
            elif name in JSON_FIELDS:
                try:
                    document = parse(value)
                except ValueError:
                    assert output == self.h(value), f"unparsable {name} is hashed whole"
                    continue
                assert strict(output) == self.wrapper(document, name), f"field {name}"
            else:
                assert output == self.h(value), f"field {name} must be hashed"
        return len(old)

    def check_bad_row(self, before: str, after: str) -> None:
        assert strict(after) == self.entity(parse(before))


def _refuse(name: str) -> Any:
    raise AssertionError(f"{name} is not JSON")


def strict(text: str) -> Any:
    """Parse as a strict JSON parser does: no NaN, no Infinity."""
    return json.loads(text, parse_constant=_refuse)
