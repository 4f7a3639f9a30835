"""What the demo prints at the end: a table per delivery stream, and one event before and after.

The event comparison checks every changed value against the demo's salt: a field is marked
``hashed`` only when its new value is exactly HMAC-SHA256(salt, old value), so the table shows the
Lambda's rule being applied, not just that something changed. The salt itself is never shown.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from snowplow_infra.local.firehose import Delivery
from snowplow_infra.sample_events import FIELD_NAMES

WIDTH = 38
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")


def pseudonym(salt: bytes, value: str) -> str:
    """HMAC-SHA256(salt, value) in lowercase hex: the Lambda's rule (docs/pseudonymization.md)."""
    return hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table: left-aligned text, right-aligned numbers."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], int) for row in rows) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if is_number else cell.ljust(width)
            for cell, width, is_number in zip(row, widths, numeric, strict=True)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def deliveries_table(deliveries: Mapping[str, Delivery], fed: Mapping[str, int]) -> str:
    """Events in per stream, what was pseudonymized, failed to the error prefix, objects written."""
    headers = (
        "delivery stream",
        "put on source",
        "read by Firehose",
        "invocations",
        "pseudonymized",
        "to processing-failed/",
        "objects",
        "error objects",
    )
    rows = [
        (
            delivery.stream.name,
            fed.get(role, 0),
            delivery.records_in,
            delivery.invocations,
            delivery.ok,
            delivery.failed,
            len(delivery.objects),
            len(delivery.error_objects),
        )
        for role, delivery in deliveries.items()
    ]
    return table(headers, rows)


@dataclass(frozen=True)
class FieldChange:
    """One non-empty field of an enriched event, before and after pseudonymization."""

    name: str
    before: str
    after: str
    mark: str


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "schema":
                yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield value


def _json_mark(before: str, after: str, salt: bytes) -> str | None:
    """How a JSON field changed (its Iglu schemas, keys, booleans and nulls always stay), or None
    when the field is not JSON."""
    if not before.startswith("{"):
        return None
    try:
        old, new = json.loads(before), json.loads(after)
    except ValueError:
        return None
    kept = hashed = other = 0
    for old_leaf, new_leaf in zip(_leaves(old), _leaves(new), strict=True):
        if old_leaf == new_leaf:
            kept += 1
        elif isinstance(old_leaf, str) and new_leaf == pseudonym(salt, old_leaf):
            hashed += 1
        elif not isinstance(old_leaf, str) and _PSEUDONYM.fullmatch(str(new_leaf)):
            hashed += 1  # a number is hashed as its literal text, which parsing does not keep
        else:
            other += 1
    mark = f"JSON: {hashed} values hashed (verified), {kept} kept"
    return mark + (f", {other} CHANGED, NOT BY THE RULE" if other else "")


def compare_event(before: str, after: str, salt: bytes) -> list[FieldChange]:
    """Field by field, the non-empty fields of one enriched event and how each was treated."""
    old_fields = before.rstrip("\n").split("\t")
    new_fields = after.rstrip("\n").split("\t")
    changes = []
    for name, old, new in zip(FIELD_NAMES, old_fields, new_fields, strict=True):
        if not old:
            continue
        if old == new:
            mark = "kept"
        elif new == pseudonym(salt, old):
            mark = "hashed (HMAC-SHA256 verified)"
        else:
            mark = _json_mark(old, new, salt) or "CHANGED, NOT BY THE RULE"
        changes.append(FieldChange(name, old, new, mark))
    return changes


def _short(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."


def event_table(changes: Sequence[FieldChange]) -> str:
    return table(
        ("field", "before", "after", ""),
        [(c.name, _short(c.before), _short(c.after), c.mark) for c in changes],
    )
