"""The Markdown review of a plan, written for a person reading a merge request.

Layout: the counts and the protection gate first, then one section per kind of change with the
destructive ones on top, each grouped by module, then output changes, action invocations and
drift. Attribute detail and created resources sit in collapsed ``<details>``; sensitive values
are never printed.

A review can be bounded (``limit``, in characters: GitLab refuses a note over 1,000,000). When
everything does not fit, what is kept is chosen by importance (``entries`` module docstring):
first the protected resources a plan destroys, then IAM, then security groups, each with its
detail; then the table rows of every other change, most important first; then their details in
the same order. A notice at the top
says that the review is shortened and where the full one is, and the last section names exactly
what was left out: each address when that fits, otherwise counts per module and resource type.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from snowplow_infra.plan_report.counts import widget_counts
from snowplow_infra.plan_report.entries import Entry, Review, code, count
from snowplow_infra.plan_report.plan import ResourceChange
from snowplow_infra.plan_report.protection import Verdict, describe

GITLAB_NOTE_LIMIT = 1_000_000  # characters; docs/plan-review.md cites GitLab's documentation
DEFAULT_LIMIT = 250_000
MINIMUM_LIMIT = 10_000
# Protected destroys, IAM and security groups (entries.py): kept with their detail before the
# rows of anything else.
IMPORTANT_TIER = 2


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    meaning: str
    columns: tuple[str, ...]
    grouped: bool = True  # by module
    collapsed: bool = False  # each module's table inside <details>


SECTIONS: tuple[Section, ...] = (
    Section("delete", "Delete", "These objects are destroyed.", ("resource", "type", "reason")),
    Section(
        "replace",
        "Replace",
        "These objects are destroyed and created again.",
        ("resource", "forced by", "reason"),
    ),
    Section(
        "update",
        "Update in place",
        "These objects keep their identity; the listed attributes change.",
        ("resource", "changed attributes"),
    ),
    Section(
        "import",
        "Import",
        "These existing objects come under Terraform's management.",
        ("resource", "import id", "other change"),
    ),
    Section(
        "move",
        "Move",
        "These objects get a new address in the state (`moved` blocks); the move changes "
        "nothing in AWS.",
        ("from", "to", "other change"),
        grouped=False,
    ),
    Section(
        "forget",
        "Forget",
        "These objects leave Terraform's state but keep existing in AWS.",
        ("resource", "type", "reason"),
    ),
    Section("create", "Create", "These objects are new.", ("resource", "type"), collapsed=True),
    Section(
        "read",
        "Read during apply",
        "These data sources can only be read while applying.",
        ("resource", "type"),
    ),
    Section(
        "deferred",
        "Deferred",
        "Terraform could not plan these yet; another plan is needed after this one is applied.",
        ("resource", "planned action", "reason"),
    ),
    Section(
        "other",
        "Other actions",
        "Actions this report does not know; read them in the plan itself.",
        ("resource", "actions"),
    ),
    Section(
        "output",
        "Output changes",
        "The root module's outputs that change.",
        ("output", "change", "before", "after"),
        grouped=False,
    ),
    Section(
        "action",
        "Action invocations",
        "Actions (Terraform 1.14) that this apply runs.",
        ("action", "type", "trigger"),
        grouped=False,
    ),
    Section(
        "drift",
        "Drift: changed outside Terraform",
        "Terraform found these objects changed outside Terraform since the last apply; "
        "the changes above already take them into account.",
        ("resource", "change", "changed attributes"),
    ),
)
_SECTION_INDEX = {section.key: i for i, section in enumerate(SECTIONS)}
_SECTION_BY_KEY = {section.key: section for section in SECTIONS}


def render_review(
    review: Review,
    verdict: Verdict | None = None,
    *,
    limit: int | None = None,
    full_review: str | None = None,
) -> str:
    """The review as Markdown; with ``limit``, at most that many characters (``full_review``:
    where the unshortened review is, as Markdown, named when something is left out)."""
    return "".join(review_lines(review, verdict, limit=limit, full_review=full_review))


def review_lines(
    review: Review,
    verdict: Verdict | None = None,
    *,
    limit: int | None = None,
    full_review: str | None = None,
) -> Iterator[str]:
    """The review as lines (each ending in a newline), for writing a large one to a file."""
    if limit is not None and limit < MINIMUM_LIMIT:
        raise ValueError(f"A review limit must be at least {MINIMUM_LIMIT:,} characters.")
    head = _head(review, verdict, limit)
    entries = review.entries
    everything = _Selection(set(range(len(entries))), set(range(len(entries))))
    if limit is None or _full_size(review, head) <= limit:
        text = list(_assemble(review, head, everything, None))
        if limit is None or sum(len(line) for line in text) <= limit:
            yield from text
            return
    yield _bounded(review, head, limit, full_review)


def _full_size(review: Review, head: list[str]) -> int:
    """About the length of the whole review, without writing it."""
    size = sum(len(line) + 1 for line in head) + 200 * len(SECTIONS)
    for entry in review.entries:
        size += len(entry.row) + 1 + sum(len(line) + 1 for line in entry.detail)
    return size


def _bounded(review: Review, head: list[str], limit: int, full_review: str | None) -> str:
    entries = review.entries
    order = _priority(entries)
    budget = limit - len(head) - min(limit // 8, 40_000)
    for _ in range(8):
        selection = _select(entries, order, budget)
        left_out = _left_out(review, selection, limit, full_review)
        text = "".join(_assemble(review, head, selection, left_out))
        if len(text) <= limit:
            return text
        budget -= len(text) - limit + 200
    # Even the head does not fit: say only that, and where the review is.
    return _minimal(review, limit, full_review)


# --- the head: counts, gate ---------------------------------------------------------------------


def _head(review: Review, verdict: Verdict | None, limit: int | None) -> list[str]:
    plan = review.plan
    lines: list[str] = ["## Terraform plan review", ""]
    lines += _summary(review)
    if verdict is not None:
        lines += _gate(verdict, None if limit is None else limit // 5)
    if not plan.has_changes:
        lines += ["No changes: the infrastructure matches the configuration.", ""]
    return lines


def _summary(review: Review) -> list[str]:
    plan = review.plan
    counts = widget_counts(plan)
    kinds = [c.kind for c in plan.resource_changes]
    replaced = kinds.count("replace")
    lines = [
        f"**Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete.**"
        + (
            f" A replace counts in both: {count(replaced, 'resource')} replaced."
            if replaced
            else ""
        ),
        "",
        "| create | update | delete | replace | read | unchanged | moved | imported | outputs "
        "| drifted |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {counts['create']} | {counts['update']} | {counts['delete']} | {replaced} "
        f"| {kinds.count('read')} | {kinds.count('no-op')} | {len(plan.moves)} "
        f"| {len(plan.imports)} | {len(plan.changed_outputs)} | {len(plan.resource_drift)} |",
        "",
        f"Terraform {plan.terraform_version}, plan format {plan.format_version}"
        + (f", read as {plan.encoding}" if plan.encoding != "UTF-8" else "")
        + ".",
        "",
    ]
    if not plan.complete:
        lines += [
            "> **Incomplete plan:** Terraform planned only part of the configuration "
            "(targeting or deferred changes); another plan is needed after this one is applied.",
            "",
        ]
    return lines


def _gate(verdict: Verdict, limit: int | None) -> list[str]:
    if verdict.blocked:
        lines = [
            f"**Protection gate: blocked.** This plan destroys "
            f"{count(len(verdict.blocked), 'protected stateful resource')} that no "
            "`--allow-destroy` names:",
            "",
        ]
        lines += _bounded_list(verdict.blocked, limit)
    else:
        lines = [
            "**Protection gate: passed.** No protected stateful resource is destroyed"
            + (" without an allowance." if verdict.allowed else "."),
            "",
        ]
    if verdict.allowed:
        lines += ["Destroyed with an explicit `--allow-destroy`:", ""]
        lines += _bounded_list(verdict.allowed, limit)
    return lines


def _bounded_list(changes: Sequence[ResourceChange], limit: int | None) -> list[str]:
    lines: list[str] = []
    used = 0
    for index, change in enumerate(changes):
        line = f"- {_describe_md(change)}"
        if limit is not None and used + len(line) > limit // 2:
            rest = len(changes) - index
            lines.append(f"- and {count(rest, 'more')}, listed in the full review.")
            break
        lines.append(line)
        used += len(line) + 1
    return [*lines, ""]


def _describe_md(change: ResourceChange) -> str:
    text = describe(change)
    return code(change.address) + text[len(change.address) :]


# --- choosing what fits ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Selection:
    rows: set[int]
    details: set[int]

    def complete(self, entries: Sequence[Entry]) -> bool:
        return len(self.rows) == len(entries) and all(
            i in self.details for i, e in enumerate(entries) if e.detail
        )


def _priority(entries: Sequence[Entry]) -> list[int]:
    return sorted(
        range(len(entries)),
        key=lambda i: (entries[i].tier, _SECTION_INDEX[entries[i].section], entries[i].order),
    )


def _select(entries: Sequence[Entry], order: Sequence[int], budget: int) -> _Selection:
    """Rows and details that fit ``budget``, most important first (module docstring)."""
    rows: set[int] = set()
    details: set[int] = set()
    opened: set[tuple[str, str]] = set()
    used = 0

    def take_row(i: int) -> bool:
        nonlocal used
        entry = entries[i]
        section = _SECTION_BY_KEY[entry.section]
        cost = len(entry.row) + 1
        if (entry.section, "") not in opened:
            cost += _section_overhead(section)
        group = entry.module if section.grouped else ""
        if (entry.section, "\0" + group) not in opened:
            cost += _module_overhead(section, group)
        if used + cost > budget:
            return False
        used += cost
        opened.update({(entry.section, ""), (entry.section, "\0" + group)})
        rows.add(i)
        return True

    def take_detail(i: int) -> None:
        nonlocal used
        cost = sum(len(line) + 1 for line in entries[i].detail) + 80
        if i in rows and used + cost <= budget:
            used += cost
            details.add(i)

    important = [i for i in order if entries[i].tier <= IMPORTANT_TIER]
    others = [i for i in order if entries[i].tier > IMPORTANT_TIER]
    for i in important:
        if take_row(i) and entries[i].detail:
            take_detail(i)
    for i in others:
        take_row(i)
    for i in others:
        if entries[i].detail:
            take_detail(i)
    return _Selection(rows, details)


def _section_overhead(section: Section) -> int:
    return len(section.heading) + len(section.meaning) + 40


def _module_overhead(section: Section, module: str) -> int:
    header = sum(len(c) + 3 for c in section.columns) * 2 + 4
    return header + len(module) * 2 + 120


# --- writing it out -----------------------------------------------------------------------------


def _assemble(
    review: Review, head: list[str], selection: _Selection, left_out: list[str] | None
) -> Iterator[str]:
    """The lines of the review, each with its newline, ending in exactly one newline."""
    parts: list[Iterable[str]] = [head]
    if left_out is not None:
        parts.append([left_out[0], ""])  # the notice; the list itself goes last
    parts.append(_body(review, selection))
    unchanged = sum(1 for c in review.plan.resource_changes if c.kind == "no-op")
    if unchanged:
        parts.append([f"{count(unchanged, 'resource')} unchanged.", ""])
    if left_out is not None:
        parts.append(left_out[1:])
    blank = 0
    started = False
    for part in parts:
        for line in part:
            if not line:
                blank += 1
                continue
            if started:
                yield "\n" * blank
            yield line + "\n"
            started, blank = True, 0


def _body(review: Review, selection: _Selection) -> Iterator[str]:
    entries = review.entries
    for section in SECTIONS:
        total = [i for i, e in enumerate(entries) if e.section == section.key]
        shown = [i for i in total if i in selection.rows]
        if not shown:
            continue
        heading = f"### {section.heading} ({len(total):,})"
        if len(shown) < len(total):
            heading += f", {len(shown):,} listed here"
        yield from [heading, "", section.meaning, ""]
        for module, members in _by_module(entries, shown, section.grouped):
            yield from _module(review, section, module, members, selection)


def _by_module(
    entries: Sequence[Entry], indexes: Iterable[int], grouped: bool
) -> list[tuple[str, list[int]]]:
    groups: dict[str, list[int]] = {}
    for i in indexes:
        groups.setdefault(entries[i].module if grouped else "", []).append(i)
    return list(groups.items())


def _module(
    review: Review, section: Section, module: str, members: list[int], selection: _Selection
) -> list[str]:
    entries = review.entries
    table = [
        "| " + " | ".join(section.columns) + " |",
        "| " + " | ".join("---" for _ in section.columns) + " |",
        *(entries[i].row for i in members),
        "",
    ]
    details: list[str] = []
    for i in members:
        if i in selection.details:
            details += _detail(review, entries[i])
    if section.collapsed:
        label = f"<code>{html.escape(module)}</code>" if module else "root module"
        summary = f"{label}: {count(len(members), 'resource')}"
        return [
            "<details>",
            f"<summary>{summary}</summary>",
            "",
            *table,
            *details,
            "</details>",
            "",
        ]
    heading = [f"#### {code(module) if module else 'root module'}", ""] if section.grouped else []
    return [*heading, *table, *details]


def _detail(review: Review, entry: Entry) -> list[str]:
    lines = list(entry.detail)
    change = entry.change
    unknown = [
        f"Policy {code(change.local_address + '.' + name)} is known only after apply."
        for name in entry.unknown_policies
        if change is not None and review.plan.configures(change, name)
    ]
    if unknown and len(lines) >= 2 and lines[-2] == "</details>":
        lines[-2:-2] = [*unknown, ""]
    return lines


# --- what was left out --------------------------------------------------------------------------


def _left_out(
    review: Review, selection: _Selection, limit: int, full_review: str | None
) -> list[str]:
    """The notice (first line) and the closing section naming what this review leaves out."""
    entries = review.entries
    unlisted = [i for i in range(len(entries)) if i not in selection.rows]
    bare = [i for i in sorted(selection.rows) if entries[i].detail and i not in selection.details]
    where = (
        f"The full review is {full_review}."
        if full_review
        else "Write the full review with `snowplow-infra plan-report --full-markdown FILE`."
    )
    notice = (
        f"> **This review is shortened to fit {limit:,} characters** (GitLab shows at most "
        f"{GITLAB_NOTE_LIMIT:,} in a note): {count(len(unlisted), 'change')} "
        f"{'is' if len(unlisted) == 1 else 'are'} not listed and "
        f"{count(len(bare), 'change')} {'is' if len(bare) == 1 else 'are'} listed without "
        f"{'its' if len(bare) == 1 else 'their'} detail; the last section names them. {where}"
    )
    lines = [notice, "### Left out of this review", "", where, ""]
    allowance = max(limit // 5, 2_000)
    for form in (_by_address, _by_module_and_type, _by_type, _by_section):
        body = form(entries, unlisted, "Not listed") + form(entries, bare, "Listed without detail")
        if sum(len(line) + 1 for line in body) <= allowance:
            return lines + body
    return lines + _by_section(entries, unlisted, "Not listed")[:2]


def _by_address(entries: Sequence[Entry], indexes: Sequence[int], what: str) -> list[str]:
    if not indexes:
        return []
    lines = [f"{what} ({len(indexes):,}):", ""]
    for section in SECTIONS:
        members = [entries[i].address for i in indexes if entries[i].section == section.key]
        if members:
            lines.append(f"- {section.heading}: " + ", ".join(code(a) for a in members))
    return [*lines, ""]


def _by_module_and_type(entries: Sequence[Entry], indexes: Sequence[int], what: str) -> list[str]:
    if not indexes:
        return []
    lines = [
        f"{what} ({len(indexes):,}), by module and resource type:",
        "",
        "| section | module | resources |",
        "| --- | --- | --- |",
    ]
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for i in indexes:
        entry = entries[i]
        types = groups.setdefault((entry.section, entry.module), {})
        types[entry.type] = types.get(entry.type, 0) + 1
    for (section, module), types in sorted(
        groups.items(), key=lambda item: (_SECTION_INDEX[item[0][0]], item[0][1])
    ):
        described = ", ".join(f"{n:,} {code(t)}" for t, n in sorted(types.items()))
        label = code(module) if module else "root module"
        lines.append(f"| {_SECTION_BY_KEY[section].heading} | {label} | {described} |")
    return [*lines, ""]


def _by_type(entries: Sequence[Entry], indexes: Sequence[int], what: str) -> list[str]:
    if not indexes:
        return []
    lines = [f"{what} ({len(indexes):,}), by resource type:", ""]
    for section in SECTIONS:
        types: dict[str, set[str]] = {}
        for i in indexes:
            if entries[i].section == section.key:
                types.setdefault(entries[i].type, set()).add(entries[i].module)
        tallies = {
            t: sum(1 for i in indexes if entries[i].section == section.key and entries[i].type == t)
            for t in types
        }
        described = ", ".join(
            f"{n:,} {code(t)} in {count(len(types[t]), 'module')}"
            for t, n in sorted(tallies.items())
        )
        if described:
            lines.append(f"- {section.heading}: {described}")
    return [*lines, ""]


def _by_section(entries: Sequence[Entry], indexes: Sequence[int], what: str) -> list[str]:
    if not indexes:
        return []
    counts: dict[str, int] = {}
    for i in indexes:
        counts[entries[i].section] = counts.get(entries[i].section, 0) + 1
    described = ", ".join(
        f"{n:,} in {_SECTION_BY_KEY[key].heading}"
        for key, n in sorted(counts.items(), key=lambda item: _SECTION_INDEX[item[0]])
    )
    return [f"{what} ({len(indexes):,}): {described}.", ""]


def _minimal(review: Review, limit: int, full_review: str | None) -> str:
    counts = widget_counts(review.plan)
    text = (
        "## Terraform plan review\n\n"
        f"**Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete.** The review does not fit in {limit:,} characters. "
        + (f"The full review is {full_review}.\n" if full_review else "\n")
    )
    return text[:limit]
