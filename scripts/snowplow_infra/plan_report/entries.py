"""Each change of a plan as a review shows it: a table row, a Markdown detail, and how important
it is when a review must leave something out.

``digest`` is what the reader (``plan.load_plan``) calls on every resource change as soon as it
is read: the change's values are rendered here, once, and only the rendered text is kept, so a
large plan is never held as decoded values. ``Review`` is the plan (without values) plus every
entry, in plan order.

Importance (``tier``, lowest first), the order in which a shortened review keeps things:

0. deleting or replacing a protected stateful resource (``protection.PROTECTED_TYPES``);
1. IAM: ``aws_iam_*``, other ``*_iam_*`` types, role assignments, and any change to a policy
   document (bucket, key, queue, topic policies);
2. security groups, their rules, network ACLs and firewalls;
3. every other delete or replace;
4. updates, imports, moves, forgets, deferred changes, output changes, action invocations;
5. drift;
6. creates;
7. reads.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snowplow_infra.plan_report import iam
from snowplow_infra.plan_report.plan import (
    ActionInvocation,
    OutputChange,
    Plan,
    PlanError,
    ResourceChange,
    load_plan,
    parse_plan,
)
from snowplow_infra.plan_report.protection import PROTECTED_TYPES
from snowplow_infra.plan_report.textdiff import CELL_LIMIT, Text
from snowplow_infra.plan_report.values import (
    ABSENT,
    SENSITIVE,
    UNKNOWN,
    AttributeChange,
    Marker,
    attribute_changes,
    block_text,
    format_path,
    leaves,
    policy_document,
    redact,
    render,
    unknown_policy_attributes,
)

_IAM_TYPE = re.compile(r"^aws_iam_|_iam_|^azurerm_role_(assignment|definition)$")
_NETWORK_TYPES = frozenset(
    {
        "aws_security_group",
        "aws_default_security_group",
        "aws_security_group_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
        "aws_network_acl",
        "aws_default_network_acl",
        "aws_network_acl_rule",
        "google_compute_firewall",
        "azurerm_network_security_group",
        "azurerm_network_security_rule",
    }
)
CHANGED_NAMES_SHOWN = 8
IDENTIFYING_ATTRIBUTES = ("id", "arn", "name")


@dataclass(frozen=True)
class Entry:
    """One row of one section of the review, and its collapsed detail."""

    section: str  # a key of SECTIONS in markdown.py
    module: str  # the module address it is grouped under ("" for the root or no module)
    address: str
    type: str
    cells: tuple[str, ...]
    detail: tuple[str, ...] = ()  # Markdown lines shown under the module's table
    tier: int = 4
    order: int = 0  # position in the plan, to keep plan order within a tier
    unknown_policies: tuple[str, ...] = ()  # configured? decided once the configuration is read
    change: ResourceChange | None = None  # without its values

    @property
    def row(self) -> str:
        return "| " + " | ".join(self.cells) + " |"


@dataclass
class Review:
    """A plan without its values, and the entries that show them."""

    plan: Plan
    entries: list[Entry] = field(default_factory=list)


def load_review(path: Path) -> Review:
    """Read a plan file (as a stream) into a review; raises PlanError."""
    entries: list[Entry] = []

    def keep(change: ResourceChange) -> ResourceChange:
        entries.extend(digest(change, len(entries)))
        return change.without_values()

    plan = load_plan(path, keep)
    return Review(plan, entries + _plan_entries(plan, len(entries)))


def review_of(document: Any, source: str = "the input") -> Review:
    """A review of a decoded plan document (small plans, tests)."""
    entries: list[Entry] = []

    def keep(change: ResourceChange) -> ResourceChange:
        entries.extend(digest(change, len(entries)))
        return change.without_values()

    plan = parse_plan(document, source, keep)
    return Review(plan, entries + _plan_entries(plan, len(entries)))


def review_of_plan(plan: Plan) -> Review:
    """A review of a plan read with its values."""
    entries: list[Entry] = []
    for change in (*plan.resource_drift, *plan.resource_changes):
        entries.extend(digest(change, len(entries)))
    return Review(plan, entries + _plan_entries(plan, len(entries)))


__all__ = ["Entry", "PlanError", "Review", "digest", "load_review", "review_of", "review_of_plan"]


# --- one resource change ------------------------------------------------------------------------


def digest(change: ResourceChange, order: int) -> list[Entry]:
    """The entries of one resource change (a drift entry, a planned change or a deferred one)."""
    if change.where.startswith("resource_drift"):
        return [_drift_entry(change, order)]
    if change.where.startswith("deferred_changes"):
        return []  # listed from plan.deferred_changes, which carries the reason
    entries: list[Entry] = []
    kind = change.kind
    cells: tuple[str, ...]
    if change.previous_address:
        cells = (code(change.previous_address), code(change.address), _also(kind))
        entries.append(_entry(change, "move", order, cells, module=""))
    if change.importing is not None:
        imported = change.importing
        what = code(imported.id) if imported.id else code(json.dumps(imported.identity))
        if imported.unknown:
            what = "(known after apply)"
        entries.append(_entry(change, "import", order, (code(_label(change)), what, _also(kind))))
    if kind == "no-op":
        return entries
    if kind in ("update", "replace"):
        entries.append(_changed_entry(change, kind, order))
    elif kind == "create":
        entries.append(_created_entry(change, order))
    elif kind in ("delete", "forget"):
        cells = (code(_label(change)), code(change.type), _reason(change))
        entries.append(_entry(change, kind, order, cells, detail=_identity_lines(change)))
    elif kind == "read":
        entries.append(_entry(change, "read", order, (code(_label(change)), code(change.type))))
    else:
        cells = (code(_label(change)), code(json.dumps(list(change.actions))))
        entries.append(_entry(change, "other", order, cells))
    return entries


_SECTION_WORD = {
    "update": "*Update in place*",
    "replace": "*Replace*",
    "create": "*Create*",
    "delete": "*Delete*",
    "forget": "*Forget*",
    "read": "*Read during apply*",
}


def _also(kind: str) -> str:
    if kind == "no-op":
        return "no other change"
    return f"also {kind}, see {_SECTION_WORD.get(kind, '*Other actions*')}"


def _entry(
    change: ResourceChange,
    section: str,
    order: int,
    cells: Sequence[str],
    *,
    detail: Sequence[str] = (),
    module: str | None = None,
    policy: bool = False,
    unknown_policies: Sequence[str] = (),
) -> Entry:
    return Entry(
        section=section,
        module=change.module_address if module is None else module,
        address=change.address,
        type=change.type,
        cells=tuple(cells),
        detail=tuple(detail),
        tier=_tier(change, section, policy),
        order=order,
        unknown_policies=tuple(unknown_policies),
        change=change.without_values(),
    )


def _tier(change: ResourceChange, section: str, policy: bool) -> int:
    destroys = section in ("delete", "replace")
    if destroys and change.mode == "managed" and change.type in PROTECTED_TYPES:
        return 0
    if _IAM_TYPE.search(change.type) or policy:
        return 1
    if change.type in _NETWORK_TYPES:
        return 2
    if destroys:
        return 3
    return {"drift": 5, "create": 6, "read": 7}.get(section, 4)


def _changed_entry(change: ResourceChange, kind: str, order: int) -> Entry:
    attributes = _attribute_changes(change)
    names = _changed_names(attributes)
    cells: tuple[str, ...]
    if kind == "replace":
        cells = (code(_label(change)), _forced_by(change), _reason(change))
    else:
        cells = (code(_label(change)), "; ".join([names, *_notes(change)]))
    detail = _attribute_detail(change, attributes)
    policy = any(a.is_policy for a in attributes)
    return _entry(change, kind, order, cells, detail=detail, policy=policy)


def _drift_entry(change: ResourceChange, order: int) -> Entry:
    attributes = _attribute_changes(change) if change.kind == "update" else []
    names = _changed_names(attributes) if change.kind == "update" else "—"
    cells = (code(_label(change)), change.kind, names)
    return _entry(change, "drift", order, cells, detail=_attribute_detail(change, attributes))


def _attribute_changes(change: ResourceChange) -> list[AttributeChange]:
    return attribute_changes(
        change.before,
        change.after,
        change.before_sensitive,
        change.after_sensitive,
        change.after_unknown,
    )


def _changed_names(attributes: Sequence[AttributeChange]) -> str:
    names = list(dict.fromkeys(str(a.path[0]) for a in attributes if a.path))
    text = ", ".join(code(name) for name in names[:CHANGED_NAMES_SHOWN])
    if len(names) > CHANGED_NAMES_SHOWN:
        text += f" and {len(names) - CHANGED_NAMES_SHOWN} more"
    return text or "no attribute differs"


def _attribute_detail(change: ResourceChange, attributes: Sequence[AttributeChange]) -> list[str]:
    """The collapsed before → after table, long values' line diffs and policy diffs."""
    if not attributes:
        return []
    summary = f"<code>{html.escape(_label(change))}</code>: {count(len(attributes), 'change')}"
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    lines += ["| attribute | before | after |", "| --- | --- | --- |"]
    for attribute in attributes:
        name = format_path(attribute.path) or "(whole object)"
        if attribute.kind != "changed":
            name += f" ({attribute.kind})"
        lines.append(
            f"| {code(name)} | {_cell(attribute, attribute.before, attribute.before_policy)} "
            f"| {_cell(attribute, attribute.after, attribute.after_policy)} |"
        )
    lines.append("")
    for attribute in attributes:
        name = format_path(attribute.path) or "(whole object)"
        if attribute.is_policy:
            lines += policy_lines(name, attribute.before_policy, attribute.after_policy)
        elif attribute.lines:
            how = f" ({attribute.note})" if attribute.note else ""
            lines += [f"{code(name)}{how}:", "", *fenced(attribute.lines, "diff"), ""]
    return [*lines, "</details>", ""]


def _cell(attribute: AttributeChange, value: Any, policy: dict[str, Any] | None) -> str:
    if policy is not None:
        return f"policy document, {count(len(iam.statements(policy)), 'statement')} (see below)"
    if value is ABSENT:
        return "—"
    if not isinstance(value, Marker) and block_text(value) is not None:
        return _size(value) + (" (diff below)" if attribute.lines else "")
    return code(render(value))


def _size(value: Any) -> str:
    if isinstance(value, str):
        lines = value.count("\n") + 1
        return count(lines, "line") if lines > 1 else count(len(value), "character")
    return f"{render_size(value)}"


def render_size(value: Any) -> str:
    if isinstance(value, dict):
        return count(len(value), "key")
    if isinstance(value, list):
        return count(len(value), "element")
    return "value"


def _created_entry(change: ResourceChange, order: int) -> Entry:
    """A created resource: every attribute it is planned with, unknown ones named."""
    known: list[tuple[str, Any]] = []
    unknown: list[str] = []
    documents: list[tuple[str, dict[str, Any]]] = []
    for path, value in leaves(change.after, change.after_sensitive, change.after_unknown):
        name = format_path(path)
        if value is UNKNOWN:
            unknown.append(name)
            continue
        known.append((name, value))
        if (document := policy_document(value)) is not None:
            documents.append((name, document))
    policy_paths = {name for name, _ in documents}
    lines: list[str] = []
    summary = f"<code>{html.escape(_label(change))}</code>: {count(len(known), 'attribute')}"
    if unknown:
        summary += f", {len(unknown)} known after apply"
    lines += ["<details>", f"<summary>{summary}</summary>", ""]
    blocks: list[tuple[str, Text]] = []
    if known:
        lines += ["| attribute | value |", "| --- | --- |"]
        for name, value in known:
            if name in policy_paths:
                cell = "policy document (statements below)"
            elif value is not SENSITIVE and (text := block_text(value, (name,))) is not None:
                cell = f"{_size(value)} (below)"
                blocks.append((name, text))
            else:
                cell = code(render(value))
            lines.append(f"| {code(name or '(whole object)')} | {cell} |")
        lines.append("")
    if unknown:
        lines += ["Known after apply: " + ", ".join(code(name) for name in unknown) + ".", ""]
    for name, text in blocks:
        how = f" ({text.note})" if text.note else ""
        lines += [f"{code(name)}{how}:", "", *fenced(text.lines), ""]
    for name, document in documents:
        lines += policy_lines(name, None, document)
    lines += ["</details>", ""]
    cells = (code(_label(change)), code(change.type))
    return _entry(
        change,
        "create",
        order,
        cells,
        detail=lines,
        policy=bool(documents),
        unknown_policies=unknown_policy_attributes(change.after_unknown),
    )


def _identity_lines(change: ResourceChange) -> list[str]:
    """What identifies a deleted object: its id, ARN or name, when the plan knows them."""
    before = change.before if isinstance(change.before, dict) else {}
    known = [
        f"{code(key)} {code(render(redact(before[key], _mask(change.before_sensitive, key))))}"
        for key in IDENTIFYING_ATTRIBUTES
        if isinstance(before.get(key), str | int) and before.get(key) != ""
    ]
    if not known:
        return []
    return [f"{code(_label(change))}: " + ", ".join(known) + ".", ""]


def _mask(mask: Any, key: str) -> Any:
    return mask.get(key, False) if isinstance(mask, dict) else mask


def _label(change: ResourceChange) -> str:
    label = change.local_address
    if change.deposed:
        label += f" (deposed {change.deposed})"
    return label


def _notes(change: ResourceChange) -> list[str]:
    notes = []
    if change.previous_address:
        notes.append(f"moved from {code(change.previous_address)}")
    if change.importing is not None:
        notes.append("imported")
    return notes


def _reason(change: ResourceChange) -> str:
    parts = [change.action_reason.replace("_", " ")] if change.action_reason else []
    return "; ".join(parts + _notes(change)) or "—"


def _forced_by(change: ResourceChange) -> str:
    if not change.replace_paths:
        return "—"
    return ", ".join(code(format_path(path)) for path in change.replace_paths)


# --- outputs and action invocations ------------------------------------------------------------


def _plan_entries(plan: Plan, start: int) -> list[Entry]:
    entries = [
        _entry(d.change, "deferred", start + i, (code(_label(d.change)), d.change.kind, d.reason))
        for i, d in enumerate(plan.deferred_changes)
    ]
    start += len(entries)
    entries += [_output_entry(o, start + i) for i, o in enumerate(plan.changed_outputs)]
    start += len(entries)
    entries += [_action_entry(a, start + i) for i, a in enumerate(plan.action_invocations)]
    return entries


def _output_entry(output: OutputChange, order: int) -> Entry:
    before = redact(output.before, output.before_sensitive)
    after = redact(output.after, output.after_sensitive, output.after_unknown)
    if output.kind == "create":
        before = ABSENT
    if output.kind == "delete":
        after = ABSENT
    changes = attribute_changes(
        None if before is ABSENT else output.before,
        None if after is ABSENT else output.after,
        output.before_sensitive,
        output.after_sensitive,
        output.after_unknown,
    )
    long = [c for c in changes if c.lines]
    cells = (
        code(output.name),
        output.kind,
        _output_cell(before, long),
        _output_cell(after, long),
    )
    detail: list[str] = []
    for change in long:
        name = format_path((output.name, *change.path))
        how = f" ({change.note})" if change.note else ""
        detail += [f"Output {code(name)}{how}:", "", *fenced(change.lines, "diff"), ""]
    return Entry("output", "", f"output.{output.name}", "output", cells, tuple(detail), 4, order)


def _output_cell(value: Any, long: Sequence[AttributeChange]) -> str:
    if value is ABSENT:
        return "—"
    if long and not isinstance(value, Marker) and len(render(value)) > CELL_LIMIT:
        return _size(value) + " (diff below)"
    return code(render(value))


def _action_entry(action: ActionInvocation, order: int) -> Entry:
    values = list(leaves(action.config_values, action.config_sensitive, action.config_unknown))
    detail: list[str] = []
    if values:
        detail += [f"Action {code(action.address)} is configured with:", ""]
        detail += ["| argument | value |", "| --- | --- |"]
        detail += [f"| {code(format_path(path))} | {code(render(v))} |" for path, v in values]
        detail.append("")
    cells = (code(action.address), code(action.type), action.trigger)
    return Entry("action", "", action.address, action.type, cells, tuple(detail), 4, order)


# --- Markdown pieces shared with markdown.py ----------------------------------------------------


def policy_lines(
    name: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[str]:
    result = iam.diff(before, after)
    lines = [f"Policy {code(name)}, {result.summary()}:", ""]
    for change in result.changes:
        lines.append(f"- **{change.kind}** {change.label}")
        lines.append("")
        if change.kind == "changed":
            lines += _json_block(change.before, "  before:") + _json_block(change.after, "  after:")
        else:
            lines += _json_block(change.before if change.kind == "removed" else change.after)
    return lines


def _json_block(value: Any, caption: str = "") -> list[str]:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    lines = [caption, ""] if caption else []
    return [*lines, *("  " + line for line in fenced(text.split("\n"), "json")), ""]


def fenced(lines: Iterable[str], language: str = "") -> list[str]:
    """A fenced code block that no backtick run inside it can close."""
    body = list(lines)
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *body, fence]


def count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def code(text: str) -> str:
    """An inline code span that survives backticks, table pipes and line breaks in ``text``."""
    if "`" not in text and "|" not in text and "\n" not in text and "\r" not in text:
        return f"`{text}`"
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    fence = "`"
    while fence in text:
        fence += "`"
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text.replace('|', chr(92) + '|')}{padding}{fence}"
