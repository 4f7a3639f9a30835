"""Property-based attacks (hypothesis): generated personal values planted at every structural
position (keys, schema strings, nested look-alike entities, arrays of objects, deeply nested
free-form objects, bad-row messages and targets, the wrappers themselves). None survives in an Ok
output, and every output is strict JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

from allowlist import load_allowlist
from bad_rows import bad_rows_transform
from enriched import enriched_transform
from event_fields import FIELD_NAMES
from firehose import transform_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pseudonym import Pseudonymizer

from snowplow_infra.sample_events import enriched_line

from .conftest import SALT

ALLOWLIST = load_allowlist()
MARK = "@planted.example"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
UNSTRUCT = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
UA_PARSER = "iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0"
WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
GITLAB = "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-7"
FAILURE = "iglu:com.snowplowanalytics.snowplow/failure/jsonschema/1-0-0"
BAD_ROW_TYPES = (
    "schema_violations/jsonschema/2-0-0",
    "schema_violations/jsonschema/1-0-0",
    "enrichment_failures/jsonschema/2-0-1",
    "enrichment_failures/jsonschema/1-0-0",
    "adapter_failures/jsonschema/1-0-0",
    "tracker_protocol_violations/jsonschema/1-0-1",
    "collector_payload_format_violation/jsonschema/1-0-0",
    "size_violation/jsonschema/1-0-0",
    "generic_error/jsonschema/1-0-0",
    "loader_parsing_error/jsonschema/2-0-0",
    "loader_iglu_error/jsonschema/2-0-1",
)
BAD_ROW_SCHEMAS = [f"iglu:com.snowplowanalytics.snowplow.badrows/{kind}" for kind in BAD_ROW_TYPES]
# Keys that the allowlist names somewhere: a look-alike uses them to try to reach a kept path.
LOOKALIKE_KEYS = (
    "schema", "data", "useragentFamily", "osFamily", "id", "environment", "plan", "extra",
    "message", "targets", "path", "value", "field", "expectation", "failureType", "payload",
    "raw", "enriched", "parameters", "name", "app_id", "user_id", "errors",
)  # fmt: skip
KNOWN_SCHEMAS = [UA_PARSER, WEB_PAGE, GITLAB, FAILURE, *BAD_ROW_SCHEMAS]

planted = st.from_regex(r"[a-z0-9._%+-]{1,12}", fullmatch=True).map(lambda local: local + MARK)
keys = planted | st.sampled_from(LOOKALIKE_KEYS)
# Keys that no known entity keeps a scalar under, at the top of its data.
KEPT_AT_TOP = {"useragentFamily", "osFamily", "id", "environment", "plan", "failureType"}
unkept_keys = planted | st.sampled_from([k for k in LOOKALIKE_KEYS if k not in KEPT_AT_TOP])
schema_strings = (
    st.sampled_from(KNOWN_SCHEMAS)
    | planted.map(lambda value: "iglu:" + value)
    | planted.map(lambda value: UA_PARSER + "/../" + value)
    | planted.map(lambda value: f"iglu:com.acme/{value}/jsonschema/1-0-0")
    | st.builds(lambda value, n: "iglu:" + "a" * n + value, planted, st.integers(200, 5000))
)
leaves = (
    planted
    | st.integers()
    | st.floats()  # NaN and infinities too: json.dumps writes them as NaN, Infinity
    | st.booleans()
    | st.none()
)


def _lookalike(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An object shaped like an entity, its data filled at the allowlisted keys."""
    return st.fixed_dictionaries(
        {"schema": schema_strings, "data": st.dictionaries(keys, children, max_size=4)}
    )


hostile = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(keys, children, max_size=4)
        | _lookalike(children)
    ),
    max_leaves=25,
)


def _nest(depth: int, value: Any) -> Any:
    for level in range(depth):
        value = {f"level{level}": [value]} if level % 2 else {"extra": value}
    return value


deep = st.builds(_nest, st.integers(1, 80), hostile)
# A hostile object: what may sit where the allowlist keeps a scalar (an object there is hashed).
hostile_object = (
    st.dictionaries(keys, hostile | deep, min_size=1, max_size=4) | _lookalike(hostile) | deep
)


@st.composite
def known_entities(draw: st.DrawFn) -> dict[str, Any]:
    """An entity at an entity position, of a schema the allowlist knows or not, or malformed."""
    kind = draw(st.sampled_from(("gitlab", "ua", "failure", "unknown", "bad_schema")))
    extra = draw(st.dictionaries(unkept_keys, hostile | deep, max_size=3))
    if kind == "gitlab":
        data = {
            **extra,  # first: the allowlisted keys below hold what they hold
            "environment": draw(st.sampled_from(("production", draw(hostile_object)))),
            "extra": draw(hostile | deep),
            "user_id": draw(hostile),
        }
        return {"schema": GITLAB, "data": data}
    if kind == "ua":
        return {"schema": UA_PARSER, "data": {**extra, "useragentFamily": draw(hostile_object)}}
    if kind == "failure":
        data = {
            **extra,
            "failureType": "ValidationError",
            "schema": "iglu:" + draw(planted),
            "errors": draw(st.lists(hostile_object, max_size=3)),
            "data": draw(hostile_object),
        }
        return {"schema": FAILURE, "data": data}
    if kind == "unknown":
        return {"schema": "iglu:com.acme/thing/jsonschema/1-0-0", "data": draw(hostile)}
    return {"schema": draw(schema_strings.filter(lambda s: MARK in s)), "data": draw(hostile)}


@st.composite
def contexts_fields(draw: st.DrawFn) -> str:
    entities = draw(st.lists(known_entities(), max_size=4))
    wrapper: dict[str, Any] = {"schema": draw(st.sampled_from((CONTEXTS, "iglu:" + draw(planted))))}
    wrapper["data"] = entities
    wrapper.update(draw(st.dictionaries(planted, hostile, max_size=2)))
    return json.dumps(wrapper)


@st.composite
def unstruct_fields(draw: st.DrawFn) -> str:
    entity = draw(known_entities() | hostile)
    return json.dumps({"schema": UNSTRUCT, "data": entity})


@st.composite
def bad_row_records(draw: st.DrawFn) -> str:
    schema = draw(st.sampled_from(BAD_ROW_SCHEMAS) | planted.map(lambda value: "iglu:" + value))
    report = {
        "message": draw(hostile),
        "path": draw(planted),
        "keyword": "format",
        "targets": draw(st.lists(planted | hostile, min_size=1, max_size=3)),
    }
    message = {
        "schemaKey": draw(schema_strings.filter(lambda s: MARK in s)),
        "error": {"error": "ValidationError", "dataReports": [report]},
        "field": draw(planted),
        "value": draw(hostile),
        "expectation": draw(planted),
        "message": {"field": draw(planted), "value": draw(hostile), "expectation": draw(planted)},
        **draw(st.dictionaries(keys, hostile, max_size=2)),
    }
    failure = {
        "timestamp": draw(st.sampled_from(("2024-10-17T09:31:07.442Z", draw(hostile_object)))),
        "messages": [message],
        "message": {"value": draw(hostile), "expectation": draw(planted)},
        "errors": draw(st.lists(hostile, max_size=2)),
        "expectation": draw(planted),
    }
    row = {
        "schema": schema,
        "data": {
            "processor": {"artifact": "snowplow-enrich-kinesis", "version": draw(hostile_object)},
            "failure": failure,
            "payload": draw(hostile | deep),
            **draw(st.dictionaries(planted, hostile, max_size=2)),
        },
    }
    if draw(st.booleans()):
        row["data"]["payload"] = {"enriched": draw(hostile_object), "raw": draw(hostile_object)}
    return json.dumps(row) + draw(st.sampled_from(("", "\n", "\r\n")))


def _ok_outputs(datas: list[str], transform: Any) -> list[str]:
    records = [
        {"recordId": str(n), "data": base64.b64encode(d.encode()).decode()}
        for n, d in enumerate(datas)
    ]
    batch = transform_records(records, transform)
    assert [r["result"] for r in batch.records] == ["Ok"] * len(datas)
    return [base64.b64decode(r["data"]).decode("utf-8") for r in batch.records]


def _strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@SETTINGS
@given(
    contexts=contexts_fields(),
    derived=contexts_fields(),
    unstruct=unstruct_fields(),
    crlf=st.booleans(),
)
def test_no_planted_value_survives_in_enriched_events(
    contexts: str, derived: str, unstruct: str, crlf: bool
) -> None:
    line = enriched_line(
        {"contexts": contexts, "derived_contexts": derived, "unstruct_event": unstruct}
    )
    if crlf:
        line = line.removesuffix("\n") + "\r\n"
    (output,) = _ok_outputs([line], enriched_transform(ALLOWLIST, Pseudonymizer(SALT)))
    assert "planted" not in output
    assert "\r" not in output
    fields = output.removesuffix("\n").split("\t")
    for name in ("contexts", "derived_contexts", "unstruct_event"):
        _strict(fields[FIELD_NAMES.index(name)])


@SETTINGS
@given(rows=st.lists(bad_row_records(), min_size=1, max_size=3))
def test_no_planted_value_survives_in_bad_rows(rows: list[str]) -> None:
    outputs = _ok_outputs(rows, bad_rows_transform(ALLOWLIST, Pseudonymizer(SALT)))
    for output in outputs:
        assert "planted" not in output
        for line in output.removesuffix("\n").split("\n"):
            _strict(line)
