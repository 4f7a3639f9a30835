"""Attribute values as a reviewer sees them: sensitive parts hidden, unknown parts named.

Terraform's plan JSON carries, next to ``before`` and ``after``, masks with the same shape:
``before_sensitive``/``after_sensitive`` (``true`` where a value is sensitive) and
``after_unknown`` (``true`` where a value is known only after apply). A mask is ``true`` or
``false`` for a whole value, or an object/array that marks parts of it. Every function here takes
the masks alongside the value, so no sensitive value can reach the rendered text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

SENSITIVE_TEXT = "(sensitive)"
UNKNOWN_TEXT = "(known after apply)"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Marker:
    """Stands in for a value that must not or cannot be shown."""

    text: str


SENSITIVE = Marker(SENSITIVE_TEXT)
UNKNOWN = Marker(UNKNOWN_TEXT)


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
        return [
            redact(item, mask_at(sensitive, i), mask_at(unknown, i)) for i, item in enumerate(value)
        ]
    return value


def render(value: Any, limit: int | None = None) -> str:
    """Compact JSON-like text of a redacted value; markers appear as their words, unquoted."""
    text = _render(value)
    if limit is not None and len(text) > limit:
        return text[: max(limit - 1, 1)] + "…"
    return text


def _render(value: Any) -> str:
    if isinstance(value, Marker):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


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
    """One changed attribute: its path, and before/after already redacted for display."""

    path: Path
    before: Any
    after: Any
    before_policy: dict[str, Any] | None = None
    after_policy: dict[str, Any] | None = None

    @property
    def is_policy(self) -> bool:
        return self.before_policy is not None or self.after_policy is not None


class _Masks(NamedTuple):
    before_sensitive: Any
    after_sensitive: Any
    after_unknown: Any

    def at(self, step: str | int) -> _Masks:
        return _Masks(*(mask_at(mask, step) for mask in self))


def attribute_changes(
    before: Any, after: Any, before_sensitive: Any, after_sensitive: Any, after_unknown: Any
) -> list[AttributeChange]:
    """The leaves that differ between ``before`` and ``after``, deepest path that still differs."""
    masks = _Masks(before_sensitive, after_sensitive, after_unknown)
    return list(_walk((), before, after, masks))


def _walk(path: Path, before: Any, after: Any, masks: _Masks) -> Iterator[AttributeChange]:
    b_sens, a_sens, a_unknown = masks
    if b_sens is True or a_sens is True:
        if a_unknown is True or before != after or b_sens != a_sens:
            yield AttributeChange(path, SENSITIVE, UNKNOWN if a_unknown is True else SENSITIVE)
        return
    if a_unknown is True:
        yield AttributeChange(path, redact(before, b_sens), UNKNOWN, policy_document(before))
        return
    if isinstance(before, dict) and isinstance(after, dict):
        keys = list(before) + [k for k in after if k not in before]
        if isinstance(a_unknown, dict):
            keys += [k for k, v in a_unknown.items() if v is True and k not in keys]
        for key in keys:
            yield from _walk((*path, key), before.get(key), after.get(key), masks.at(key))
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _walk((*path, index), old, new, masks.at(index))
        return
    if before != after or _has_true(a_unknown):
        yield AttributeChange(
            path,
            redact(before, b_sens),
            redact(after, a_sens, a_unknown),
            policy_document(before),
            policy_document(after),
        )


def _has_true(mask: Any) -> bool:
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(_has_true(v) for v in mask.values())
    if isinstance(mask, list):
        return any(_has_true(v) for v in mask)
    return False


def policy_documents(value: Any, sensitive: Any, unknown: Any) -> list[tuple[Path, dict[str, Any]]]:
    """Every known, non-sensitive JSON policy document inside a resource's value, with its path."""
    found: list[tuple[Path, dict[str, Any]]] = []

    def visit(path: Path, node: Any, sens: Any, unk: Any) -> None:
        if sens is True or unk is True:
            return
        if isinstance(node, dict):
            for key, child in node.items():
                visit((*path, key), child, mask_at(sens, key), mask_at(unk, key))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                visit((*path, index), child, mask_at(sens, index), mask_at(unk, index))
        elif (document := policy_document(node)) is not None:
            found.append((path, document))

    visit((), value, sensitive, unknown)
    return found


def unknown_policy_attributes(unknown: Any) -> list[str]:
    """Top-level policy attributes (``policy``, ``assume_role_policy``) known only after apply."""
    if not isinstance(unknown, dict):
        return []
    return [k for k, v in unknown.items() if v is True and k in ("policy", "assume_role_policy")]
