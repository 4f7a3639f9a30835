"""``pipeline.yaml`` checked against its JSON Schema, ``pipeline.schema.json`` next to this file.

``read(path, shown)`` parses the file (a key given twice is an error, not silently the last),
validates it with the ``jsonschema`` package and then with the few rules across keys that JSON
Schema cannot express, and returns the document. Every problem is a sentence that names the file
and the dotted key: ``pipeline.yaml: key `collector.buffer.record_limit` must be an integer
between 1 and 500, not 501.`` All problems found are reported at once, one per line.

Two points where the validator is stricter than jsonschema's defaults, so that the schema means
what it says: a pattern's final ``$`` is the end of the text (ECMA-262, as JSON Schema defines
it; Python's ``$`` also matches before a final newline), and an integer is an int (jsonschema
also accepts 5.0).

This module uses only the standard library, PyYAML and jsonschema, and imports nothing else of
the project: the checkov policies load it by its path in checkov's own virtualenv
(policies/snowplow_policy_support.py), so the tooling and the policies accept the same files.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators

SCHEMA_FILE = Path(__file__).with_name("pipeline.schema.json")
# Listed in one message at most; the rest are counted.
MAX_PROBLEMS = 20

Path_ = Sequence[str | int]
Problems = list[tuple[Path_, str]]


class PipelineError(ValueError):
    """The values file is missing, unreadable or invalid. The message names the file and key."""


@functools.cache
def schema() -> Mapping[str, Any]:
    """The JSON Schema of pipeline.yaml."""
    document: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return document


def read(path: Path, shown: str) -> dict[str, Any]:
    """The values file's document, valid against the schema and the cross-key rules; raise
    PipelineError naming ``shown`` (how messages name the file) and the keys at fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PipelineError(f"{shown}: cannot read the values file ({error.strerror}).") from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        raise PipelineError(f"{shown}: not valid YAML: {_yaml_problem(error)}") from None
    problems = list(_non_string_keys(document, []))
    if not problems:
        problems = [p for error in _validator().iter_errors(document) for p in _problems(error)]
    if not problems:
        problems = list(_cross_key_problems(document))
    if problems:
        # dict: jsonschema reports each missing key of a mapping as its own error
        lines = list(dict.fromkeys(_sentence(shown, path, problem) for path, problem in problems))
        more = len(lines) - MAX_PROBLEMS
        shown_lines = lines[:MAX_PROBLEMS] + ([f"{shown}: and {more} more."] if more > 0 else [])
        raise PipelineError("\n".join(shown_lines))
    assert isinstance(document, dict)  # the schema's root type
    return document


def dotted(path: Path_) -> str:
    """``enrich.enrichments[4]`` for ``["enrich", "enrichments", 4]``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _sentence(shown: str, path: Path_, problem: str) -> str:
    where = f"key `{dotted(path)}`" if path else "the document"
    return f"{shown}: {where} {problem}."


# --- parsing ----------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool | None):
                continue  # an unhashable key: SafeLoader's own check reports it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})."
    return f"{error}."


def _non_string_keys(value: Any, path: list[str | int]) -> Iterator[tuple[Path_, str]]:
    """Keys YAML read as something else than text (``1:``, ``yes:``, ``~:``): JSON has none."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield from _non_string_keys(item, [*path, key])
            else:
                yield path, f"has the non-string key {key!r}; quote it"
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_string_keys(item, [*path, index])


# --- the schema's verdicts as sentences -------------------------------------------------------


def _pattern(
    validator: Any, pattern: str, instance: Any, _schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``pattern`` with ECMA-262's ``$``: the end of the text, not also before a final newline."""
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _is_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def _validator() -> Any:
    base: Any = Draft202012Validator
    extend: Any = validators.extend  # untyped in types-jsonschema
    strict = extend(
        base,
        validators={"pattern": _pattern},
        type_checker=base.TYPE_CHECKER.redefine("integer", _is_integer),
    )
    return strict(schema())


def resolved(subschema: Mapping[str, Any]) -> Mapping[str, Any]:
    """A subschema with its local ``$ref`` (``#/$defs/name``) followed."""
    reference = subschema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        return resolved(schema()["$defs"][reference.removeprefix("#/$defs/")])
    return subschema


def _kind(subschema: Mapping[str, Any]) -> str:
    """What a subschema's ``type`` asks for, in words."""
    subschema = resolved(subschema)
    types = subschema.get("type", [])
    names = []
    for name in [types] if isinstance(types, str) else types:
        if name == "string":
            names.append("a non-empty string" if subschema.get("minLength") else "a string")
        elif name == "array":
            items = resolved(subschema.get("items", {}))
            names.append("a list of strings" if items.get("type") == "string" else "a list")
        else:
            words = {"object": "a mapping", "integer": "an integer", "boolean": "true or false"}
            names.append(words.get(name, name))
    return " or ".join(names)


def describe(value: object) -> str:
    """How a message names a value it did not expect."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else f"the boolean {str(value).lower()}"
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        ((int, float), "the number {}"),
        (str, "the string {!r}"),
        (datetime.date, "the date {} (quote it to make it a string)"),
        (list, "a list"),
        (dict, "a mapping"),
    )
    for kind, text in kinds:
        if isinstance(value, kind):
            return text.format(value)
    return type(value).__name__


def _problems(error: ValidationError) -> Problems:
    """One validation error as (path, problem) pairs; jsonschema's own message for a keyword
    the schema does not use."""
    path = list(error.absolute_path)
    value: Any = error.instance
    rule: Any = error.validator_value
    subschema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "anyOf":  # [null, X]: what X asks for
        nullable = {i for i, branch in enumerate(rule) if branch == {"type": "null"}}
        context = [e for e in error.context or [] if e.relative_schema_path[0] not in nullable]
        found = [problem for inner in context for problem in _problems(inner)]
    else:
        sentences = _SENTENCES.get(str(error.validator))
        found = sentences(Verdict(path, value, rule, subschema)) if sentences else []
    return found or [(path, error.message)]


@dataclass(frozen=True)
class Verdict:
    """What one schema keyword found wrong: where, the value, the keyword's rule, its schema."""

    path: list[str | int]
    value: Any
    rule: Any
    schema: Mapping[str, Any]


def _missing(v: Verdict) -> Problems:
    return [([*v.path, key], "is missing") for key in v.rule if key not in v.value]


def _unknown(v: Verdict) -> Problems:
    allowed = list(v.schema.get("properties", {}))
    unknown = sorted(str(key) for key in v.value if key not in allowed)
    keys = ", ".join(repr(key) for key in unknown)
    noun = "key" if len(unknown) == 1 else "keys"
    rest = f"allowed: {', '.join(allowed)}" if allowed else "it takes no keys"
    return [(v.path, f"has the unknown {noun} {keys}; {rest}")]


def _wrong_type(v: Verdict) -> Problems:
    return [(v.path, f"must be {_kind(v.schema)}, not {describe(v.value)}")]


def _mismatch(v: Verdict) -> Problems:
    wanted = v.schema.get("description") or f"text matching {v.rule!r}"
    return [(v.path, f"must be {wanted}, not {v.value!r}")]


def _out_of_range(v: Verdict) -> Problems:
    low, high = v.schema.get("minimum"), v.schema.get("maximum")
    bounds = f"between {low} and {high}" if high is not None else f">= {low}"
    return [(v.path, f"must be an integer {bounds}, not {v.value}")]


def _not_offered(v: Verdict) -> Problems:
    shown = repr(v.value) if isinstance(v.value, str) else describe(v.value)
    return [(v.path, f"must be one of {', '.join(map(str, v.rule))}, not {shown}")]


def _repeated(v: Verdict) -> Problems:
    index = next(i for i, item in enumerate(v.value) if item in v.value[:i])
    return [([*v.path, index], f"lists {v.value[index]!r} a second time")]


_SENTENCES: Mapping[str, Callable[[Verdict], Problems]] = {
    "required": _missing,
    "additionalProperties": _unknown,
    "type": _wrong_type,
    "minLength": _wrong_type,
    "pattern": _mismatch,
    "minimum": _out_of_range,
    "maximum": _out_of_range,
    "enum": _not_offered,
    "uniqueItems": _repeated,
}


# --- rules across keys that JSON Schema cannot express ----------------------------------------


def _cross_key_problems(document: Mapping[str, Any]) -> Iterator[tuple[Path_, str]]:
    streams, delivery = document["streams"], document["delivery"]
    functions = document["pseudonymization"]["functions"]
    yield from _repeated_names(["streams"], {r: s["name"] for r, s in streams.items()})
    yield from _repeated_names(["pseudonymization", "functions"], functions)
    yield from _repeated_names(["delivery"], {r: d["name"] for r, d in delivery.items()})
    yield from _repeated_names(["buckets"], document["buckets"])
    for role, stream in delivery.items():
        if stream["source"] not in streams:
            roles = ", ".join(streams)
            problem = f"must name a stream role ({roles}), not {stream['source']!r}"
            yield ["delivery", role, "source"], problem
        if stream["record_format"] not in functions:
            formats = ", ".join(functions)
            problem = f"must be one of {formats}, not {stream['record_format']!r}"
            yield ["delivery", role, "record_format"], problem
    yield from _enrichment_problems(document)


def _repeated_names(path: list[str | int], names: Mapping[str, str]) -> Iterator[tuple[Path_, str]]:
    seen: dict[str, str] = {}
    for role, name in names.items():
        if name in seen:
            yield [*path, role], f"repeats the name {name!r} of `{dotted([*path, seen[name]])}`"
        seen.setdefault(name, role)


def _enrichment_problems(document: Mapping[str, Any]) -> Iterator[tuple[Path_, str]]:
    """Settings only for listed enrichments, and a listed enrichment without settings checked as
    if it gave an empty mapping (so a required setting is reported missing)."""
    enrich = document["enrich"]
    listed = enrich["enrichments"]
    settings = enrich.get("enrichment_settings") or {}
    for name in settings:
        if name not in listed:
            problem = f"configures {name!r}, which `enrich.enrichments` does not list"
            yield ["enrich", "enrichment_settings", name], problem
    implied: dict[str, Any] = {name: {} for name in listed if name not in settings}
    if implied:
        completed = {**enrich, "enrichment_settings": {**settings, **implied}}
        for error in _validator().iter_errors({**document, "enrich": completed}):
            yield from _problems(error)
