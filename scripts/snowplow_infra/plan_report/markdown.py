"""The Markdown review of a plan, written for a person reading a merge request.

Layout: the counts and the protection gate first, then one section per kind of change with the
destructive ones on top (delete, replace, update, create, read, forget), each grouped by module,
then resource drift. Attribute detail and created resources sit in collapsed ``<details>``;
values are shortened to VALUE_LIMIT characters; sensitive values are never printed.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from snowplow_infra.plan_report import iam
from snowplow_infra.plan_report.counts import widget_counts
from snowplow_infra.plan_report.plan import Plan, ResourceChange
from snowplow_infra.plan_report.protection import Verdict, describe
from snowplow_infra.plan_report.values import (
    AttributeChange,
    attribute_changes,
    format_path,
    policy_documents,
    render,
    unknown_policy_attributes,
)

VALUE_LIMIT = 120
SECTIONS: tuple[tuple[str, str, str], ...] = (
    # kind, heading, what it means
    ("delete", "Delete", "These objects are destroyed."),
    ("replace", "Replace", "These objects are destroyed and created again."),
    ("update", "Update in place", "These objects keep their identity; listed attributes change."),
    ("create", "Create", "These objects are new."),
    ("read", "Read during apply", "These data sources can only be read while applying."),
    ("forget", "Forget", "These objects leave Terraform's state but keep existing in AWS."),
)


def render_review(plan: Plan, verdict: Verdict | None = None) -> str:
    lines: list[str] = ["## Terraform plan review", ""]
    lines += _summary(plan)
    if verdict is not None:
        lines += _gate(verdict)
    changes = [c for c in plan.resource_changes if c.kind != "no-op"]
    if not changes:
        lines += ["No changes: the infrastructure matches the configuration.", ""]
    known = {kind for kind, _, _ in SECTIONS}
    for kind, heading, meaning in SECTIONS:
        lines += _section(plan, kind, heading, meaning, [c for c in changes if c.kind == kind])
    lines += _section(
        plan,
        "other",
        "Other actions",
        "Actions this report does not know; read them in the plan itself.",
        [c for c in changes if c.kind not in known],
    )
    lines += _drift(plan.resource_drift)
    unchanged = sum(1 for c in plan.resource_changes if c.kind == "no-op")
    if unchanged:
        lines += [f"{_count(unchanged, 'resource')} unchanged.", ""]
    return "\n".join(lines).rstrip() + "\n"


def _summary(plan: Plan) -> list[str]:
    counts = widget_counts(plan)
    kinds = [c.kind for c in plan.resource_changes]
    replaced = kinds.count("replace")
    lines = [
        f"**Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete.**"
        + (
            f" A replace counts in both: {_count(replaced, 'resource')} replaced."
            if replaced
            else ""
        ),
        "",
        "| create | update | delete | replace | read | unchanged | drifted |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {counts['create']} | {counts['update']} | {counts['delete']} | {replaced} "
        f"| {kinds.count('read')} | {kinds.count('no-op')} | {len(plan.resource_drift)} |",
        "",
        f"Terraform {plan.terraform_version}, plan format {plan.format_version}.",
        "",
    ]
    if not plan.complete:
        lines += [
            "> **Incomplete plan:** Terraform planned only part of the configuration "
            "(targeting or deferred changes); another plan is needed after this one is applied.",
            "",
        ]
    return lines


def _gate(verdict: Verdict) -> list[str]:
    if verdict.blocked:
        lines = [
            f"**Protection gate: blocked.** This plan destroys "
            f"{_count(len(verdict.blocked), 'protected stateful resource')} that no "
            "`--allow-destroy` names:",
            "",
        ]
        lines += [f"- {_describe_md(change)}" for change in verdict.blocked]
        lines.append("")
    else:
        lines = [
            "**Protection gate: passed.** No protected stateful resource is destroyed"
            + (" without an allowance." if verdict.allowed else "."),
            "",
        ]
    if verdict.allowed:
        lines += ["Destroyed with an explicit `--allow-destroy`:", ""]
        lines += [f"- {_describe_md(change)}" for change in verdict.allowed]
        lines.append("")
    return lines


def _describe_md(change: ResourceChange) -> str:
    text = describe(change)
    return code(change.address) + text[len(change.address) :]


def _section(
    plan: Plan, kind: str, heading: str, meaning: str, changes: Sequence[ResourceChange]
) -> list[str]:
    if not changes:
        return []
    lines = [f"### {heading} ({len(changes)})", "", meaning, ""]
    for module, members in _by_module(changes):
        if kind == "create":
            lines += _collapsed_module(plan, module, members)
            continue
        lines += [f"#### {_module_label(module)}", ""]
        lines += _table(kind, members)
        for change in members:
            lines += _detail(change)
    return lines


def _by_module(changes: Iterable[ResourceChange]) -> list[tuple[str, list[ResourceChange]]]:
    groups: dict[str, list[ResourceChange]] = {}
    for change in changes:
        groups.setdefault(change.module_address, []).append(change)
    return sorted(groups.items(), key=lambda item: (item[0] != "", item[0]))


def _module_label(module: str) -> str:
    return code(module) if module else "root module"


def _module_label_html(module: str) -> str:
    return f"<code>{html.escape(module)}</code>" if module else "root module"


def _columns(kind: str) -> list[tuple[str, Callable[[ResourceChange], str]]]:
    resource = ("resource", lambda c: code(_label(c)))
    kind_column = ("type", lambda c: code(c.type))
    if kind == "replace":
        return [resource, ("forced by", _forced_by), ("reason", _reason)]
    if kind == "update":
        return [resource, ("changed attributes", _changed_names)]
    if kind in ("delete", "forget"):
        return [resource, kind_column, ("reason", _reason)]
    if kind == "other":
        return [resource, ("actions", lambda c: code(json.dumps(list(c.actions))))]
    return [resource, kind_column]


def _table(kind: str, changes: Sequence[ResourceChange]) -> list[str]:
    columns = _columns(kind)
    lines = [
        "| " + " | ".join(name for name, _ in columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    lines += ["| " + " | ".join(cell(c) for _, cell in columns) + " |" for c in changes]
    return [*lines, ""]


def _label(change: ResourceChange) -> str:
    label = change.local_address
    if change.deposed:
        label += f" (deposed {change.deposed})"
    return label


def _notes(change: ResourceChange) -> list[str]:
    notes = []
    if change.previous_address:
        notes.append(f"moved from {code(change.previous_address)}")
    if change.importing:
        notes.append("imported")
    return notes


def _reason(change: ResourceChange) -> str:
    parts = [change.action_reason.replace("_", " ")] if change.action_reason else []
    return "; ".join(parts + _notes(change)) or "—"


def _forced_by(change: ResourceChange) -> str:
    if not change.replace_paths:
        return "—"
    return ", ".join(code(format_path(path)) for path in change.replace_paths)


def _attribute_changes(change: ResourceChange) -> list[AttributeChange]:
    return attribute_changes(
        change.before,
        change.after,
        change.before_sensitive,
        change.after_sensitive,
        change.after_unknown,
    )


def _changed_names(change: ResourceChange) -> str:
    names = list(dict.fromkeys(str(a.path[0]) for a in _attribute_changes(change) if a.path))
    text = ", ".join(code(name) for name in names[:8])
    if len(names) > 8:
        text += f" and {len(names) - 8} more"
    return "; ".join([text or "no attribute differs", *_notes(change)])


def _detail(change: ResourceChange) -> list[str]:
    """Collapsed before → after table and policy diffs of an updated or replaced resource."""
    if change.kind not in ("update", "replace"):
        return []
    attributes = _attribute_changes(change)
    if not attributes:
        return []
    summary = (
        f"<code>{html.escape(_label(change))}</code>: "
        f"{_count(len(attributes), 'changed attribute')}"
    )
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    lines += _attribute_table(attributes)
    for attribute in attributes:
        if attribute.is_policy:
            lines += _policy_lines(
                format_path(attribute.path), attribute.before_policy, attribute.after_policy
            )
    return [*lines, "</details>", ""]


def _attribute_table(attributes: Sequence[AttributeChange]) -> list[str]:
    lines = ["| attribute | before | after |", "| --- | --- | --- |"]
    for attribute in attributes:
        lines.append(
            f"| {code(format_path(attribute.path) or '(whole object)')} "
            f"| {_value_cell(attribute.before, attribute.before_policy)} "
            f"| {_value_cell(attribute.after, attribute.after_policy)} |"
        )
    return [*lines, ""]


def _value_cell(value: Any, policy: dict[str, Any] | None) -> str:
    if policy is not None:
        return f"policy document, {_count(len(iam.statements(policy)), 'statement')} (see below)"
    return code(render(value, VALUE_LIMIT))


def _policy_lines(
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
    fence = "```" if "```" not in text else "~~~~"
    lines = [caption, ""] if caption else []
    return [
        *lines,
        f"  {fence}json",
        *(f"  {line}" for line in text.splitlines()),
        f"  {fence}",
        "",
    ]


def _collapsed_module(plan: Plan, module: str, changes: Sequence[ResourceChange]) -> list[str]:
    summary = f"{_module_label_html(module)}: {_count(len(changes), 'resource')}"
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    lines += _table("create", changes)
    for change in changes:
        for path, document in policy_documents(
            change.after, change.after_sensitive, change.after_unknown
        ):
            lines += _policy_lines(f"{_label(change)}.{format_path(path)}", None, document)
        for attribute in unknown_policy_attributes(change.after_unknown):
            if plan.configures(change, attribute):
                name = code(f"{_label(change)}.{attribute}")
                lines += [f"Policy {name} is known only after apply.", ""]
    return [*lines, "</details>", ""]


def _drift(drift: Sequence[ResourceChange]) -> list[str]:
    if not drift:
        return []
    lines = [
        f"### Drift: changed outside Terraform ({len(drift)})",
        "",
        "Terraform found these objects changed outside Terraform since the last apply; "
        "the changes above already take them into account.",
        "",
    ]
    for module, members in _by_module(drift):
        lines += [f"#### {_module_label(module)}", ""]
        lines += ["| resource | change | changed attributes |", "| --- | --- | --- |"]
        lines += [
            f"| {code(_label(c))} | {c.kind} | {_changed_names(c) if c.kind == 'update' else '—'} |"
            for c in members
        ]
        lines.append("")
        for change in members:
            lines += _detail(change)
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def code(text: str) -> str:
    """An inline code span that survives backticks and table pipes in ``text``."""
    fence = "`"
    while fence in text:
        fence += "`"
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text.replace('|', chr(92) + '|')}{padding}{fence}"
