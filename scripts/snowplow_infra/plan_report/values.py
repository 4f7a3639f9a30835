"""Attribute values as a reviewer sees them: sensitive parts hidden, unknown parts named, and
what changed between two values found leaf by leaf.

Terraform's plan JSON carries, next to ``before`` and ``after``, masks with the same shape:
``before_sensitive``/``after_sensitive`` (``true`` where a value is sensitive) and
``after_unknown`` (``true`` where a value is known only after apply). A mask is ``true`` or
``false`` for a whole value, or an object/array that marks parts of it. Every function here takes
the masks alongside the value, so no sensitive value can reach the rendered text.

Lists are compared by content, not by position: the elements of both sides are aligned (the
longest common subsequence), so one element added and one removed shows as exactly that, however
the others shift. Terraform writes a set's elements in one canonical order on both sides, so the
same alignment gives a set's added and removed elements exactly; in a list whose order matters, a
moved element shows as removed at its old index and added at its new one. An element replaced by
a similar one (an object with at least half of its attributes unchanged, such as a security group
rule whose port changed) is diffed attribute by attribute instead.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from snowplow_infra.plan_report import textdiff

SENSITIVE_TEXT = "(sensitive)"
UNKNOWN_TEXT = "(known after apply)"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Marker:
    """Stands in for a value that must not or cannot be shown."""

    text: str


SENSITIVE = Marker(SENSITIVE_TEXT)
UNKNOWN = Marker(UNKNOWN_TEXT)
ABSENT = Marker("(absent)")  # the side of an added or removed list element that has none


def mask_at(mask: Any, step: str | int) -> Any:
    """The part of a sensitivity/unknown mask that covers one step into the value."""
    if mask is True:
        return True
    if isinstance(mask, dict) and isinstance(step, str):
        return mask.get(step, False)
    if isinstance(mask, list) and isinstance(step, int) and 0 <= step < len(mask):
        return mask[step]
    return False


def redact(value: Any, sensitive: Any = False, unknown: Any = False) -> Any:
    """A copy of ``value``: sensitive parts replaced by SENSITIVE, unknown ones by UNKNOWN."""
    if sensitive is True:
        return SENSITIVE
    if unknown is True:
        return UNKNOWN
    if isinstance(value, dict):
        keys = list(value)
        if isinstance(unknown, dict):  # unknown attributes are absent from the value
            keys += [k for k, v in unknown.items() if v is True and k not in value]
        return {k: redact(value.get(k), mask_at(sensitive, k), mask_at(unknown, k)) for k in keys}
    if isinstance(value, list):
        length = max(len(value), len(unknown) if isinstance(unknown, list) else 0)
        return [
            redact(value[i] if i < len(value) else None, mask_at(sensitive, i), mask_at(unknown, i))
            for i in range(length)
        ]
    return value


def render(value: Any) -> str:
    """Compact JSON-like text of a redacted value; markers appear as their words, unquoted."""
    if isinstance(value, Marker):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def render_lines(value: Any) -> textdiff.Text:
    """A redacted structured value as indented JSON-like lines (markers as their words)."""
    text = json.dumps(_with_marker_words(value), indent=2, ensure_ascii=False)
    for marker in (SENSITIVE, UNKNOWN):
        text = text.replace(json.dumps(_marker_word(marker)), marker.text)
    return textdiff.Text(tuple(text.split("\n")))


def _marker_word(marker: Marker) -> str:
    return f"\0{marker.text}\0"


def _with_marker_words(value: Any) -> Any:
    if isinstance(value, Marker):
        return _marker_word(value)
    if isinstance(value, dict):
        return {k: _with_marker_words(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_marker_words(v) for v in value]
    return value


def format_path(path: Path) -> str:
    """``("versioning", 0, "enabled")`` → ``versioning[0].enabled``."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif text and step.isidentifier():
            text += f".{step}"
        elif text:
            text += f"[{json.dumps(step)}]"
        else:
            text = step
    return text


def policy_document(value: Any) -> dict[str, Any] | None:
    """The decoded document when ``value`` is a JSON policy string (an object with Statement)."""
    if not isinstance(value, str) or "Statement" not in value:
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    if isinstance(document, dict) and "Statement" in document:
        return document
    return None


@dataclass(frozen=True)
class AttributeChange:
    """One changed attribute: its path, before/after already redacted for display, and for a
    long string or structure the lines to show and their diff."""

    path: Path
    before: Any
    after: Any
    before_policy: dict[str, Any] | None = None
    after_policy: dict[str, Any] | None = None
    kind: str = "changed"  # "changed", or "added"/"removed" for a list element
    lines: tuple[str, ...] = ()  # unified diff of a value too long for a table cell
    note: str = ""  # how the lines were obtained, e.g. "base64-decoded"

    @property
    def is_policy(self) -> bool:
        return self.before_policy is not None or self.after_policy is not None


class _Masks(NamedTuple):
    before_sensitive: Any
    after_sensitive: Any
    after_unknown: Any

    def at(self, step: str | int) -> _Masks:
        return _Masks(*(mask_at(mask, step) for mask in self))

    def at_pair(self, before: int, after: int) -> _Masks:
        return _Masks(
            mask_at(self.before_sensitive, before),
            mask_at(self.after_sensitive, after),
            mask_at(self.after_unknown, after),
        )


def attribute_changes(
    before: Any, after: Any, before_sensitive: Any, after_sensitive: Any, after_unknown: Any
) -> list[AttributeChange]:
    """The leaves that differ between ``before`` and ``after``, deepest path that still differs."""
    masks = _Masks(before_sensitive, after_sensitive, after_unknown)
    return list(_walk((), before, after, masks))


def _walk(path: Path, before: Any, after: Any, masks: _Masks) -> Iterator[AttributeChange]:
    b_sens, a_sens, a_unknown = masks
    if before == after and b_sens == a_sens and not _has_true(a_unknown):
        return  # the common case, decided in C: an unchanged subtree
    if b_sens is True or a_sens is True:
        if a_unknown is True or before != after or b_sens != a_sens:
            yield AttributeChange(path, SENSITIVE, UNKNOWN if a_unknown is True else SENSITIVE)
        return
    if a_unknown is True:
        yield _leaf(path, redact(before, b_sens), UNKNOWN, before, None)
        return
    if isinstance(before, dict) and isinstance(after, dict):
        keys = list(before) + [k for k in after if k not in before]
        if isinstance(a_unknown, dict):
            keys += [k for k, v in a_unknown.items() if v is True and k not in keys]
        for key in keys:
            yield from _walk((*path, key), before.get(key), after.get(key), masks.at(key))
        return
    if isinstance(before, list) and isinstance(after, list):
        yield from _walk_list(path, before, after, masks)
        return
    if before != after or _has_true(a_unknown):
        yield _leaf(path, redact(before, b_sens), redact(after, a_sens, a_unknown), before, after)


def _walk_list(
    path: Path, before: list[Any], after: list[Any], masks: _Masks
) -> Iterator[AttributeChange]:
    """Align the two lists by element content and report what was added, removed or changed."""
    after_length = max(len(after), len(a) if isinstance(a := masks.after_unknown, list) else 0)
    after = after + [None] * (after_length - len(after))
    old = [_identity(v, mask_at(masks.before_sensitive, i), False) for i, v in enumerate(before)]
    new = [
        _identity(v, mask_at(masks.after_sensitive, i), mask_at(masks.after_unknown, i))
        for i, v in enumerate(after)
    ]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = _pairs(before[i1:i2], after[j1:j2]) if tag == "replace" else []
        paired_old = {i1 + k for k, _ in pairs}
        paired_new = {j1 + m for _, m in pairs}
        for k, m in pairs:
            i, j = i1 + k, j1 + m
            yield from _walk((*path, j), before[i], after[j], masks.at_pair(i, j))
        for i in range(i1, i2):
            if i not in paired_old:
                value = redact(before[i], mask_at(masks.before_sensitive, i))
                yield _leaf((*path, i), value, ABSENT, before[i], None, kind="removed")
        for j in range(j1, j2):
            if j not in paired_new:
                value = redact(
                    after[j], mask_at(masks.after_sensitive, j), mask_at(masks.after_unknown, j)
                )
                yield _leaf((*path, j), ABSENT, value, None, after[j], kind="added")


def _identity(value: Any, sensitive: Any, unknown: Any) -> str:
    """What makes two list elements the same element: value and masks (compared, never shown)."""
    return json.dumps([value, sensitive, unknown], sort_keys=True, separators=(",", ":"))


def _pairs(old: list[Any], new: list[Any]) -> list[tuple[int, int]]:
    """Elements of a replaced stretch that are the same element changed: objects one for one
    when both sides have as many, otherwise each object with a later one that keeps at least
    half of its leaf values."""
    if len(old) == len(new) and all(isinstance(v, dict) for v in (*old, *new)):
        return [(k, k) for k in range(len(old))]
    pairs: list[tuple[int, int]] = []
    start = 0
    for k, a in enumerate(old):
        for m in range(start, len(new)):
            if isinstance(a, dict) and isinstance(new[m], dict) and _similar(a, new[m]):
                pairs.append((k, m))
                start = m + 1
                break
    return pairs


def _similar(a: dict[str, Any], b: dict[str, Any]) -> bool:
    old, new = dict(_flat(a)), dict(_flat(b))
    keys = set(old) | set(new)
    return bool(keys) and 2 * sum(1 for key in keys if old.get(key) == new.get(key)) >= len(keys)


def _flat(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flat(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flat(item, f"{path}[{index}]")
    else:
        yield path, json.dumps(value)


def _leaf(
    path: Path, before: Any, after: Any, raw_before: Any, raw_after: Any, *, kind: str = "changed"
) -> AttributeChange:
    """An attribute change, with its line diff when a side is too long for a table cell."""
    before_policy, after_policy = policy_document(raw_before), policy_document(raw_after)
    lines: tuple[str, ...] = ()
    note = ""
    # A value that becomes unknown or is sensitive has no lines to compare.
    comparable = not any(v in (UNKNOWN, SENSITIVE) for v in (before, after))
    if before_policy is None and after_policy is None and comparable:
        old, new = block_text(before, path), block_text(after, path)
        if old is not None or new is not None:
            # The other side, even if short, is diffed as lines too.
            old = old or block_text(before, path, short=True)
            new = new or block_text(after, path, short=True)
            lines = tuple(textdiff.diff(old, new))
            note = (new or old).note  # type: ignore[union-attr]
    return AttributeChange(path, before, after, before_policy, after_policy, kind, lines, note)


def block_text(value: Any, path: Path = (), *, short: bool = False) -> textdiff.Text | None:
    """The lines to show for a redacted value too long for a table cell (any string or
    structure when ``short``), else None."""
    if isinstance(value, Marker) or value is None:
        return None
    name = str(path[-1]) if path else ""
    if isinstance(value, str):
        if short or textdiff.is_long(value) or textdiff.is_encoded_text(value, name):
            return textdiff.as_text(value, name)
        return None
    if isinstance(value, dict | list) and (short or len(render(value)) > textdiff.CELL_LIMIT):
        return render_lines(value)
    if short:
        return textdiff.Text((render(value),))
    return None


def _has_true(mask: Any) -> bool:
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(_has_true(v) for v in mask.values())
    if isinstance(mask, list):
        return any(_has_true(v) for v in mask)
    return False


def leaves(value: Any, sensitive: Any, unknown: Any) -> Iterator[tuple[Path, Any]]:
    """The attributes of one object (a created or deleted resource) as (path, redacted value):
    nested objects and lists flattened to their leaves, null and empty values left out, an
    unknown or sensitive part as its marker, a long string or a policy as one leaf."""

    def visit(path: Path, node: Any, sens: Any, unk: Any) -> Iterator[tuple[Path, Any]]:
        if sens is True:
            yield path, SENSITIVE
        elif unk is True:
            yield path, UNKNOWN
        elif isinstance(node, dict):
            keys = list(node)
            if isinstance(unk, dict):
                keys += [k for k, v in unk.items() if v is True and k not in node]
            for key in keys:
                yield from visit((*path, key), node.get(key), mask_at(sens, key), mask_at(unk, key))
        elif isinstance(node, list):
            length = max(len(node), len(unk) if isinstance(unk, list) else 0)
            for index in range(length):
                item = node[index] if index < len(node) else None
                yield from visit((*path, index), item, mask_at(sens, index), mask_at(unk, index))
        elif node is not None:
            yield path, node

    yield from visit((), value, sensitive, unknown)


def policy_documents(value: Any, sensitive: Any, unknown: Any) -> list[tuple[Path, dict[str, Any]]]:
    """Every known, non-sensitive JSON policy document inside a resource's value, with its path."""
    return [
        (path, document)
        for path, leaf in leaves(value, sensitive, unknown)
        if (document := policy_document(leaf)) is not None
    ]


def unknown_policy_attributes(unknown: Any) -> list[str]:
    """Top-level policy attributes (``policy``, ``assume_role_policy``) known only after apply."""
    if not isinstance(unknown, dict):
        return []
    return [k for k, v in unknown.items() if v is True and k in ("policy", "assume_role_policy")]
