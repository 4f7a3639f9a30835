"""Read and validate ``terraform show -json`` output of a saved plan.

Terraform 0.12 to 1.14 write ``format_version`` 0.1 to 1.2. Within a major version every change is
backward compatible, so this reader accepts any 0.x or 1.x and ignores properties it does not
know; it rejects another major version, a state file and anything else that is not a plan, with a
sentence that says what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPPORTED_MAJOR_VERSIONS = (0, 1)
_FORMAT_VERSION = re.compile(r"^(\d+)\.(\d+)$")
# A module step of a resource address: module.NAME, optionally followed by one instance key.
_MODULE_STEP = re.compile(r'module\.[A-Za-z0-9_-]+(?:\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?\.')


class PlanError(ValueError):
    """The input cannot be read, is not JSON, or is not a Terraform plan."""


@dataclass(frozen=True)
class ResourceChange:
    """One entry of ``resource_changes`` (or ``resource_drift``)."""

    address: str
    module_address: str
    mode: str
    type: str
    name: str
    actions: tuple[str, ...]
    before: Any
    after: Any
    after_unknown: Any
    before_sensitive: Any
    after_sensitive: Any
    replace_paths: tuple[tuple[str | int, ...], ...]
    action_reason: str | None
    deposed: str | None
    previous_address: str | None
    importing: bool

    @property
    def local_address(self) -> str:
        """The address inside its module, e.g. ``aws_s3_bucket.this``."""
        if self.module_address and self.address.startswith(self.module_address + "."):
            return self.address[len(self.module_address) + 1 :]
        return self.address

    @property
    def kind(self) -> str:
        """How a reviewer names the change: create, update, delete, replace, read, forget, no-op."""
        actions = set(self.actions)
        if "delete" in actions and "create" in actions:
            return "replace"
        if actions == {"create", "forget"}:
            return "replace"
        if len(self.actions) == 1:
            return self.actions[0]
        return "+".join(self.actions)

    @property
    def destroys(self) -> bool:
        """True when applying deletes the existing object (a delete or any kind of replace)."""
        return "delete" in self.actions


@dataclass(frozen=True)
class Plan:
    source: str
    format_version: str
    terraform_version: str
    resource_changes: tuple[ResourceChange, ...]
    resource_drift: tuple[ResourceChange, ...]
    complete: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def configures(self, change: ResourceChange, attribute: str) -> bool:
        """True when the configuration sets this top-level argument of the resource."""
        module = (self.raw.get("configuration") or {}).get("root_module") or {}
        for name in re.findall(r"module\.([A-Za-z0-9_-]+)", change.module_address):
            module = ((module.get("module_calls") or {}).get(name) or {}).get("module") or {}
        for resource in module.get("resources") or []:
            if (resource.get("mode"), resource.get("type"), resource.get("name")) == (
                change.mode,
                change.type,
                change.name,
            ):
                return attribute in (resource.get("expressions") or {})
        return False


def load_plan(path: Path) -> Plan:
    """Read a plan JSON file; raise PlanError with a sentence naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise PlanError(f"{path} does not exist.") from error
    except IsADirectoryError as error:
        raise PlanError(f"{path} is a directory, not a plan JSON file.") from error
    except UnicodeDecodeError as error:
        raise PlanError(f"{path} is not UTF-8 text, so it is not JSON: {error.reason}.") from error
    except OSError as error:
        raise PlanError(f"Cannot read {path}: {error.strerror}.") from error
    if not text.strip():
        raise PlanError(f"{path} is empty; expected the output of `terraform show -json PLANFILE`.")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanError(
            f"{path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from error
    return parse_plan(document, str(path))


def parse_plan(document: Any, source: str = "the input") -> Plan:
    """Validate a decoded ``terraform show -json`` document and return the plan it describes."""
    if not isinstance(document, dict):
        raise PlanError(
            f"{source} holds a JSON {_json_type(document)}, not a Terraform plan: "
            "`terraform show -json PLANFILE` writes an object."
        )
    format_version = _format_version(document, source)
    if "planned_values" not in document and "resource_changes" not in document:
        if "values" in document:
            raise PlanError(
                f"{source} is a Terraform state, not a plan: run `terraform show -json PLANFILE` "
                "on a plan saved with `terraform plan -out=PLANFILE`."
            )
        raise PlanError(
            f"{source} is not a Terraform plan: it has neither planned_values nor resource_changes."
        )
    if document.get("errored") is True:
        raise PlanError(
            f"{source} is an errored plan: Terraform stopped planning on an error, so the plan is "
            "incomplete. Fix the error and plan again."
        )
    terraform_version = document.get("terraform_version")
    return Plan(
        source=source,
        format_version=format_version,
        terraform_version=terraform_version if isinstance(terraform_version, str) else "unknown",
        resource_changes=_changes(document, "resource_changes", source),
        resource_drift=_changes(document, "resource_drift", source),
        complete=document.get("complete") is not False,
        raw=document,
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "object", list: "array", str: "string", bool: "boolean"}
    return names.get(type(value), "number")


def _format_version(document: Mapping[str, Any], source: str) -> str:
    version = document.get("format_version")
    if version is None:
        raise PlanError(
            f"{source} has no format_version, so it is not `terraform show -json` output; "
            "run `terraform show -json PLANFILE`."
        )
    match = _FORMAT_VERSION.match(version) if isinstance(version, str) else None
    if match is None:
        raise PlanError(
            f'{source} has format_version {json.dumps(version)}; expected a string like "1.2".'
        )
    if int(match.group(1)) not in SUPPORTED_MAJOR_VERSIONS:
        raise PlanError(
            f"{source} has format_version {version}, a major version this tool does not read "
            f"(it reads {' and '.join(f'{v}.x' for v in SUPPORTED_MAJOR_VERSIONS)}, "
            "written by Terraform 0.12 to 1.x)."
        )
    return version


def _changes(document: Mapping[str, Any], key: str, source: str) -> tuple[ResourceChange, ...]:
    entries = document.get(key)
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise PlanError(f"{source}: {key} is a JSON {_json_type(entries)}, expected an array.")
    return tuple(_change(entry, f"{key}[{i}]", source) for i, entry in enumerate(entries))


def _change(entry: Any, where: str, source: str) -> ResourceChange:
    if not isinstance(entry, dict):
        raise PlanError(f"{source}: {where} is a JSON {_json_type(entry)}, expected an object.")
    for key in ("type", "name"):
        if not isinstance(entry.get(key), str):
            raise PlanError(f"{source}: {where} has no {key} string.")
    module_address = entry.get("module_address")
    if not isinstance(module_address, str):
        module_address = ""
    address = entry.get("address")
    if not isinstance(address, str):
        # Terraform 1.0 wrote resource_drift entries without an address: rebuild it.
        address = ".".join(p for p in (module_address, entry["type"], entry["name"]) if p)
        if entry.get("mode") == "data":
            address = ".".join(p for p in (module_address, "data", entry["type"], entry["name"]))
        if "index" in entry:
            address += f"[{json.dumps(entry['index'])}]"
    if not module_address:
        module_address = module_of(address)
    label = f"{where} ({address})"
    change = entry.get("change")
    if not isinstance(change, dict):
        raise PlanError(f"{source}: {label} has no change object.")
    actions = change.get("actions")
    if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
        raise PlanError(
            f"{source}: {label} has change.actions {json.dumps(actions)}; "
            'expected a non-empty array of action names such as ["update"].'
        )
    return ResourceChange(
        address=address,
        module_address=module_address,
        mode=str(entry.get("mode", "managed")),
        type=entry["type"],
        name=entry["name"],
        actions=tuple(actions),
        before=change.get("before"),
        after=change.get("after"),
        after_unknown=change.get("after_unknown", False),
        before_sensitive=change.get("before_sensitive", False),
        after_sensitive=change.get("after_sensitive", False),
        replace_paths=_replace_paths(change.get("replace_paths"), label, source),
        action_reason=_optional_string(entry.get("action_reason")),
        deposed=_optional_string(entry.get("deposed")),
        previous_address=_optional_string(entry.get("previous_address")),
        importing=isinstance(change.get("importing"), dict),
    )


def _replace_paths(value: Any, label: str, source: str) -> tuple[tuple[str | int, ...], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(path, list) and all(isinstance(step, str | int) for step in path)
        for path in value
    ):
        raise PlanError(
            f"{source}: {label} has change.replace_paths {json.dumps(value)}; "
            "expected an array of paths, each an array of names and indexes."
        )
    return tuple(tuple(path) for path in value)


def _optional_string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def module_of(address: str) -> str:
    """The module part of a resource address: ``module.a["x"].module.b`` or "" for the root."""
    position = 0
    while match := _MODULE_STEP.match(address, position):
        position = match.end()
    return address[: position - 1] if position else ""
