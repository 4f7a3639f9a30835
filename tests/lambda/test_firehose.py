"""The Firehose record contract: one result per recordId, malformed records, the size guard."""

from __future__ import annotations

import base64
import json

import pytest
from allowlist import load_allowlist
from bad_rows import bad_rows_transform
from enriched import enriched_transform
from firehose import MAX_RESPONSE_BYTES, Transformed, transform_records
from pseudonym import Pseudonymizer
from reasons import MALFORMED_BY_FORMAT

from snowplow_infra.sample_events import (
    enriched_events,
    enriched_line,
    firehose_event,
    malformed_records,
)

from .conftest import SALT, b64

ENRICHED_MALFORMED = (
    "invalid_base64",
    "invalid_utf8",
    "too_few_fields",
    "too_many_fields",
    "one_bad_line_among_good",
    "empty",
)
BAD_ROWS_MALFORMED = ("invalid_base64", "invalid_utf8", "empty", "bad_row_not_json")
# The reason code each malformed case fails with.
REASON_OF_CASE = {
    "invalid_base64": "MalformedBase64",
    "invalid_utf8": "MalformedUtf8",
    "too_few_fields": "WrongFieldCount",
    "too_many_fields": "WrongFieldCount",
    "one_bad_line_among_good": "WrongFieldCount",
    "empty": "WrongFieldCount",
    "bad_row_not_json": "UnparsableBadRow",
}


def test_the_lambda_limit_is_6_mib() -> None:
    assert MAX_RESPONSE_BYTES == 6 * 1024 * 1024


@pytest.mark.parametrize("case", ENRICHED_MALFORMED)
def test_a_malformed_enriched_record_is_echoed_as_processing_failed(case: str) -> None:
    data = malformed_records()[case]
    good = [b64(enriched_line({"app_id": "gitlab", "user_id": f"u{n}"})) for n in range(2)]
    event = firehose_event([good[0], data, good[1]])
    transform = enriched_transform(load_allowlist(), Pseudonymizer(SALT))
    batch = transform_records(event["records"], transform, malformed_reason="WrongFieldCount")
    assert batch.failure_reasons == {REASON_OF_CASE[case]: 1}
    results = [(r["recordId"], r["result"]) for r in batch.records]
    ids = [record["recordId"] for record in event["records"]]
    assert results == list(zip(ids, ["Ok", "ProcessingFailed", "Ok"], strict=True))
    assert batch.records[1]["data"] == data, "the original data, exactly as it came"
    assert (batch.ok, batch.processing_failed) == (2, 1)


@pytest.mark.parametrize("case", BAD_ROWS_MALFORMED)
def test_a_malformed_bad_row_record_is_echoed_as_processing_failed(case: str) -> None:
    data = malformed_records()[case]
    good = b64(
        '{"schema":"iglu:com.snowplowanalytics.snowplow.badrows/generic_error/jsonschema/2-0-0","data":{}}'
    )
    event = firehose_event([data, good])
    transform = bad_rows_transform(load_allowlist(), Pseudonymizer(SALT))
    batch = transform_records(
        event["records"], transform, malformed_reason=MALFORMED_BY_FORMAT["bad_rows"]
    )
    assert [r["result"] for r in batch.records] == ["ProcessingFailed", "Ok"]
    expected = "UnparsableBadRow" if case == "empty" else REASON_OF_CASE[case]
    assert batch.failure_reasons == {expected: 1}
    assert batch.records[0]["data"] == data


def test_a_record_without_data_fails_alone() -> None:
    records = [{"recordId": "1"}, {"recordId": "2", "data": 7}, {"recordId": "3", "data": b64("x")}]
    batch = transform_records(records, lambda text: Transformed(text, 1, 0))
    assert [(r["result"], r["data"]) for r in batch.records] == [
        ("ProcessingFailed", ""),
        ("ProcessingFailed", ""),
        ("Ok", b64("x")),
    ]
    assert batch.failure_reasons == {"MalformedBase64": 2}


def test_response_bytes_is_exactly_what_json_dumps_writes() -> None:
    records = [
        {"recordId": "49546986683135544286507457936321625675700192471156785154", "data": b64("a")},
        {"recordId": 'odd "id" \u00e9\n', "data": "not base64 \u00e9!"},
        {"recordId": "3", "data": b64("\u00e9t\u00e9")},
    ]
    batch = transform_records(records, lambda text: Transformed(text * 3, 1, 0))
    assert batch.response_bytes == len(json.dumps({"records": batch.records}))
    empty = transform_records([], lambda text: Transformed(text, 1, 0))
    assert empty.response_bytes == len(json.dumps({"records": []}))


def test_the_batch_stops_once_the_response_outgrows_the_cap() -> None:
    events = enriched_events(50, seed=2)
    event = firehose_event([sample.text.encode() for sample in events])
    transform = enriched_transform(load_allowlist(), Pseudonymizer(SALT))
    full = transform_records(event["records"], transform)
    assert full.complete
    limit = full.response_bytes - 1
    cut = transform_records(event["records"], transform, max_response_bytes=limit)
    assert not cut.complete
    assert len(cut.records) == len(event["records"])
    exact = transform_records(event["records"], transform, max_response_bytes=limit + 1)
    assert exact.complete
    half = transform_records(event["records"], transform, max_response_bytes=limit // 2)
    assert not half.complete and len(half.records) < len(event["records"])


def test_ok_data_is_the_base64_of_the_transformed_text() -> None:
    batch = transform_records(
        [{"recordId": "1", "data": b64("\u00e9")}], lambda text: Transformed(text + "!\n", 1, 0)
    )
    assert base64.b64decode(batch.records[0]["data"]).decode() == "\u00e9!\n"


def test_lone_surrogate_escapes_never_fail_the_batch() -> None:
    """A JSON escape of half a UTF-16 pair cannot be written as UTF-8: hashed or failed alone."""
    hashed = '{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{"name":"\\ud800"}}'
    web_page = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
    kept = '{"schema":"' + web_page + '","data":{"id":"\\ud800"}}'
    wrapper = '{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",'
    lines = [
        enriched_line({"unstruct_event": wrapper + '"data":' + text + "}"})
        for text in (hashed, kept)
    ]
    event = firehose_event([line.encode() for line in lines])
    transform = enriched_transform(load_allowlist(), Pseudonymizer(SALT))
    batch = transform_records(event["records"], transform)
    assert [r["result"] for r in batch.records] == ["Ok", "ProcessingFailed"]
    assert batch.failure_reasons == {"MalformedUtf8": 1}, "the kept escape cannot be UTF-8"
    assert batch.unparsable_json == 1, (
        "the field that cannot be hashed leaf by leaf is hashed whole"
    )
    schema = "iglu:com.snowplowanalytics.snowplow.badrows/generic_error/jsonschema/2-0-0"
    bad_row = '{"schema":"' + schema + '","data":{"payload":"\\udfff"}}'
    rows = transform_records(
        firehose_event([bad_row.encode()])["records"],
        bad_rows_transform(load_allowlist(), Pseudonymizer(SALT)),
    )
    assert [r["result"] for r in rows.records] == ["ProcessingFailed"]
