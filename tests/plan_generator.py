"""Large plans made from the structure of a real one, for tests and the review benchmark.

Committing a plan of thousands of changes would add megabytes that say nothing a small real plan
does not. Instead ``scaled_plan`` copies the resources of a real public plan
(tests/fixtures/plans/checkov_runner_plan.tfplan.json: 55 resources of 39 AWS types, with IAM
policies, security groups, buckets, a database) into module instances until the plan has the
number of changes asked for, and turns a share of the creates into the other kinds a real change
has: updates (a tag, a policy statement, a line of a long string), replaces, deletes, moves and
no-ops. ``planned_values``, ``prior_state`` and ``configuration`` grow with it, as Terraform's do.
Everything is deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

BASE_PLAN = (
    Path(__file__).resolve().parent / "fixtures" / "plans" / "checkov_runner_plan.tfplan.json"
)
# Out of every 20 changes: 11 creates, 4 updates, 2 replaces, 1 delete, 1 move, 1 no-op.
PATTERN = (
    "create",
    "update",
    "create",
    "replace",
    "create",
    "update",
    "create",
    "delete",
    "create",
    "update",
    "create",
    "move",
    "create",
    "replace",
    "create",
    "update",
    "create",
    "no-op",
    "create",
    "create",
)
LONG_TEXT_LINES = 60


def base_plan() -> dict[str, Any]:
    return dict(json.loads(BASE_PLAN.read_text(encoding="utf-8")))


def scaled_plan(changes: int, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A plan with ``changes`` resource changes built from ``base``'s resources."""
    base = base or base_plan()
    templates = [c for c in base["resource_changes"] if c["change"]["actions"] == ["create"]]
    resource_changes: list[dict[str, Any]] = []
    planned: list[dict[str, Any]] = []
    prior: list[dict[str, Any]] = []
    for index in range(changes):
        template = templates[index % len(templates)]
        copy_number = index // len(templates)
        kind = PATTERN[index % len(PATTERN)]
        entry = _instance(template, copy_number, kind, index)
        resource_changes.append(entry)
        values = entry["change"]["after"] if entry["change"]["after"] is not None else {}
        state = {k: entry[k] for k in ("address", "mode", "type", "name", "provider_name")}
        planned.append({**state, "values": values})
        if entry["change"]["before"] is not None:
            prior.append({**state, "values": entry["change"]["before"]})
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "variables": base.get("variables", {}),
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": resource_changes,
        "output_changes": base.get("output_changes", {}),
        "prior_state": {"format_version": "1.0", "values": {"root_module": {"resources": prior}}},
        "configuration": base.get("configuration", {}),
        "timestamp": "2025-01-01T00:00:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    return plan


def _instance(template: dict[str, Any], copy_number: int, kind: str, index: int) -> dict[str, Any]:
    entry = copy.deepcopy(template)
    module = f'module.scale["{copy_number}"]'
    entry["address"] = f"{module}.{template['address']}"
    entry["module_address"] = module
    change = entry["change"]
    after = change["after"] or {}
    unknown = change.get("after_unknown") or {}
    # The object as it exists: what was unknown at create has a value now.
    existing = {**after, **{k: f"{k}-{index}" for k, v in unknown.items() if v is True}}
    change.setdefault("before_sensitive", False)
    change.setdefault("after_sensitive", {})
    if kind == "create":
        return entry
    change["before"] = existing
    change["before_sensitive"] = {}
    if kind in ("no-op", "move"):
        change.update(actions=["no-op"], after=copy.deepcopy(existing), after_unknown={})
        if kind == "move":
            entry["previous_address"] = f'module.old["{copy_number}"].{template["address"]}'
        return entry
    if kind == "delete":
        change.update(actions=["delete"], after=None, after_unknown=False, after_sensitive=False)
        entry["action_reason"] = "delete_because_no_resource_config"
        return entry
    changed = _changed(existing, index)
    if kind == "update":
        change.update(actions=["update"], after=changed, after_unknown={})
        return entry
    # replace: the identifying attribute changes, and the new object's computed ones are unknown
    name_key = next((k for k in ("name", "bucket", "identifier") if k in after), None)
    if name_key is not None:
        changed[name_key] = f"{after[name_key]}-v2"
    change.update(
        actions=["delete", "create"],
        after={k: v for k, v in changed.items() if unknown.get(k) is not True},
        after_unknown=unknown,
        replace_paths=[[name_key]] if name_key else [],
    )
    entry["action_reason"] = "replace_because_cannot_update"
    return entry


def _changed(existing: dict[str, Any], index: int) -> dict[str, Any]:
    """The object after an edit a real change makes: a tag, a policy statement, a long text."""
    changed = copy.deepcopy(existing)
    tags = changed.get("tags")
    if isinstance(tags, dict):
        changed["tags"] = {**tags, "Owner": f"team-{index % 7}"}
    for key, value in existing.items():
        if isinstance(value, str) and '"Statement"' in value:
            document = json.loads(value)
            statements = document.get("Statement")
            if isinstance(statements, list) and statements:
                statements[0] = {**statements[0], "Resource": f"arn:aws:s3:::bucket-{index}/*"}
            changed[key] = json.dumps(document)
    existing["description"] = _long_text(index, edited=False)
    changed["description"] = _long_text(index, edited=True)
    return changed


def _long_text(index: int, *, edited: bool) -> str:
    """A script-like text of LONG_TEXT_LINES lines; the edit is on line 40."""
    lines = [f"echo 'step {n} of resource {index}'" for n in range(1, LONG_TEXT_LINES + 1)]
    if edited:
        lines[39] = f"echo 'step 40 of resource {index}, edited'"
    return "\n".join(lines)


def write(plan: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(plan, indent=2), encoding="utf-8")
    return path
