"""``snowplow-infra allowlist-diff BASE HEAD``: what a change of the allowlist makes clear text.

BASE and HEAD are allowlist files, or git revisions (then the allowlist is
``lambda/pseudonymization/allowlist.toml`` at that revision). Both are loaded with the Lambda's
own ``allowlist.py``. The effect is compared field by field (every atomic field of the enriched
event) and path by path (every path either allowlist names, for every vendored schema version
and for one version matching each schema pattern either allowlist has), and printed as Markdown
for the merge request:

- becomes clear text: a value that was hashed (or kept only as an Iglu URI) is now kept;
- becomes hashed: a value that was kept is now hashed;
- changes form: a key that becomes clear or hashed, an enriched event, an Iglu-only value.

Exit status: 0 when nothing becomes clear text, 3 when something does (CI then requires the
privacy approval), 2 when an input cannot be read or is not a valid allowlist.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from snowplow_infra.paths import LAMBDA_SOURCE_DIR, REPO_ROOT
from snowplow_infra.vendored_schemas import vendored_schemas

ALLOWLIST_PATH = "lambda/pseudonymization/allowlist.toml"
EXIT_NOTHING_CLEAR = 0
EXIT_INVALID = 2
EXIT_BECOMES_CLEAR = 3

#: How much of a value stays in clear under each action, for ordering changes.
_CLEAR_VALUE = {"keep": 2, "keep_iglu": 1}


class AllowlistInputError(RuntimeError):
    """An input is neither a readable allowlist file nor a git revision holding one."""


@dataclass(frozen=True)
class Change:
    scope: str  # "atomic field" or a schema URI
    path: str
    base: str
    head: str

    @property
    def kind(self) -> str:
        before, after = _CLEAR_VALUE.get(self.base, 0), _CLEAR_VALUE.get(self.head, 0)
        if after > before:
            return "clear"
        if after < before:
            return "hashed"
        return "form"


def _lambda_module(name: str) -> ModuleType:
    if str(LAMBDA_SOURCE_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_SOURCE_DIR))
    return importlib.import_module(name)


def load(spec: str, repo: Path = REPO_ROOT) -> Any:
    """The allowlist of a file, or of ALLOWLIST_PATH at a git revision."""
    allowlist = _lambda_module("allowlist")
    errors = _lambda_module("errors")
    path = Path(spec)
    if path.is_file():
        try:
            return allowlist.load_allowlist(path)
        except errors.ConfigurationError as error:
            raise AllowlistInputError(str(error)) from None
    result = subprocess.run(
        ["git", "-C", str(repo), "show", f"{spec}:{ALLOWLIST_PATH}"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise AllowlistInputError(
            f"{spec!r} is neither an allowlist file nor a git revision of {repo} that holds "
            f"{ALLOWLIST_PATH}."
        )
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / "allowlist.toml"
        copy.write_bytes(result.stdout)
        try:
            return allowlist.load_allowlist(copy)
        except errors.ConfigurationError as error:
            message = str(error).replace(str(copy), f"{spec}:{ALLOWLIST_PATH}")
            raise AllowlistInputError(message) from None


def _representative(pattern: Any) -> str:
    """One schema URI that a pattern matches (``*`` versions become 0)."""
    version = "-".join("0" if part is None else str(part) for part in pattern.version)
    return f"iglu:{pattern.vendor}/{pattern.name or 'any-name'}/jsonschema/{version}"


def _paths(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    for key, child in node.children.items():
        path = (*prefix, key)
        if child.enriched:
            action = "enriched_event"
        elif child.iglu:
            action = "keep_iglu"
        elif child.keep:
            action = "keep"
        else:
            action = "hash"  # the key stays; a value there is hashed
        yield ".".join(path), action
        yield from _paths(child, path)


def _flatten(allowlist: Any, uri: str) -> dict[str, str]:
    tree = allowlist.resolve(uri)
    return {} if tree is None else dict(_paths(tree))


def diff(base: Any, head: Any) -> list[Change]:
    """Every field and path whose treatment differs, atomic fields first."""
    fields = _lambda_module("event_fields")
    changes = []
    for name in fields.FIELD_NAMES:
        if name in fields.JSON_FIELDS:
            continue
        before = "keep" if name in base.keep_fields else "hash"
        after = "keep" if name in head.keep_fields else "hash"
        if before != after:
            changes.append(Change("atomic field", name, before, after))
    uris = {schema.uri for schema in vendored_schemas()}
    uris.update(_representative(rule.pattern) for rule in (*base.entities, *head.entities))
    for uri in sorted(uris):
        before_paths, after_paths = _flatten(base, uri), _flatten(head, uri)
        for path in sorted(before_paths.keys() | after_paths.keys()):
            before = before_paths.get(path, "hash-whole")
            after = after_paths.get(path, "hash-whole")
            if before != after:
                changes.append(Change(uri, path, before, after))
    return changes


_SECTIONS = (
    ("clear", "Becomes clear text (needs the privacy approval)"),
    ("hashed", "Becomes hashed"),
    ("form", "Changes form"),
)


def markdown(changes: list[Change], base: str, head: str) -> str:
    lines = [f"## Allowlist changes: `{base}` → `{head}`", ""]
    if not changes:
        return "\n".join([*lines, "No field or path changes how it is pseudonymized.", ""])
    counts = ", ".join(
        f"{sum(1 for c in changes if c.kind == kind)} {title.split(' (')[0].lower()}"
        for kind, title in _SECTIONS
    )
    lines += [counts + ".", ""]
    for kind, title in _SECTIONS:
        rows = [change for change in changes if change.kind == kind]
        if not rows:
            continue
        lines += [f"### {title}", "", "| where | field or path | before | after |"]
        lines += ["| --- | --- | --- | --- |"]
        lines += [f"| `{c.scope}` | `{c.path}` | {c.base} | {c.head} |" for c in rows]
        lines.append("")
    return "\n".join(lines)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "allowlist-diff",
        help="list what becomes clear text, hashed or changes form between two allowlists",
        description=(
            "Compare two allowlists (files, or git revisions of "
            f"{ALLOWLIST_PATH}) and print the changes as Markdown. Exit 0 when nothing becomes "
            "clear text, 3 when something does, 2 on unreadable input."
        ),
    )
    parser.add_argument("base", metavar="BASE", help="allowlist file or git revision")
    parser.add_argument("head", metavar="HEAD", help="allowlist file or git revision")
    parser.add_argument("--output", type=Path, help="also write the Markdown to this file")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        base, head = load(args.base), load(args.head)
    except AllowlistInputError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    changes = diff(base, head)
    text = markdown(changes, args.base, args.head)
    print(text, end="")
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    clear = any(change.kind == "clear" for change in changes)
    return EXIT_BECOMES_CLEAR if clear else EXIT_NOTHING_CLEAR
