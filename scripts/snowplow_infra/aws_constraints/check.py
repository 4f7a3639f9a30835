"""Check a plan's planned values against AWS's constraints (rules.py): every resource created or
updated, every attribute constraints.json maps for its type, and every resource's tags. Values
known only after apply are not judged; a resource type that constraints.json does not list is a
violation of its own, so that coverage cannot silently shrink as the plan grows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from snowplow_infra.aws_constraints.rules import DATA_FILE, _compiled, attribute_rules, data

CHANGING = ({"create"}, {"update"}, {"create", "delete"})
TAG_ATTRIBUTES = ("tags", "tags_all")


@dataclass(frozen=True)
class Violation:
    address: str
    attribute: str
    problem: str
    source: str

    def __str__(self) -> str:
        return f"{self.address}: {self.attribute} {self.problem} (source: {self.source})."


def values_at(value: Any, path: list[str], where: str = "") -> Iterator[tuple[str, Any]]:
    """Each planned value at ``path`` (``*`` expands a block list), with its concrete path."""
    if not path:
        # The provider sends no field for an optional attribute at its zero value ("" or 0): such
        # a value is absent from the request, not a value AWS judges.
        if value is not None and value != "" and not (type(value) is int and value == 0):
            yield where, value
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for index, element in enumerate(value if isinstance(value, list) else []):
            yield from values_at(element, rest, f"{where}[{index}]")
    elif isinstance(value, dict) and head in value:
        yield from values_at(value[head], rest, f"{where}.{head}" if where else head)


def _tag_problems(address: str, attribute: str, tags: Any) -> Iterator[Violation]:
    if not isinstance(tags, dict):
        return
    rule = data()["table"]["tags"]
    source = rule["source"]
    if len(tags) > rule["max_count"]:
        yield Violation(
            address, attribute, f"has {len(tags)} tags, over {rule['max_count']}", source
        )
    for key, value in tags.items():
        if len(key) > rule["key_max"] or _compiled(rule["key_pattern"]).fullmatch(key) is None:
            yield Violation(
                address,
                f"{attribute} key {key!r}",
                f"breaks the tag key rule (1-{rule['key_max']} characters, {rule['key_pattern']})",
                source,
            )
        if isinstance(value, str) and (
            len(value) > rule["value_max"]
            or _compiled(rule["value_pattern"]).fullmatch(value) is None
        ):
            yield Violation(
                address,
                f"{attribute}[{key!r}]",
                f"breaks the tag value rule (0-{rule['value_max']} characters, "
                f"{rule['value_pattern']})",
                source,
            )


def check_plan(plan: dict[str, Any]) -> list[Violation]:
    """Every violation in ``plan`` (the JSON of `terraform show -json`)."""
    mapped: dict[str, dict[str, Any]] = data()["resources"]
    violations: list[Violation] = []
    for change in plan.get("resource_changes", []):
        if change.get("mode") != "managed":
            continue
        if set(change["change"]["actions"]) not in CHANGING:
            continue
        address, resource_type = change["address"], change["type"]
        after = change["change"].get("after") or {}
        if resource_type not in mapped:
            violations.append(
                Violation(
                    address,
                    "(every attribute)",
                    f"is of type {resource_type}, which {DATA_FILE} does not cover",
                    f"add {resource_type} to {DATA_FILE} with its constrained attributes",
                )
            )
            continue
        for attribute, entry in mapped[resource_type].items():
            rules = attribute_rules(entry)
            for where, value in values_at(after, attribute.split(".")):
                for rule in rules:
                    for problem in rule.problems(value):
                        shown = _shown(value)
                        violations.append(
                            Violation(address, f"{where} {shown}", problem, rule.source)
                        )
        for attribute in TAG_ATTRIBUTES:
            violations += _tag_problems(address, attribute, after.get(attribute))
    return violations


def _shown(value: Any) -> str:
    """The value, shortened: policies and boot scripts are long, and never event data."""
    text = value if isinstance(value, str) else repr(value)
    text = re.sub(r"\s+", " ", text)
    return repr(text if len(text) <= 80 else f"{text[:77]}...")


def covered_types() -> list[str]:
    return sorted(data()["resources"])
