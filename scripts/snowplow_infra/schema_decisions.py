"""The privacy decision for each property of each schema: schemas/decisions.toml.

Each ``[[decisions]]`` block names a schema (``vendor/name``, every version), an action, a reason
and property paths. ``covering_decision`` finds the decision of a property path (its own, or one
on a path above it that covers what is under it); ``allowlist_action`` says what the allowlist
actually does at a path, in the same words, so a test can compare the two.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from snowplow_infra.vendored_schemas import SCHEMAS_DIR

DECISIONS_FILE = SCHEMAS_DIR / "decisions.toml"
ACTIONS = ("keep", "keep_iglu", "hash", "hash-whole", "enriched_event")
#: Actions that decide everything under their path too.
COVERING = frozenset({"hash", "hash-whole", "enriched_event"})


class DecisionsError(RuntimeError):
    """The decisions file cannot be used as it is."""


@dataclass(frozen=True)
class Decision:
    schema: str  # vendor/name
    path: tuple[str, ...]
    action: str
    reason: str


def load_decisions(path: Path = DECISIONS_FILE) -> dict[str, dict[tuple[str, ...], Decision]]:
    """The decisions by schema (vendor/name) and path; every problem names the file and block."""
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise DecisionsError(f"Cannot read the decisions file {path}: {error}") from None
    blocks = document.get("decisions")
    if set(document) != {"decisions"} or not isinstance(blocks, list):
        raise DecisionsError(f"{path} must hold only [[decisions]] blocks.")
    decided: dict[str, dict[tuple[str, ...], Decision]] = {}
    for number, block in enumerate(blocks, start=1):
        where = f"{path}, [[decisions]] number {number}"
        _check_block(block, where)
        for text in block["paths"]:
            key = tuple(text.split("."))
            paths = decided.setdefault(block["schema"], {})
            if key in paths:
                raise DecisionsError(
                    f"{where}: {block['schema']} {text} is already decided "
                    f"({paths[key].action}); give each path one decision."
                )
            paths[key] = Decision(block["schema"], key, block["action"], block["reason"])
    return decided


def _check_block(block: Any, where: str) -> None:
    if not isinstance(block, dict) or set(block) != {"schema", "action", "reason", "paths"}:
        raise DecisionsError(f"{where} must have exactly schema, action, reason and paths.")
    schema, action, reason, paths = (block[k] for k in ("schema", "action", "reason", "paths"))
    if not isinstance(schema, str) or schema.count("/") != 1:
        raise DecisionsError(f"{where}: schema must be vendor/name.")
    if action not in ACTIONS:
        raise DecisionsError(f"{where}: action must be one of {', '.join(ACTIONS)}.")
    if not isinstance(reason, str) or len(reason.strip()) < 3:
        raise DecisionsError(f"{where}: give the reason of the decision in a word or a sentence.")
    if not isinstance(paths, list) or not paths:
        raise DecisionsError(f"{where}: paths must be a non-empty array.")
    for text in paths:
        if not isinstance(text, str) or any(not key for key in text.split(".")):
            raise DecisionsError(f"{where}: path {text!r} is not dot-separated keys.")


def covering_decision(
    decisions: Mapping[tuple[str, ...], Decision], path: tuple[str, ...]
) -> Decision | None:
    """The decision of ``path``: its own, else the nearest one above it that covers it."""
    own = decisions.get(path)
    if own is not None:
        return own
    for length in range(len(path) - 1, 0, -1):
        above = decisions.get(path[:length])
        if above is not None and above.action in COVERING:
            return above
    return None


class _Node(Protocol):
    keep: bool
    iglu: bool
    enriched: bool
    children: Mapping[str, _Node]


def allowlist_action(tree: _Node | None, path: tuple[str, ...], leaf: bool = False) -> str:
    """What the allowlist's path tree (``Allowlist.entity_paths``) does at ``path``.

    One of ACTIONS, or ``open`` for an object whose key stays and under which some path keeps
    a value (its keys are decided one by one). A key that stays with nothing kept under it is
    ``hash``: its value is hashed, and so are the keys under it that no path names. ``leaf``:
    the schema declares no properties under ``path`` (a scalar, an array of scalars, or a
    free-form value), so paths under it that other versions or types declare do not apply.
    """
    node = tree
    for key in path:
        if node is None or key not in node.children:
            return "hash-whole"
        node = node.children[key]
        if node.enriched:
            return "enriched_event"
        if not node.keep and not node.children:
            return "hash"
    assert node is not None
    if node.iglu:
        return "keep_iglu"
    if node.keep:
        return "keep"
    return "open" if not leaf and _keeps_something(node) else "hash"


def _keeps_something(node: _Node) -> bool:
    """Whether a path under ``node`` keeps a value in clear (so it is not simply hashed)."""
    return any(child.keep or _keeps_something(child) for child in node.children.values())
