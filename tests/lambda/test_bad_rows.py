"""RECORD_FORMAT=bad_rows: one test for each bad-row type, and the record-level rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from allowlist import load_allowlist
from bad_rows import bad_rows_transform
from errors import MalformedRecordError
from firehose import Transformed
from pseudonym import Pseudonymizer

from snowplow_infra.sample_events import BAD_ROW_SCHEMA, BAD_ROW_TYPES, bad_rows

from .conftest import SALT, assert_absent, reference_pseudonym

P = reference_pseudonym
HEX64_LENGTH = 64

# What each type keeps besides the schema, processor and failure timestamp.
KEPT = {
    "schema_violations": {
        (
            "failure",
            "messages",
            0,
            "schemaKey",
        ): "iglu:com.gitlab/gitlab_standard/jsonschema/1-0-10",
        ("failure", "messages", 0, "error", "error"): "ValidationError",
        ("failure", "messages", 0, "error", "dataReports", 0, "keyword"): "type",
    },
    "enrichment_failures": {
        ("failure", "messages", 0, "enrichment", "identifier"): "ua-parser",
    },
    "collector_payload_format_violation": {
        ("failure", "loader"): "thrift",
        ("failure", "message", "payloadField"): "querystring",
    },
    "adapter_failures": {},
    "tracker_protocol_violations": {
        ("failure", "version"): "tp2",
    },
    "size_violation": {
        ("failure", "maximumAllowedSizeBytes"): 1_000_000,
        ("failure", "actualSizeBytes"): 1_048_576,
    },
    "generic_error": {},
}
# Values each type must hash under their key (they echo the event or the request).
HASHED = {
    "schema_violations": [
        ("failure", "messages", 0, "error", "dataReports", 0, "message"),
        ("failure", "messages", 0, "error", "dataReports", 0, "path"),
    ],
    "enrichment_failures": [
        ("failure", "messages", 0, "message", "value"),
        ("failure", "messages", 0, "message", "field"),
    ],
    "collector_payload_format_violation": [("failure", "message", "value")],
    "adapter_failures": [
        ("failure", "messages", 0, "value"),
        ("failure", "messages", 0, "field"),
        ("failure", "vendor"),
    ],
    "tracker_protocol_violations": [
        ("failure", "messages", 0, "value"),
        ("failure", "messages", 0, "field"),
    ],
    "size_violation": [],
    "generic_error": [("failure", "errors", 0)],
}


def at(document: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


@pytest.fixture
def transform() -> Callable[[str], Transformed]:
    return bad_rows_transform(load_allowlist(), Pseudonymizer(SALT))


def test_the_sample_covers_every_bad_row_type() -> None:
    assert set(bad_rows()) == set(BAD_ROW_TYPES) == set(KEPT)


@pytest.mark.parametrize("kind", BAD_ROW_TYPES)
def test_bad_row_type(kind: str, transform: Callable[[str], Transformed]) -> None:
    sample = bad_rows(seed=3)[kind]
    original = json.loads(sample.text)
    result = transform(sample.text)
    assert result.text.endswith("\n") and result.text.count("\n") == 1
    output = json.loads(result.text)

    assert output["schema"] == BAD_ROW_SCHEMA.format(kind)
    assert output["data"]["processor"] == original["data"]["processor"]
    assert output["data"]["failure"]["timestamp"] == original["data"]["failure"]["timestamp"]
    for path, value in KEPT[kind].items():
        assert at(output["data"], path) == value
    for hashed in HASHED[kind]:
        assert at(output["data"], hashed) == P(str(at(original["data"], hashed)))
    assert sample.planted, "the sample plants personal values"
    assert_absent(sample.planted, result.text)
    assert (result.lines, result.unparsable_json) == (1, 0)


def test_a_size_violation_payload_is_hashed_whole() -> None:
    sample = bad_rows()["size_violation"]
    truncated = json.loads(sample.text)["data"]["payload"]["event"]
    result = bad_rows_transform(load_allowlist(), Pseudonymizer(SALT))(sample.text)
    assert json.loads(result.text)["data"]["payload"] == {P("event"): P(truncated)}


def test_payloads_are_hashed_leaf_by_leaf(transform: Callable[[str], Transformed]) -> None:
    sample = bad_rows()["schema_violations"]
    original = json.loads(sample.text)["data"]["payload"]
    output = json.loads(transform(sample.text).text)["data"]["payload"]
    raw = output["raw"]
    assert raw["ipAddress"] == P(original["raw"]["ipAddress"])
    assert raw["headers"] == [P(header) for header in original["raw"]["headers"]]
    assert raw["parameters"][0] == {"name": P("e"), "value": P("pv")}
    enriched = output["enriched"]
    assert set(enriched) == set(original["enriched"]), "enriched field names stay"
    assert enriched["domain_sessionidx"] == P(str(original["enriched"]["domain_sessionidx"]))
    assert enriched["txn_id"] is None


def test_several_rows_one_a_line_and_pretty_printed_rows(
    transform: Callable[[str], Transformed],
) -> None:
    rows = bad_rows()
    one_a_line = rows["generic_error"].text + "\n" + rows["size_violation"].text + "\n"
    result = transform(one_a_line)
    assert result.lines == 2
    outputs = [json.loads(line) for line in result.text.split("\n")[:-1]]
    assert [row["schema"] for row in outputs] == [
        BAD_ROW_SCHEMA.format("generic_error"),
        BAD_ROW_SCHEMA.format("size_violation"),
    ]
    pretty = json.dumps(json.loads(rows["adapter_failures"].text), indent=2)
    assert transform(pretty).text == transform(rows["adapter_failures"].text).text


@pytest.mark.parametrize(
    "text", ["", "planted-user@example.org sent a broken row {", '{"a": 1}\nnot json\n']
)
def test_a_bad_row_that_is_not_json_is_malformed(
    transform: Callable[[str], Transformed], text: str
) -> None:
    with pytest.raises(MalformedRecordError) as raised:
        transform(text)
    assert "planted" not in str(raised.value)


def test_json_that_is_not_a_bad_row_is_still_fully_pseudonymized(
    transform: Callable[[str], Transformed],
) -> None:
    output = json.loads(transform('["planted", {"ip": "198.51.100.9"}, 7, true]').text)
    assert output == [P("planted"), {P("ip"): P("198.51.100.9")}, P("7"), True]
    assert all(len(value) == HEX64_LENGTH for value in (output[0], output[2]))
