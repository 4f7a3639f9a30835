"""Read and validate ``terraform show -json`` output of a saved plan.

Terraform 0.12 to 1.14 write ``format_version`` 0.1 to 1.2. Within a major version every change is
backward compatible, so this reader accepts any 0.x or 1.x and ignores properties it does not
know; it rejects another major version, a state file and anything else that is not a plan, with a
sentence that says what is wrong.

A file is read as a stream (``jsonstream``): ``planned_values``, ``prior_state`` and the other
parts a review does not need are skipped without being decoded, and each entry of
``resource_changes`` is handed to ``keep`` as soon as it is read, so a caller that keeps only what
it shows (``review``) holds one entry's values at a time. The text may be UTF-8, UTF-8 with a byte
order mark (PowerShell 5's ``Out-File -Encoding utf8``) or UTF-16/UTF-32 (PowerShell's ``>``);
a binary saved plan is answered with the ``terraform show -json`` command that makes its JSON.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from snowplow_infra.plan_report.jsonstream import JSONStreamError, ObjectStream

SUPPORTED_MAJOR_VERSIONS = (0, 1)
_FORMAT_VERSION = re.compile(r"^(\d+)\.(\d+)$")
# A module step of a resource address: module.NAME, optionally followed by one instance key.
_MODULE_STEP = re.compile(r'module\.[A-Za-z0-9_-]+(?:\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?\.')
# A saved plan file (`terraform plan -out`) is a zip archive.
_ZIP_MAGIC = b"PK\x03\x04"
_BYTE_ORDER_MARKS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 LE with a byte order mark"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 BE with a byte order mark"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with a byte order mark"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE with a byte order mark"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE with a byte order mark"),
)
POLICY_ATTRIBUTES = ("policy", "assume_role_policy")


class PlanError(ValueError):
    """The input cannot be read, is not JSON, or is not a Terraform plan."""


@dataclass(frozen=True)
class Importing:
    """``change.importing``: the resource is imported by this plan."""

    id: str | None
    identity: Any = None
    unknown: bool = False


@dataclass(frozen=True)
class ResourceChange:
    """One entry of ``resource_changes`` (or ``resource_drift``, or a deferred change)."""

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
    importing: Importing | None
    where: str = ""  # e.g. "resource_changes[3]": names the entry in messages and reviews

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

    def without_values(self) -> ResourceChange:
        """The same change without its attribute values (what a review keeps once it has
        rendered them)."""
        return ResourceChange(
            **{
                **self.__dict__,
                "before": None,
                "after": None,
                "after_unknown": False,
                "before_sensitive": False,
                "after_sensitive": False,
            }
        )


@dataclass(frozen=True)
class OutputChange:
    """One entry of ``output_changes``."""

    name: str
    actions: tuple[str, ...]
    before: Any
    after: Any
    after_unknown: Any
    before_sensitive: Any
    after_sensitive: Any

    @property
    def kind(self) -> str:
        return "+".join(self.actions)


@dataclass(frozen=True)
class ActionInvocation:
    """One entry of ``action_invocations`` (Terraform 1.14 actions)."""

    address: str
    type: str
    config_values: Any
    config_sensitive: Any
    config_unknown: Any
    trigger: str  # how it is triggered, in words


@dataclass(frozen=True)
class DeferredChange:
    """One entry of ``deferred_changes``: a change Terraform could not plan yet."""

    reason: str
    change: ResourceChange


@dataclass(frozen=True)
class Plan:
    source: str
    format_version: str
    terraform_version: str
    resource_changes: tuple[ResourceChange, ...]
    resource_drift: tuple[ResourceChange, ...]
    output_changes: tuple[OutputChange, ...] = ()
    action_invocations: tuple[ActionInvocation, ...] = ()
    deferred_changes: tuple[DeferredChange, ...] = ()
    complete: bool = True
    encoding: str = "UTF-8"
    # (module call names, mode, type, name, attribute) of every configured policy argument.
    configured_policies: frozenset[tuple[tuple[str, ...], str, str, str, str]] = field(
        default_factory=frozenset, repr=False
    )

    def configures(self, change: ResourceChange, attribute: str) -> bool:
        """True when the configuration sets this policy argument (``POLICY_ATTRIBUTES``)."""
        calls = tuple(re.findall(r"module\.([A-Za-z0-9_-]+)", change.module_address))
        key = (calls, change.mode, change.type, change.name, attribute)
        return key in self.configured_policies

    @property
    def moves(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.resource_changes if c.previous_address)

    @property
    def imports(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.resource_changes if c.importing is not None)

    @property
    def changed_outputs(self) -> tuple[OutputChange, ...]:
        return tuple(o for o in self.output_changes if o.kind != "no-op")

    @property
    def has_changes(self) -> bool:
        """False only when nothing at all would happen or was found: no resource action, move,
        import, output change, action invocation, deferred change or drift."""
        return bool(
            any(c.kind != "no-op" for c in self.resource_changes)
            or self.moves
            or self.imports
            or self.changed_outputs
            or self.action_invocations
            or self.deferred_changes
            or self.resource_drift
        )


Keep = Callable[[ResourceChange], ResourceChange]


def _keep_all(change: ResourceChange) -> ResourceChange:
    return change


def load_plan(path: Path, keep: Keep = _keep_all) -> Plan:
    """Read a plan JSON file; raise PlanError with a sentence naming the file and the problem.

    ``keep`` receives every resource change (and drift entry) as it is read and returns what the
    plan holds of it, e.g. ``ResourceChange.without_values`` once its values are rendered."""
    with _open_text(path) as (text, encoding):
        stream = ObjectStream(text)
        try:
            if stream.at_end():
                raise PlanError(
                    f"{path} is empty; expected the output of `terraform show -json PLANFILE`."
                )
            kind = stream.kind()
            if kind != "object":
                raise PlanError(
                    f"{path} holds a JSON {kind}, not a Terraform plan: "
                    "`terraform show -json PLANFILE` writes an object."
                )
            return _Builder(str(path), keep, encoding).read(stream)
        except JSONStreamError as error:
            raise PlanError(
                f"{path} is not valid JSON: {error.reason} at line {error.line}, "
                f"column {error.column}."
            ) from error
        except UnicodeDecodeError as error:
            raise PlanError(
                f"{path} is not {encoding} text ({error.reason}), so it is not the JSON of a "
                "plan. If it is a saved plan file, run "
                f"`terraform show -json {path} > {path}.json` where it was planned and review "
                "that file."
            ) from error


@contextmanager
def _open_text(path: Path) -> Iterator[tuple[TextIO, str]]:
    """The file as text in the encoding its first bytes show, and that encoding's name."""
    try:
        handle = path.open("rb")
    except FileNotFoundError as error:
        raise PlanError(f"{path} does not exist.") from error
    except IsADirectoryError as error:
        raise PlanError(f"{path} is a directory, not a plan JSON file.") from error
    except OSError as error:
        raise PlanError(f"Cannot read {path}: {error.strerror}.") from error
    with handle:
        head = handle.read(4)
        if head.startswith(_ZIP_MAGIC):
            raise PlanError(
                f"{path} is a saved plan file (the binary `terraform plan -out` writes), not its "
                f"JSON. Run `terraform show -json {path} > {path}.json` in the folder where it "
                "was planned, and review that file."
            )
        codec, name = _encoding(head)
        handle.seek(0)
        yield io.TextIOWrapper(handle, encoding=codec, errors="strict", newline=""), name


def _encoding(head: bytes) -> tuple[str, str]:
    """(codec, name in words) from the first four bytes: a byte order mark, or the pattern of
    zero bytes that UTF-16/32 JSON without one shows (RFC 4627, section 3); else UTF-8."""
    for mark, codec, name in _BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return codec, name
    if len(head) == 4:
        if head[:3] == b"\0\0\0":
            return "utf-32-be", "UTF-32 BE"
        if head[1:] == b"\0\0\0":
            return "utf-32-le", "UTF-32 LE"
        if head[0] == 0 and head[2] == 0:
            return "utf-16-be", "UTF-16 BE"
        if head[1] == 0 and head[3] == 0:
            return "utf-16-le", "UTF-16 LE"
    return "utf-8", "UTF-8"


def parse_plan(document: Any, source: str = "the input", keep: Keep = _keep_all) -> Plan:
    """Validate a decoded ``terraform show -json`` document and return the plan it describes."""
    if not isinstance(document, dict):
        raise PlanError(
            f"{source} holds a JSON {_json_type(document)}, not a Terraform plan: "
            "`terraform show -json PLANFILE` writes an object."
        )
    return _Builder(source, keep, "UTF-8").read(_DocumentSource(document))


class _Source(Protocol):
    """What the builder reads a plan from: a stream, or a document already decoded."""

    def names(self) -> Iterator[str]: ...
    def kind(self) -> str: ...
    def value(self) -> Any: ...
    def elements(self) -> Iterator[Any]: ...
    def members(self) -> Iterator[tuple[str, Any]]: ...


class _DocumentSource:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self._document = document
        self._key = ""

    def names(self) -> Iterator[str]:
        for key in self._document:
            self._key = key
            yield key

    def kind(self) -> str:
        return _json_type(self._document[self._key])

    def value(self) -> Any:
        return self._document[self._key]

    def elements(self) -> Iterator[Any]:
        return iter(self._document[self._key])

    def members(self) -> Iterator[tuple[str, Any]]:
        return iter(self._document[self._key].items())


class _Builder:
    """Collects a plan from its top-level members, in whatever order they come."""

    def __init__(self, source: str, keep: Keep, encoding: str) -> None:
        self.source = source
        self.keep = keep
        self.encoding = encoding
        self.scalars: dict[str, Any] = {}
        self.present: set[str] = set()
        self.changes: dict[str, tuple[ResourceChange, ...]] = {}
        self.outputs: tuple[OutputChange, ...] = ()
        self.actions: tuple[ActionInvocation, ...] = ()
        self.deferred: tuple[DeferredChange, ...] = ()
        self.configured: frozenset[tuple[tuple[str, ...], str, str, str, str]] = frozenset()

    def read(self, source: _Source) -> Plan:
        for key in source.names():
            self.present.add(key)
            if key in ("resource_changes", "resource_drift"):
                self.changes[key] = tuple(self._array(source, key, self._resource_change))
            elif key == "output_changes":
                self.outputs = tuple(self._outputs(source))
            elif key == "action_invocations":
                self.actions = tuple(self._array(source, key, self._action))
            elif key == "deferred_changes":
                self.deferred = tuple(self._array(source, key, self._deferred))
            elif key == "configuration":
                configuration = source.value()
                self.configured = _configured_policies(configuration)
            elif key in ("format_version", "terraform_version", "complete", "errored"):
                self.scalars[key] = source.value()
            # Anything else (planned_values, prior_state, variables, ...) is skipped.
        return self._plan()

    def _plan(self) -> Plan:
        format_version = _format_version(self.scalars, self.present, self.source)
        if "planned_values" not in self.present and "resource_changes" not in self.present:
            if "values" in self.present:
                raise PlanError(
                    f"{self.source} is a Terraform state, not a plan: run `terraform show -json "
                    "PLANFILE` on a plan saved with `terraform plan -out=PLANFILE`."
                )
            raise PlanError(
                f"{self.source} is not a Terraform plan: it has neither planned_values nor "
                "resource_changes."
            )
        if self.scalars.get("errored") is True:
            raise PlanError(
                f"{self.source} is an errored plan: Terraform stopped planning on an error, so "
                "the plan is incomplete. Fix the error and plan again."
            )
        terraform_version = self.scalars.get("terraform_version")
        return Plan(
            source=self.source,
            format_version=format_version,
            terraform_version=terraform_version
            if isinstance(terraform_version, str)
            else "unknown",
            resource_changes=self.changes.get("resource_changes", ()),
            resource_drift=self.changes.get("resource_drift", ()),
            output_changes=self.outputs,
            action_invocations=self.actions,
            deferred_changes=self.deferred,
            complete=self.scalars.get("complete") is not False,
            encoding=self.encoding,
            configured_policies=self.configured,
        )

    def _array(self, source: _Source, key: str, read: Callable[[Any, str], Any]) -> Iterator[Any]:
        kind = source.kind()
        if kind == "null":
            source.value()
            return
        if kind != "array":
            raise PlanError(f"{self.source}: {key} is a JSON {kind}, expected an array.")
        for index, entry in enumerate(source.elements()):
            yield read(entry, f"{key}[{index}]")

    def _resource_change(self, entry: Any, where: str) -> ResourceChange:
        return self.keep(_change(entry, where, self.source))

    def _outputs(self, source: _Source) -> Iterator[OutputChange]:
        kind = source.kind()
        if kind == "null":
            source.value()
            return
        if kind != "object":
            raise PlanError(f"{self.source}: output_changes is a JSON {kind}, expected an object.")
        for name, change in source.members():
            label = f"output_changes.{name}"
            if not isinstance(change, dict):
                raise PlanError(
                    f"{self.source}: {label} is a JSON {_json_type(change)}, expected an object."
                )
            yield OutputChange(
                name=name,
                actions=_actions(change.get("actions"), label, self.source),
                before=change.get("before"),
                after=change.get("after"),
                after_unknown=change.get("after_unknown", False),
                before_sensitive=change.get("before_sensitive", False),
                after_sensitive=change.get("after_sensitive", False),
            )

    def _action(self, entry: Any, where: str) -> ActionInvocation:
        if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
            raise PlanError(f"{self.source}: {where} is not an action invocation with an address.")
        return ActionInvocation(
            address=entry["address"],
            type=str(entry.get("type", "")),
            config_values=entry.get("config_values"),
            config_sensitive=entry.get("config_sensitive", False),
            config_unknown=entry.get("config_unknown", False),
            trigger=_trigger(entry),
        )

    def _deferred(self, entry: Any, where: str) -> DeferredChange:
        if not isinstance(entry, dict):
            raise PlanError(f"{self.source}: {where} is a JSON {_json_type(entry)}.")
        change = _change(entry.get("resource_change"), f"{where}.resource_change", self.source)
        return DeferredChange(str(entry.get("reason", "unknown")), self.keep(change))


def _trigger(entry: Mapping[str, Any]) -> str:
    lifecycle = entry.get("lifecycle_action_trigger")
    if isinstance(lifecycle, dict):
        event = str(lifecycle.get("action_trigger_event", "an event")).replace("_", " ")
        resource = lifecycle.get("triggering_resource_address", "a resource")
        return f"{event.lower()} of `{resource}`"
    if "invoke_action_trigger" in entry:
        return "invoked from the command line (`terraform apply -invoke`)"
    return "unknown trigger"


def _configured_policies(
    configuration: Any,
) -> frozenset[tuple[tuple[str, ...], str, str, str, str]]:
    found: set[tuple[tuple[str, ...], str, str, str, str]] = set()

    def visit(module: Any, calls: tuple[str, ...]) -> None:
        if not isinstance(module, dict):
            return
        for resource in module.get("resources") or []:
            if not isinstance(resource, dict):
                continue
            expressions = resource.get("expressions") or {}
            for attribute in POLICY_ATTRIBUTES:
                if attribute in expressions:
                    key = (resource.get("mode"), resource.get("type"), resource.get("name"))
                    found.add((calls, *map(str, key), attribute))  # type: ignore[arg-type]
        for name, call in (module.get("module_calls") or {}).items():
            if isinstance(call, dict):
                visit(call.get("module"), (*calls, name))

    if isinstance(configuration, dict):
        visit(configuration.get("root_module"), ())
    return frozenset(found)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "object", list: "array", str: "string", bool: "boolean"}
    return names.get(type(value), "number")


def _format_version(scalars: Mapping[str, Any], present: set[str], source: str) -> str:
    version = scalars.get("format_version")
    if "format_version" not in present or version is None:
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
    return str(version)


def _actions(actions: Any, label: str, source: str) -> tuple[str, ...]:
    if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
        raise PlanError(
            f"{source}: {label} has change.actions {json.dumps(actions)}; "
            'expected a non-empty array of action names such as ["update"].'
        )
    return tuple(actions)


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
    importing = change.get("importing")
    return ResourceChange(
        address=address,
        module_address=module_address,
        mode=str(entry.get("mode", "managed")),
        type=entry["type"],
        name=entry["name"],
        actions=_actions(change.get("actions"), label, source),
        before=change.get("before"),
        after=change.get("after"),
        after_unknown=change.get("after_unknown", False),
        before_sensitive=change.get("before_sensitive", False),
        after_sensitive=change.get("after_sensitive", False),
        replace_paths=_replace_paths(change.get("replace_paths"), label, source),
        action_reason=_optional_string(entry.get("action_reason")),
        deposed=_optional_string(entry.get("deposed")),
        previous_address=_optional_string(entry.get("previous_address")),
        importing=Importing(
            _optional_string(importing.get("id")),
            importing.get("identity"),
            importing.get("unknown") is True,
        )
        if isinstance(importing, dict)
        else None,
        where=where,
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
