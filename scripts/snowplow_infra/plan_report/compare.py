"""Whether a candidate plan makes exactly the changes of a reviewed plan.

Both plans are read with the review's own reader (``plan.load_plan``). What counts is what
applying would do: every resource change (by address, and deposed key for a deposed object) with
its actions, what forces a replacement, its move or import, and its ``before`` and ``after``
values together with their ``after_unknown`` and sensitivity masks; every output that changes;
every deferred change and action invocation. What does not count: the order of the entries,
timestamps, Terraform's version string, drift, and ``no-op`` entries (the state of resources the
change leaves alone), so a plan made later against a state that moved elsewhere still matches.

A difference names the address and the attribute path. A value is shown only when neither side
marks it sensitive; a sensitive value that differs is said to differ, never shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from snowplow_infra.plan_report.plan import (
    ActionInvocation,
    OutputChange,
    Plan,
    ResourceChange,
)
from snowplow_infra.plan_report.values import Path, format_path, mask_at

_SHOWN_CHARACTERS = 80
_T = TypeVar("_T")
_ABSENT = object()  # a list element that one side does not have


@dataclass(frozen=True)
class Difference:
    """One way the candidate differs from the review: what (an address or output), and how."""

    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}"


def differences(reviewed: Plan, candidate: Plan) -> list[Difference]:
    """Every difference between the changes of two plans; empty when they make the same ones."""
    found: list[Difference] = []
    if reviewed.complete != candidate.complete:
        found.append(
            Difference(
                "the plan",
                f"the review was {_complete(reviewed)}, this plan is {_complete(candidate)}",
            )
        )
    found += _keyed(
        _resource_changes(reviewed.resource_changes),
        _resource_changes(candidate.resource_changes),
        _resource_differences,
        lambda change: change.kind,
    )
    found += _keyed(
        {o.name: o for o in reviewed.changed_outputs},
        {o.name: o for o in candidate.changed_outputs},
        _output_differences,
        lambda output: f"output {output.kind}",
        prefix="output.",
    )
    found += _keyed(
        {_key(d.change): d.change for d in reviewed.deferred_changes},
        {_key(d.change): d.change for d in candidate.deferred_changes},
        _resource_differences,
        lambda change: f"deferred {change.kind}",
        prefix="deferred ",
    )
    reasons = (
        {_key(d.change): d.reason for d in reviewed.deferred_changes},
        {_key(d.change): d.reason for d in candidate.deferred_changes},
    )
    for key in sorted(reasons[0].keys() & reasons[1].keys()):
        if reasons[0][key] != reasons[1][key]:
            found.append(
                Difference(
                    f"deferred {key}",
                    f"deferred because {reasons[0][key]} in the review, "
                    f"because {reasons[1][key]} now",
                )
            )
    found += _keyed(
        {a.address: a for a in reviewed.action_invocations},
        {a.address: a for a in candidate.action_invocations},
        _action_differences,
        lambda action: f"action {action.type}",
        prefix="action ",
    )
    return found


def _complete(plan: Plan) -> str:
    return "complete" if plan.complete else "incomplete (deferred changes)"


def _key(change: ResourceChange) -> str:
    return (
        f"{change.address} (deposed object {change.deposed})" if change.deposed else change.address
    )


def _resource_changes(changes: tuple[ResourceChange, ...]) -> dict[str, ResourceChange]:
    """The entries that change something, by address: a no-op that neither moves nor imports
    is the state of a resource the change leaves alone."""
    return {
        _key(c): c
        for c in changes
        if c.kind != "no-op" or c.previous_address or c.importing is not None
    }


def _keyed(
    reviewed: Mapping[str, _T],
    candidate: Mapping[str, _T],
    compare: Callable[[_T, _T], Iterator[str]],
    describe: Callable[[_T], str],
    prefix: str = "",
) -> Iterator[Difference]:
    for key in sorted(reviewed.keys() | candidate.keys()):
        subject = f"{prefix}{key}"
        if key not in candidate:
            yield Difference(subject, f"{describe(reviewed[key])} in the review, not in this plan")
        elif key not in reviewed:
            yield Difference(subject, f"{describe(candidate[key])} in this plan, not in the review")
        else:
            for detail in compare(reviewed[key], candidate[key]):
                yield Difference(subject, detail)


def _resource_differences(reviewed: ResourceChange, candidate: ResourceChange) -> Iterator[str]:
    if reviewed.actions != candidate.actions:
        yield (f"the review planned {_actions(reviewed)}, this plan plans {_actions(candidate)}")
    if set(reviewed.replace_paths) != set(candidate.replace_paths):
        yield (
            f"replacement forced by {_paths(reviewed.replace_paths)} in the review, "
            f"by {_paths(candidate.replace_paths)} now"
        )
    if reviewed.action_reason != candidate.action_reason:
        yield (
            f"action reason {reviewed.action_reason or 'none'} in the review, "
            f"{candidate.action_reason or 'none'} now"
        )
    if reviewed.previous_address != candidate.previous_address:
        yield (
            f"moved from {reviewed.previous_address or 'nowhere'} in the review, "
            f"from {candidate.previous_address or 'nowhere'} now"
        )
    if reviewed.importing != candidate.importing:
        yield "what it imports differs from the review"
    yield from _values(
        "before",
        (reviewed.before, False, reviewed.before_sensitive),
        (candidate.before, False, candidate.before_sensitive),
    )
    yield from _values(
        "after",
        (reviewed.after, reviewed.after_unknown, reviewed.after_sensitive),
        (candidate.after, candidate.after_unknown, candidate.after_sensitive),
    )


def _output_differences(reviewed: OutputChange, candidate: OutputChange) -> Iterator[str]:
    if reviewed.actions != candidate.actions:
        yield f"the review planned {reviewed.kind}, this plan plans {candidate.kind}"
    yield from _values(
        "before",
        (reviewed.before, False, reviewed.before_sensitive),
        (candidate.before, False, candidate.before_sensitive),
    )
    yield from _values(
        "after",
        (reviewed.after, reviewed.after_unknown, reviewed.after_sensitive),
        (candidate.after, candidate.after_unknown, candidate.after_sensitive),
    )


def _action_differences(reviewed: ActionInvocation, candidate: ActionInvocation) -> Iterator[str]:
    if reviewed.type != candidate.type:
        yield f"action type {reviewed.type} in the review, {candidate.type} now"
    if reviewed.trigger != candidate.trigger:
        yield f"triggered by {reviewed.trigger} in the review, by {candidate.trigger} now"
    yield from _values(
        "config",
        (reviewed.config_values, reviewed.config_unknown, reviewed.config_sensitive),
        (candidate.config_values, candidate.config_unknown, candidate.config_sensitive),
    )


def _actions(change: ResourceChange) -> str:
    return f"{change.kind} ({', '.join(change.actions)})"


def _paths(paths: tuple[Path, ...]) -> str:
    return ", ".join(sorted(format_path(p) for p in paths)) or "nothing"


# (value, unknown mask, sensitivity mask)
_Side = tuple[Any, Any, Any]


def _values(name: str, reviewed: _Side, candidate: _Side) -> Iterator[str]:
    """Where two values differ, one line per differing leaf, sensitive values never shown."""
    for path, detail in _walk((name,), reviewed, candidate):
        yield f"{format_path(path)}: {detail}"


def _walk(path: Path, reviewed: _Side, candidate: _Side) -> Iterator[tuple[Path, str]]:
    (old, old_unknown, old_sensitive), (new, new_unknown, new_sensitive) = reviewed, candidate
    if old is _ABSENT or new is _ABSENT:
        if old is not new:
            which = "added in this plan" if old is _ABSENT else "in the review, not in this plan"
            yield path, f"element {which}"
        return
    if old_sensitive is True or new_sensitive is True:
        yield from _sensitive(path, reviewed, candidate)
        return
    if old_unknown is True or new_unknown is True:
        if old_unknown is not new_unknown:
            if old_unknown is True:
                yield path, f"known after apply in the review, {_show(new, new_sensitive)} now"
            else:
                yield path, f"{_show(old, old_sensitive)} in the review, known after apply now"
        return
    yield from _structures(path, reviewed, candidate)


def _sensitive(path: Path, reviewed: _Side, candidate: _Side) -> Iterator[tuple[Path, str]]:
    """Either side wholly sensitive here: say what differs, show no value."""
    (old, old_unknown, old_sensitive), (new, new_unknown, new_sensitive) = reviewed, candidate
    if old_sensitive is not new_sensitive:
        marked = "sensitive" if old_sensitive is True else "not (wholly) sensitive"
        now = "sensitive" if new_sensitive is True else "not (wholly) sensitive"
        yield path, f"{marked} in the review, {now} now (values not shown)"
    elif (old_unknown is True) != (new_unknown is True) or old != new:
        yield path, "a sensitive value differs from the review (values not shown)"


def _structures(path: Path, reviewed: _Side, candidate: _Side) -> Iterator[tuple[Path, str]]:
    """Neither side unknown or wholly sensitive here: objects by key, lists by index, leaves."""
    (old, old_unknown, old_sensitive), (new, new_unknown, new_sensitive) = reviewed, candidate
    if isinstance(old, dict) and isinstance(new, dict):
        keys = set(old) | set(new)
        for mask in (old_unknown, new_unknown):
            if isinstance(mask, dict):
                keys |= {k for k, v in mask.items() if v is True}
        for key in sorted(keys):
            yield from _walk(
                (*path, key),
                (old.get(key), mask_at(old_unknown, key), mask_at(old_sensitive, key)),
                (new.get(key), mask_at(new_unknown, key), mask_at(new_sensitive, key)),
            )
        return
    if isinstance(old, list) and isinstance(new, list):
        length = max(len(old), len(new), *(_length(m) for m in (old_unknown, new_unknown)))
        for index in range(length):
            yield from _walk(
                (*path, index),
                (_element(old, old_unknown, index), *_masks(old_unknown, old_sensitive, index)),
                (_element(new, new_unknown, index), *_masks(new_unknown, new_sensitive, index)),
            )
        return
    if _has_sensitive(old_sensitive) or _has_sensitive(new_sensitive):
        # A structure on one side, a scalar on the other, with some sensitive part: no values.
        if old != new or old_sensitive != new_sensitive:
            yield path, "differs from the review (values not shown: parts are sensitive)"
        return
    if old != new or type(old) is not type(new):
        yield path, f"{_show(old, False)} in the review, {_show(new, False)} now"


def _length(mask: Any) -> int:
    return len(mask) if isinstance(mask, list) else 0


def _element(values: list[Any], unknown: Any, index: int) -> Any:
    if index < len(values):
        return values[index]
    return None if mask_at(unknown, index) is True else _ABSENT


def _masks(unknown: Any, sensitive: Any, index: int) -> tuple[Any, Any]:
    return mask_at(unknown, index), mask_at(sensitive, index)


def _has_sensitive(mask: Any) -> bool:
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(_has_sensitive(v) for v in mask.values())
    if isinstance(mask, list):
        return any(_has_sensitive(v) for v in mask)
    return False


def _show(value: Any, sensitive: Any) -> str:
    """A short rendering of a value known not to be sensitive (``sensitive`` has no true part)."""
    if _has_sensitive(sensitive):
        return "a partly sensitive value"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if len(text) > _SHOWN_CHARACTERS:
        text = text[: _SHOWN_CHARACTERS - 1] + "…"
    return text
