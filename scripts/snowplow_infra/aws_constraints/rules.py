"""The constraints themselves: read from the AWS SDK's service models (botocore ships each API
member's pattern, length or value bounds and enum) or from the documented table of
constraints.json, for what the models do not carry."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import botocore
import botocore.session
from botocore.model import Shape

DATA_FILE = "constraints.json"


class ConstraintsError(RuntimeError):
    """constraints.json names a service, operation, member or rule that does not exist."""


@dataclass(frozen=True)
class Rule:
    """What AWS accepts for one value, and where that is written down."""

    source: str
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str | int, ...] = ()

    def problems(self, value: Any) -> list[str]:
        """Each way ``value`` breaks this rule, as a phrase; a list is checked element-wise."""
        if isinstance(value, list):
            return [problem for element in value for problem in self.problems(element)]
        if isinstance(value, bool) or value is None or isinstance(value, dict):
            return []
        found: list[str] = []
        if self.enum and value not in self.enum and str(value) not in self.enum:
            shown = ", ".join(str(e) for e in self.enum[:12])
            more = ", ..." if len(self.enum) > 12 else ""
            found.append(f"is not one of {shown}{more}")
        if isinstance(value, str):
            size = len(value)
            if self.minimum is not None and size < self.minimum:
                found.append(f"is {size} characters, under the minimum of {self.minimum}")
            if self.maximum is not None and size > self.maximum:
                found.append(f"is {size} characters, over the maximum of {self.maximum}")
            if self.pattern is not None and _compiled(self.pattern).fullmatch(value) is None:
                found.append(
                    f"does not match the pattern {self.pattern}{_refused(self.pattern, value)}"
                )
        elif isinstance(value, int | float):
            if self.minimum is not None and value < self.minimum:
                found.append(f"is under the minimum of {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                found.append(f"is over the maximum of {self.maximum}")
        return found


# A UTF-16 surrogate pair written as two Java escapes, e.g. \uD800\uDC00 for U+10000.
_SURROGATE_PAIR = re.compile(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", re.IGNORECASE)


def _code_point(match: re.Match[str]) -> str:
    high, low = int(match[1], 16), int(match[2], 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """A model's pattern (a Java regular expression) as Python's re reads it: surrogate pairs as
    code points, and \\w ASCII-only as in Java."""
    python = _SURROGATE_PAIR.sub(_code_point, pattern)
    return re.compile(python, re.ASCII if "\\w" in pattern and "\\p" not in pattern else 0)


def _refused(pattern: str, value: str) -> str:
    """The characters of ``value`` refused by a pattern that is one repeated character class."""
    if re.fullmatch(r"\[.*\][*+]", pattern) is None:
        return ""
    single = _compiled(pattern[:-1])
    refused = sorted({c for c in value if single.fullmatch(c) is None})
    return f": it refuses {' '.join(repr(c) for c in refused)}" if refused else ""


@cache
def data() -> dict[str, Any]:
    """constraints.json: the table, the resource types' attribute mappings, the notes."""
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def table_rule(name: str) -> Rule:
    entry = data()["table"].get(name)
    if entry is None or "source" not in entry:
        raise ConstraintsError(f"{DATA_FILE}: table has no rule {name!r} with a source.")
    return Rule(
        source=entry["source"],
        pattern=entry.get("pattern"),
        minimum=entry.get("min"),
        maximum=entry.get("max"),
        enum=tuple(entry.get("enum", ())),
    )


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def model_rule(reference: str) -> Rule:
    """The rule of ``service:Operation:Member.Member`` in botocore's model of that service."""
    try:
        service, operation, path = reference.split(":")
    except ValueError:
        raise ConstraintsError(
            f"{DATA_FILE}: {reference!r} is not service:Operation:Member.Member."
        ) from None
    try:
        model = _session().get_service_model(service)
        shape: Shape = model.operation_model(operation).input_shape
    except Exception as error:
        raise ConstraintsError(f"{DATA_FILE}: {reference!r}: {error}") from error
    for member in path.split("."):
        shape = _unwrap(shape)
        members = getattr(shape, "members", {})
        if member not in members:
            raise ConstraintsError(
                f"{DATA_FILE}: {reference!r}: {shape.name} has no member {member!r}."
            )
        shape = members[member]
    shape = _unwrap(shape)
    metadata = shape.metadata
    version = model.api_version
    return Rule(
        source=(
            f"botocore {botocore.__version__} service model {service} {version}, "
            f"{operation} {path} (shape {shape.name})"
        ),
        pattern=metadata.get("pattern"),
        minimum=metadata.get("min"),
        maximum=metadata.get("max"),
        enum=tuple(metadata.get("enum", ())),
    )


def _unwrap(shape: Shape) -> Shape:
    """A list's or map's elements carry the constraint that matters for each planned value."""
    while shape.type_name in ("list", "map"):
        shape = shape.member if shape.type_name == "list" else shape.value
    return shape


def attribute_rules(entry: dict[str, Any]) -> list[Rule]:
    """The rules one attribute of constraints.json's resources names: its model member or table
    rule, and any rule it adds with ``also``."""
    found: list[Rule] = []
    if "model" in entry:
        found.append(model_rule(entry["model"]))
    if "rule" in entry:
        found.append(table_rule(entry["rule"]))
    if "also" in entry:
        found.append(table_rule(entry["also"]))
    if not found:
        raise ConstraintsError(f"{DATA_FILE}: an attribute names neither model nor rule: {entry}")
    return found
