"""Hostile input: every way a personal value once got through in clear, now each closed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from allowlist import load_allowlist
from bad_rows import bad_rows_transform
from enriched import enriched_transform
from event_fields import FIELD_NAMES
from firehose import Transformed
from pseudonym import Pseudonymizer

from snowplow_infra.sample_events import enriched_line

from .conftest import SALT, reference_pseudonym

P = reference_pseudonym
EMAIL = "alice@example.com"
CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
UNSTRUCT = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
GITLAB_STANDARD = "iglu:com.gitlab/gitlab_standard/jsonschema/1-0-10"
UA_PARSER = "iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0"
FAILURE = "iglu:com.snowplowanalytics.snowplow/failure/jsonschema/1-0-0"
BAD_ROW = "iglu:com.snowplowanalytics.snowplow.badrows/{}/jsonschema/{}"
LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
UA_LOOKALIKE = {"schema": UA_PARSER, "data": {"useragentFamily": EMAIL}}


def _no_constant(name: str) -> Any:
    raise AssertionError(f"the output holds the non-JSON constant {name}")


def strict_loads(text: str) -> Any:
    """json.loads that refuses NaN, Infinity and -Infinity, as strict JSON parsers do."""
    return json.loads(text, parse_constant=_no_constant)


@pytest.fixture
def enriched() -> Callable[[str], Transformed]:
    return enriched_transform(load_allowlist(), Pseudonymizer(SALT))


@pytest.fixture
def bad_rows() -> Callable[[str], Transformed]:
    return bad_rows_transform(load_allowlist(), Pseudonymizer(SALT))


def json_field(output: str, name: str) -> Any:
    (line,) = output.split("\n")[:-1]
    return strict_loads(line.split("\t")[FIELD_NAMES.index(name)])


def contexts(*entities: Any) -> str:
    return json.dumps({"schema": CONTEXTS, "data": list(entities)})


def test_a_lookalike_entity_in_a_free_form_field_is_plain_data(
    enriched: Callable[[str], Transformed],
) -> None:
    standard = {"environment": "production", "extra": UA_LOOKALIKE}
    output = enriched(enriched_line({"contexts": contexts(UA_LOOKALIKE | {"data": {}}, {
        "schema": GITLAB_STANDARD, "data": standard
    })})).text  # fmt: skip
    assert EMAIL not in output
    data = json_field(output, "contexts")["data"][1]["data"]
    assert data["environment"] == "production"
    assert data["extra"] == {
        P("schema"): P(UA_PARSER),
        P("data"): {P("useragentFamily"): P(EMAIL)},
    }


@pytest.mark.parametrize("field", ["contexts", "derived_contexts", "unstruct_event"])
def test_a_lookalike_entity_nested_in_any_entity_is_plain_data(
    enriched: Callable[[str], Transformed], field: str
) -> None:
    entity = {"schema": "iglu:com.acme/form/jsonschema/1-0-0", "data": {"inner": [UA_LOOKALIKE]}}
    text = (
        json.dumps({"schema": UNSTRUCT, "data": entity})
        if field == "unstruct_event"
        else contexts(entity)
    )
    output = enriched(enriched_line({field: text})).text
    assert EMAIL not in output and UA_PARSER not in output


def test_enrichs_failure_entity_keeps_technical_fields_and_hashes_the_failed_data(
    enriched: Callable[[str], Transformed],
) -> None:
    failure: dict[str, Any] = {
        "schema": FAILURE,
        "data": {
            "failureType": "ValidationError",
            "errors": [{"message": f"{EMAIL} is not a valid uuid", "path": "$.id"}],
            "schema": UA_PARSER,
            "data": UA_LOOKALIKE,
            "timestamp": "2024-05-01T12:00:00.000Z",
            "componentName": "snowplow-enrich-kinesis",
            "componentVersion": "6.0.0",
        },
    }
    output = enriched(enriched_line({"derived_contexts": contexts(failure)})).text
    assert EMAIL not in output
    data = json_field(output, "derived_contexts")["data"][0]["data"]
    for key in ("failureType", "schema", "timestamp", "componentName", "componentVersion"):
        assert data[key] == failure["data"][key]
    assert data["data"] == {
        P("schema"): P(UA_PARSER),
        P("data"): {P("useragentFamily"): P(EMAIL)},
    }
    assert data["errors"] == [
        {P("message"): P(f"{EMAIL} is not a valid uuid"), P("path"): P("$.id")}
    ]


@pytest.mark.parametrize(
    "schema",
    [
        "iglu:bob@example.com",
        UA_PARSER + "/../x",
        UA_PARSER.replace("1-0-0", "1-0-0" + "0" * 1_000_000),
        "iglu:" + "a" * 1_000_000,
        UA_PARSER + "\n",
    ],
)
def test_a_schema_outside_the_iglu_grammar_is_hashed_and_its_data_unknown(
    enriched: Callable[[str], Transformed], schema: str
) -> None:
    output = enriched(enriched_line({"contexts": contexts({"schema": schema, "data": {
        "useragentFamily": EMAIL
    }})})).text  # fmt: skip
    (entity,) = json_field(output, "contexts")["data"]
    assert entity == {"schema": P(schema), "data": {P("useragentFamily"): P(EMAIL)}}
    assert len(output) < 4000, "a long schema becomes one 64-character pseudonym"


def test_a_schema_that_is_not_a_string_is_hashed(enriched: Callable[[str], Transformed]) -> None:
    output = enriched(enriched_line({"contexts": contexts({"schema": [EMAIL], "data": 1})})).text
    assert json_field(output, "contexts")["data"] == [{"schema": [P(EMAIL)], "data": P("1")}]


def test_a_bad_wrapper_schema_is_hashed(enriched: Callable[[str], Transformed]) -> None:
    text = json.dumps({"schema": f"iglu:{EMAIL}", "data": [], EMAIL: EMAIL})
    output = enriched(enriched_line({"contexts": text})).text
    assert EMAIL not in output
    assert json_field(output, "contexts") == {
        "schema": P(f"iglu:{EMAIL}"),
        "data": [],
        P(EMAIL): P(EMAIL),
    }


def test_keys_of_free_form_objects_and_unknown_entities_are_hashed(
    enriched: Callable[[str], Transformed],
) -> None:
    standard = {"environment": "production", "user_id": 7, "extra": {EMAIL: 1}, EMAIL: True}
    unknown = {
        "schema": "iglu:com.acme/x/jsonschema/1-0-0",
        "data": {EMAIL: {"nested": [{EMAIL: 2}]}},
    }
    output = enriched(enriched_line({"contexts": contexts(
        {"schema": GITLAB_STANDARD, "data": standard}, unknown
    )})).text  # fmt: skip
    assert EMAIL not in output
    standard_out, unknown_out = (e["data"] for e in json_field(output, "contexts")["data"])
    assert standard_out == {
        "environment": "production",
        "user_id": P("7"),
        "extra": {P(EMAIL): P("1")},
        P(EMAIL): True,
    }
    assert unknown_out == {P(EMAIL): {P("nested"): [{P(EMAIL): P("2")}]}}


def test_a_real_schema_violation_target_is_hashed(bad_rows: Callable[[str], Transformed]) -> None:
    """Snowplow's validator puts the offending value into targets (snowplow-event-recovery)."""
    row: dict[str, Any] = {
        "schema": BAD_ROW.format("schema_violations", "2-0-0"),
        "data": {
            "processor": {"artifact": "snowplow-enrich-kinesis", "version": "5.1.2"},
            "failure": {
                "timestamp": "2020-02-17T09:31:07.442Z",
                "messages": [
                    {
                        "schemaKey": LINK_CLICK,
                        "error": {
                            "error": "ValidationError",
                            "dataReports": [
                                {
                                    "message": "$.targetUrl: wjr@w.w is not a valid uri",
                                    "path": "$.targetUrl",
                                    "keyword": "format",
                                    "targets": ["wjr@w.w", "uri"],
                                }
                            ],
                        },
                    }
                ],
            },
            "payload": {"enriched": {"user_id": "wjr@w.w"}, "raw": {"parameters": []}},
        },
    }
    output = bad_rows(json.dumps(row)).text
    assert "wjr@w.w" not in output
    message = strict_loads(output)["data"]["failure"]["messages"][0]
    assert message["schemaKey"] == row["data"]["failure"]["messages"][0]["schemaKey"]
    report = message["error"]["dataReports"][0]
    assert report == {
        "message": P("$.targetUrl: wjr@w.w is not a valid uri"),
        "path": P("$.targetUrl"),
        "keyword": "format",
        "targets": [P("wjr@w.w"), P("uri")],
    }


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1" * 5000])
def test_a_kept_number_that_is_not_finite_is_hashed(
    enriched: Callable[[str], Transformed], text: str
) -> None:
    entity = f'{{"schema":"{GITLAB_STANDARD}","data":{{"plan":{text}}}}}'
    output = enriched(enriched_line({"contexts": f'{{"schema":"{CONTEXTS}","data":[{entity}]}}'}))
    assert json_field(output.text, "contexts")["data"][0]["data"] == {"plan": P(text)}


def test_non_finite_numbers_in_a_bad_row_give_strict_json(
    bad_rows: Callable[[str], Transformed],
) -> None:
    row = (
        '{"schema":"%s","data":{"failure":{"actualSizeBytes":NaN,"maximumAllowedSizeBytes":1e999}}}'
    )
    output = bad_rows(row % BAD_ROW.format("size_violation", "1-0-0")).text
    failure = strict_loads(output)["data"]["failure"]
    assert failure == {"actualSizeBytes": P("NaN"), "maximumAllowedSizeBytes": P("1e999")}


def test_crlf_line_endings_never_leave_a_carriage_return_in_a_field(
    enriched: Callable[[str], Transformed], bad_rows: Callable[[str], Transformed]
) -> None:
    line = enriched_line({"app_id": "gitlab", "dvce_screenheight": "1080"})
    fields = line.rstrip("\n").split("\t")
    fields[-1] = "2024-05-01 12:00:00.000"  # true_tstamp, the last field, is kept
    crlf = "\t".join(fields) + "\r\n"
    output = enriched(crlf + crlf).text
    assert "\r" not in output
    assert output.split("\n")[0].split("\t")[-1] == "2024-05-01 12:00:00.000"
    assert output.count("\n") == 2
    schema = BAD_ROW.format("generic_error", "1-0-0")
    row = json.dumps({"schema": schema, "data": {"failure": {"errors": ["x"]}}})
    result = bad_rows(row + "\r\n" + row + "\r\n")
    assert result.lines == 2 and "\r" not in result.text


@pytest.mark.parametrize(
    ("kind", "version"),
    [
        ("size_violation", "1-0-0"),
        ("collector_payload_format_violation", "1-0-0"),
        ("adapter_failures", "1-0-0"),
        ("tracker_protocol_violations", "1-0-0"),
        ("tracker_protocol_violations", "1-0-1"),
        ("generic_error", "1-0-0"),
        ("enrichment_failures", "1-0-0"),
        ("enrichment_failures", "2-0-1"),
        ("schema_violations", "1-0-0"),
        ("schema_violations", "2-0-1"),
        ("loader_parsing_error", "2-0-0"),
        ("loader_iglu_error", "2-0-1"),
        ("loader_runtime_error", "1-0-1"),
        ("loader_recovery_error", "1-0-0"),
        ("recovery_error", "1-0-1"),
        ("relay_failure", "1-0-0"),
        ("event_forwarding_error", "1-0-1"),
    ],
)
def test_every_bad_row_version_keeps_its_processor(
    bad_rows: Callable[[str], Transformed], kind: str, version: str
) -> None:
    processor = {"artifact": "snowplow-enrich-kinesis", "version": "5.1.2"}
    row = {"schema": BAD_ROW.format(kind, version), "data": {"processor": processor}}
    assert strict_loads(bad_rows(json.dumps(row)).text)["data"]["processor"] == processor
