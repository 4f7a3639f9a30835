"""IAM policy documents diffed statement by statement.

Statements are matched by ``Sid`` when they have one, otherwise by their whole content, so
reordering statements is no change, and a statement without a Sid that changes shows as one
removed and one added. Content is compared as IAM reads it: key order, the order of values in an
array (``Action``, ``Resource``, ``Principal``, condition values are sets) and a one-element array
against its only value make no difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StatementChange:
    kind: str  # "added", "removed" or "changed"
    label: str  # "Sid `X`" or "statement 2"
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class PolicyDiff:
    changes: tuple[StatementChange, ...]
    unchanged: int
    other: tuple[str, ...] = field(default=())  # top-level keys other than Statement that changed

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.kind] = counts.get(change.kind, 0) + 1
        parts = [f"{n} {kind}" for kind, n in counts.items()]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.other:
            parts.append(f"{', '.join(self.other)} changed")
        noun = "statement" if sum(counts.values()) + self.unchanged == 1 else "statements"
        return f"{noun}: {', '.join(parts) or 'none'}"


def statements(document: dict[str, Any] | None) -> list[Any]:
    if document is None:
        return []
    found = document.get("Statement")
    if isinstance(found, list):
        return found
    return [] if found is None else [found]


def _canonical(statement: Any) -> str:
    return json.dumps(_as_iam_reads_it(statement), sort_keys=True, separators=(",", ":"))


def _as_iam_reads_it(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _as_iam_reads_it(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_as_iam_reads_it(item) for item in value]
        if len(items) == 1 and not isinstance(items[0], dict | list):
            return items[0]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _keyed(document: dict[str, Any] | None) -> dict[str, tuple[str, Any]]:
    """Statements keyed by Sid (else content); the value is (label, statement)."""
    keyed: dict[str, tuple[str, Any]] = {}
    for position, statement in enumerate(statements(document), start=1):
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        if isinstance(sid, str) and sid:
            key, label = f"sid:{sid}", f"Sid `{sid}`"
        else:
            key, label = f"content:{_canonical(statement)}", f"statement {position} (no Sid)"
        while key in keyed:  # duplicates: keep both
            key += "'"
        keyed[key] = (label, statement)
    return keyed


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> PolicyDiff:
    old, new = _keyed(before), _keyed(after)
    changes: list[StatementChange] = []
    unchanged = 0
    for key, (label, statement) in old.items():
        if key not in new:
            changes.append(StatementChange("removed", label, before=statement))
        elif _canonical(statement) != _canonical(new[key][1]):
            changes.append(StatementChange("changed", label, statement, new[key][1]))
        else:
            unchanged += 1
    changes += [
        StatementChange("added", label, after=statement)
        for key, (label, statement) in new.items()
        if key not in old
    ]
    other: tuple[str, ...] = ()
    if before is not None and after is not None:
        keys = sorted((set(before) | set(after)) - {"Statement"})
        other = tuple(k for k in keys if before.get(k) != after.get(k))
    return PolicyDiff(tuple(changes), unchanged, other)
