"""Shared helpers of the project's checkov checks (this file defines no check).

Two facts shape every check here (docs/plan-review.md, "Policies", explains them):

* On ``terraform/`` (framework ``terraform``) checkov renders module variables and locals itself,
  and not reliably: it evaluates ``var.x != null`` wrongly, so a value computed in a module can
  look like a constant and be wrong. The checks judge there only what is written in the resource
  (required blocks and settings, literal values); a value that is an expression is left to the
  plan.
* In the plan JSON (framework ``terraform_plan``) Terraform has evaluated everything, except
  values known only after apply (the ARN of a resource created in the same plan); ``is_unknown``
  recognizes how checkov shows those. Checks that need other resources (a bucket's encryption
  configuration, a function's log group) read them from the same plan file with ``PlanIndex``.

Project names (the pseudonymization functions, the S3 prefixes Snowflake reads) come from the
environments' pipeline.yaml, the single source of truth; ``SNOWPLOW_PIPELINE_YAML`` (paths joined
by the OS path separator) replaces the default of every terraform/environments/*/pipeline.yaml.
Each file is validated against its JSON Schema by the tooling's own reader,
scripts/snowplow_infra/pipeline_schema.py (loaded by path: checkov's virtualenv does not install
the project), so a file the tooling refuses is a problem here too, with the same message.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
PIPELINE_SCHEMA_MODULE = REPO_ROOT / "scripts" / "snowplow_infra" / "pipeline_schema.py"
PIPELINE_VARIABLE = "SNOWPLOW_PIPELINE_YAML"
AFTER_UNKNOWN = "true_after_unknown"  # checkov's stand-in for unknown plan values
MISSING = object()

_REFERENCE = re.compile(
    r"^(?:var|local|module|data|each|count|path|self)\.|^[a-z][a-z0-9]*_[a-z0-9_]+\.[A-Za-z_][\w-]*"
)
_LAMBDA_ARN = re.compile(r"^arn:[\w-]+:lambda:[\w-]*:\d*:function:([A-Za-z0-9_-]+)(?::[\w$-]+)?$")
_MODULE_STEP = re.compile(r'module\.([A-Za-z0-9_-]+)(?:\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?\.')
_INSTANCE_KEY = re.compile(r'\[(?:"(?:[^"\\]|\\.)*"|\d+)\]$')
_VARIABLE_REFERENCE = re.compile(r"^var\.([\w-]+)")
_OUTPUT_REFERENCE = re.compile(r"^module\.([\w-]+)(?:\[[^\]]*\])?\.([\w-]+)")
_FUNCTION_REFERENCE = re.compile(r"^aws_lambda_function\.([\w-]+)")


# --- reading checkov's resource configuration ------------------------------------------------


def is_plan(conf: dict[str, Any]) -> bool:
    """True when checkov took this resource from a plan JSON, not from .tf files."""
    return "__change_actions__" in conf or _plan_file(conf) is not None


def _plan_file(conf: dict[str, Any]) -> str | None:
    value = conf.get("__file__")
    if isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, str) and value.endswith(".json") else None


def scalar(conf: dict[str, Any] | None, key: str) -> Any:
    """The single value of an attribute (checkov wraps values in lists), or MISSING."""
    if not isinstance(conf, dict) or key not in conf:
        return MISSING
    value = conf[key]
    while isinstance(value, list):
        if not value:
            return None
        if len(value) > 1:
            return value
        value = value[0]
    return value


def blocks(conf: dict[str, Any] | None, key: str) -> list[dict[str, Any]]:
    """The nested blocks named ``key`` (empty when absent)."""
    if not isinstance(conf, dict):
        return []
    value = conf.get(key)
    found: list[dict[str, Any]] = []
    pending = [value]
    while pending:
        item = pending.pop(0)
        if isinstance(item, dict):
            found.append(item)
        elif isinstance(item, list):
            pending = list(item) + pending
    return found


def is_unknown(value: Any) -> bool:
    """A plan value known only after apply.

    checkov leaves it out, writes its marker (EVAL_TF_PLAN_AFTER_UNKNOWN), or, when the
    configuration refers to another resource of the same module, writes that reference
    (``aws_lambda_function.this.arn``) in its place.
    """
    return value is MISSING or value == AFTER_UNKNOWN or is_expression(value)


def is_expression(value: Any) -> bool:
    """An HCL value checkov left unevaluated: a reference or an interpolation."""
    return isinstance(value, str) and ("${" in value or bool(_REFERENCE.match(value)))


def lambda_function_name(arn: Any) -> str | None:
    """``my-fn`` for ``arn:aws:lambda:us-east-1:123456789012:function:my-fn[:qualifier]``."""
    match = _LAMBDA_ARN.match(arn) if isinstance(arn, str) else None
    return match.group(1) if match else None


# --- project names from pipeline.yaml --------------------------------------------------------


@dataclass(frozen=True)
class PipelineNames:
    sources: tuple[str, ...]
    pseudonymization_functions: frozenset[str]
    read_prefixes: frozenset[str]
    problems: tuple[str, ...] = field(default=())


_pipeline_cache: dict[tuple[str, ...], PipelineNames] = {}


def pipeline_files() -> list[Path]:
    explicit = os.environ.get(PIPELINE_VARIABLE)
    if explicit:
        return [Path(p) for p in explicit.split(os.pathsep) if p]
    return sorted((REPO_ROOT / "terraform" / "environments").glob("*/pipeline.yaml"))


@functools.cache
def pipeline_schema() -> ModuleType:
    """scripts/snowplow_infra/pipeline_schema.py: pipeline.yaml's reader and schema validator."""
    spec = importlib.util.spec_from_file_location(
        "snowplow_pipeline_schema", PIPELINE_SCHEMA_MODULE
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {PIPELINE_SCHEMA_MODULE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def pipeline_names() -> PipelineNames:
    """Pseudonymization function names and Snowflake's read prefixes from every pipeline.yaml."""
    files = tuple(str(p) for p in pipeline_files())
    if files not in _pipeline_cache:
        functions: set[str] = set()
        prefixes: set[str] = set()
        problems: list[str] = []
        if not files:
            problems.append(f"no pipeline.yaml found (set {PIPELINE_VARIABLE})")
        reader = pipeline_schema()
        for name in files:
            try:
                document = reader.read(Path(name), name)
            except reader.PipelineError as error:
                problems.append(str(error))
                continue
            functions.update(document["pseudonymization"]["functions"].values())
            prefixes.update(delivery["prefix"] for delivery in document["delivery"].values())
        _pipeline_cache[files] = PipelineNames(
            files, frozenset(functions), frozenset(prefixes), tuple(problems)
        )
    return _pipeline_cache[files]


# --- the plan file behind a plan resource ----------------------------------------------------


def module_of(address: str) -> str:
    """``module.a["x"].module.b`` for ``module.a["x"].module.b.aws_s3_bucket.this[0]``."""
    position = 0
    while match := _MODULE_STEP.match(address, position):
        position = match.end()
    return address[: position - 1] if position else ""


def module_path(module_address: str) -> tuple[str, ...]:
    """Module call names without instance keys: ``("a", "b")`` for ``module.a["x"].module.b``."""
    return tuple(m.group(1) for m in _MODULE_STEP.finditer(module_address + "."))


def split_key(local_address: str) -> tuple[str, str | None]:
    """``("aws_s3_bucket.this", '"a"')`` for ``aws_s3_bucket.this["a"]``."""
    match = _INSTANCE_KEY.search(local_address)
    if match is None:
        return local_address, None
    return local_address[: match.start()], match.group(0)[1:-1]


@dataclass(frozen=True)
class PlannedResource:
    address: str
    type: str
    module: str  # module instance address, "" for the root
    local: str  # address inside the module, with instance key
    values: dict[str, Any]
    unknown: Any  # after_unknown

    def value(self, key: str) -> Any:
        """A top-level attribute: MISSING when unknown until apply."""
        if isinstance(self.unknown, dict) and self.unknown.get(key) is True:
            return MISSING
        return self.values.get(key, MISSING)


class PlanIndex:
    """Resources and configuration of one plan JSON file, for checks that look across resources."""

    _cache: dict[str, tuple[float, PlanIndex]] = {}  # noqa: RUF012 (a process-wide cache)

    def __init__(self, document: dict[str, Any]) -> None:
        self.resources: dict[str, PlannedResource] = {}
        for change in document.get("resource_changes") or []:
            actions = set((change.get("change") or {}).get("actions") or [])
            after = (change.get("change") or {}).get("after")
            # Only objects that exist after apply: created, updated, replaced or unchanged.
            if change.get("mode") != "managed" or not actions & {"create", "update", "no-op"}:
                continue
            address = change["address"]
            module = change.get("module_address") or module_of(address)
            self.resources[address] = PlannedResource(
                address=address,
                type=change["type"],
                module=module,
                local=address[len(module) + 1 :] if module else address,
                values=after if isinstance(after, dict) else {},
                unknown=(change.get("change") or {}).get("after_unknown") or {},
            )
        self.configuration = (document.get("configuration") or {}).get("root_module") or {}

    @classmethod
    def for_resource(cls, conf: dict[str, Any]) -> PlanIndex | None:
        """The index of the plan file a plan resource came from (cached per file)."""
        path = _plan_file(conf)
        if path is None:
            return None
        modified = os.stat(path).st_mtime
        cached = cls._cache.get(path)
        if cached is None or cached[0] != modified:
            with open(path, encoding="utf-8") as handle:
                cached = (modified, cls(json.load(handle)))
            cls._cache[path] = cached
        return cached[1]

    def of_type(self, resource_type: str) -> Iterator[PlannedResource]:
        return (r for r in self.resources.values() if r.type == resource_type)

    # -- configuration ---------------------------------------------------------------------

    def module_config(self, path: tuple[str, ...]) -> dict[str, Any]:
        module = self.configuration
        for name in path:
            module = ((module.get("module_calls") or {}).get(name) or {}).get("module") or {}
        return module

    def resource_config(self, resource: PlannedResource) -> dict[str, Any]:
        base, _ = split_key(resource.local)
        resource_type, _, name = base.partition(".")
        for candidate in self.module_config(module_path(resource.module)).get("resources") or []:
            if candidate.get("mode", "managed") == "managed" and (
                candidate.get("type"),
                candidate.get("name"),
            ) == (resource_type, name):
                return candidate
        return {}

    def references(self, resource: PlannedResource, *steps: str | int) -> list[str] | None:
        """The references of an argument in the resource's configuration; None when not found."""
        node: Any = self.resource_config(resource).get("expressions") or {}
        for step in steps:
            if isinstance(step, int):
                node = node[step] if isinstance(node, list) and step < len(node) else None
            else:
                node = node.get(step) if isinstance(node, dict) else None
        if not isinstance(node, dict) or "references" not in node:
            return None
        return [str(r) for r in node["references"]]

    # -- companions: resources that configure another one (aws_s3_bucket_policy → bucket) -----

    def companions(
        self, target: PlannedResource, companion_type: str, argument: str, target_name: Any
    ) -> list[PlannedResource]:
        """Resources of ``companion_type`` whose ``argument`` names ``target``.

        A companion names its target when its argument's value equals ``target_name`` (plans of an
        existing stack), or when, in the same module instance, its configuration refers to the
        target resource (creates, where the value is known only after apply).
        """
        target_base, target_key = split_key(target.local)
        found = []
        for candidate in self.of_type(companion_type):
            value = candidate.value(argument)
            if target_name is not MISSING and value == target_name:
                found.append(candidate)
                continue
            if candidate.module != target.module or value is not MISSING:
                continue
            references = self.references(candidate, argument) or []
            if not any(r == target_base or r.startswith(target_base + ".") for r in references):
                continue
            _, candidate_key = split_key(candidate.local)
            if target_key is None or candidate_key is None or candidate_key == target_key:
                found.append(candidate)
        return found

    # -- following references to the Lambda functions an argument may name -----------------

    def lambda_functions(
        self, resource: PlannedResource, *steps: str | int
    ) -> tuple[set[str], list[str]] | None:
        """Function names an argument can refer to, by following its references.

        Returns (function names, the chain of references followed), or None when a reference
        cannot be followed (a local value, a dynamic block, an unsupported resource).
        """
        references = self.references(resource, *steps)
        if references is None:
            return None
        names: set[str] = set()
        chain: list[str] = []
        ok = self._follow(module_path(resource.module), references, names, chain, depth=0)
        return (names, chain) if ok and names else None

    def _follow(
        self,
        path: tuple[str, ...],
        references: Iterable[str],
        names: set[str],
        chain: list[str],
        depth: int,
    ) -> bool:
        """Add the function names ``references`` (in module ``path``) lead to; False if stuck."""
        if depth > 20:
            return False
        followed = False
        for reference in _most_specific(references):
            if reference.split(".")[0] in ("each", "count", "path", "self", "terraform"):
                continue
            chain.append("".join(f"module.{name}." for name in path) + reference)
            variable = _VARIABLE_REFERENCE.match(reference)
            output = _OUTPUT_REFERENCE.match(reference)
            function = _FUNCTION_REFERENCE.match(reference)
            if variable and path:
                call = (self.module_config(path[:-1]).get("module_calls") or {}).get(path[-1]) or {}
                expression = (call.get("expressions") or {}).get(variable.group(1)) or {}
                next_path, next_references = path[:-1], expression.get("references")
            elif output:
                child = (*path, output.group(1))
                outputs = self.module_config(child).get("outputs") or {}
                expression = (outputs.get(output.group(2)) or {}).get("expression") or {}
                next_path, next_references = child, expression.get("references")
            elif function:
                found = [
                    r.values.get("function_name")
                    for r in self.of_type("aws_lambda_function")
                    if module_path(r.module) == path
                    and split_key(r.local)[0] == f"aws_lambda_function.{function.group(1)}"
                ]
                if not found or not all(isinstance(n, str) for n in found):
                    return False
                names.update(found)
                followed = True
                continue
            else:
                return False  # a local value, a root variable, a data source, another resource
            if next_references is None or not self._follow(
                next_path, next_references, names, chain, depth + 1
            ):
                return False
            followed = True
        return followed


def _most_specific(references: Iterable[str]) -> list[str]:
    """Drop a reference that only prefixes a longer one (``module.x`` next to ``module.x.out``)."""
    unique = list(dict.fromkeys(references))
    return [r for r in unique if not any(o != r and o.startswith(r + ".") for o in unique)]
