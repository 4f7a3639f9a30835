"""The enriched-event field list (one source) and the sample-event generator built on it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import event_fields

from snowplow_infra import sample_events


def test_131_canonical_fields_in_tsv_order() -> None:
    names = event_fields.FIELD_NAMES
    assert len(names) == len(set(names)) == 131
    assert names[:7] == (
        "app_id",
        "platform",
        "etl_tstamp",
        "collector_tstamp",
        "dvce_created_tstamp",
        "event",
        "event_id",
    )
    assert names[-2:] == ("event_fingerprint", "true_tstamp")
    positions = {name: names.index(name) for name in event_fields.JSON_FIELDS}
    assert positions == {"contexts": 52, "unstruct_event": 58, "derived_contexts": 122}


def test_the_generator_reads_the_lambda_package_list() -> None:
    assert Path(sample_events.FIELDS_FILE) == Path(event_fields.FIELDS_FILE)
    assert sample_events.FIELD_NAMES == event_fields.FIELD_NAMES


def test_enriched_events_are_realistic_and_reproducible() -> None:
    events = sample_events.enriched_events(300, seed=4)
    assert [e.text for e in events] == [e.text for e in sample_events.enriched_events(300, seed=4)]
    rows = [dict(zip(event_fields.FIELD_NAMES, e.text.split("\t"), strict=True)) for e in events]
    assert len(events) == 300
    kinds = Counter(row["event"] for row in rows)
    assert set(kinds) == {"page_view", "struct", "unstruct", "page_ping"}
    users = Counter(row["domain_userid"] for row in rows)
    assert len(users) < 100 and max(users.values()) > 3, "users send several events"
    for row in rows:
        contexts = json.loads(row["contexts"])
        schemas = [entity["schema"] for entity in contexts["data"]]
        assert "iglu:com.gitlab/gitlab_standard/jsonschema/1-0-10" in schemas
        derived = json.loads(row["derived_contexts"])
        assert derived["data"][0]["schema"].endswith("/ua_parser_context/jsonschema/1-0-0")
        if row["event"] == "unstruct":
            assert json.loads(row["unstruct_event"])["data"]["schema"].startswith("iglu:")
    assert all(sample.planted for sample in events)
    assert all(value in sample.text for sample in events for value in sample.planted)


def test_bad_rows_of_every_type_and_malformed_records() -> None:
    rows = sample_events.bad_rows()
    assert tuple(rows) == sample_events.BAD_ROW_TYPES
    for kind, sample in rows.items():
        document = json.loads(sample.text)
        assert document["schema"] == sample_events.BAD_ROW_SCHEMA.format(kind)
        assert set(document["data"]) == {"processor", "failure", "payload"}
        assert sample.planted
    assert set(sample_events.malformed_records()) >= {
        "invalid_base64",
        "invalid_utf8",
        "too_few_fields",
        "bad_row_not_json",
    }


def test_firehose_events_have_the_firehose_shape() -> None:
    event = sample_events.firehose_event([b"a", "not base64"], delivery_stream="d")
    assert set(event) == {
        "invocationId",
        "deliveryStreamArn",
        "sourceKinesisStreamArn",
        "region",
        "records",
    }
    assert event["deliveryStreamArn"].endswith(":deliverystream/d")
    first, second = event["records"]
    assert set(first) == {
        "recordId",
        "approximateArrivalTimestamp",
        "data",
        "kinesisRecordMetadata",
    }
    assert (first["data"], second["data"]) == ("YQ==", "not base64")
    assert first["recordId"] != second["recordId"]
