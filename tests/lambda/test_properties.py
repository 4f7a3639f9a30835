"""Property-based tests (hypothesis): nothing outside the allowlist survives, no record is lost."""

from __future__ import annotations

import base64
import json
from typing import Any

from allowlist import load_allowlist
from bad_rows import bad_rows_transform
from enriched import enriched_transform
from event_fields import FIELD_NAMES, JSON_FIELDS
from firehose import transform_records
from hypothesis import given, settings
from hypothesis import strategies as st
from pseudonym import Pseudonymizer

from snowplow_infra.sample_events import enriched_line

from .conftest import SALT, reference_pseudonym

P = reference_pseudonym
ALLOWLIST = load_allowlist()
HASHED_FIELDS = [n for n in FIELD_NAMES if n not in ALLOWLIST.keep_fields and n not in JSON_FIELDS]
HEX = set("0123456789abcdef")
CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
UNSTRUCT = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
UNKNOWN_SCHEMA = "iglu:com.acme/anything/jsonschema/1-0-0"
SETTINGS = settings(max_examples=100, deadline=None)

# A value that cannot hide inside a hex pseudonym, a tab or a newline.
field_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n\r"),
    min_size=1,
    max_size=40,
).filter(lambda value: not set(value) <= HEX)
json_scalars = (
    st.text(max_size=20)
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
json_documents = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(("schema", "data")) | st.text(max_size=8), children, max_size=4
        )
    ),
    max_leaves=20,
)


def expected(value: Any) -> Any:
    """The contract for plain data, written independently: keys, strings and numbers (as
    written) become pseudonyms, whatever the object looks like."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return P(value)
    if isinstance(value, int | float):
        return P(json.dumps(value))
    if isinstance(value, list):
        return [expected(item) for item in value]
    return {P(key): expected(item) for key, item in value.items()}


@SETTINGS
@given(name=st.sampled_from(HASHED_FIELDS), value=field_values)
def test_a_value_in_a_hashed_field_never_appears(name: str, value: str) -> None:
    transform = enriched_transform(ALLOWLIST, Pseudonymizer(SALT))
    output = transform(enriched_line({name: value})).text
    assert value not in output
    assert output.split("\t")[FIELD_NAMES.index(name)] == P(value)


@SETTINGS
@given(document=json_documents, field=st.sampled_from(JSON_FIELDS))
def test_a_json_leaf_outside_the_allowlist_never_survives(document: Any, field: str) -> None:
    entity = {"schema": UNKNOWN_SCHEMA, "data": document}
    if field == "unstruct_event":
        wrapper = {"schema": UNSTRUCT, "data": entity}
    else:
        wrapper = {"schema": CONTEXTS, "data": [entity]}
    transform = enriched_transform(ALLOWLIST, Pseudonymizer(SALT))
    output = transform(enriched_line({field: json.dumps(wrapper)})).text
    result = json.loads(output.split("\t")[FIELD_NAMES.index(field)])
    assert result["schema"] == wrapper["schema"]
    inner = result["data"] if field == "unstruct_event" else result["data"][0]
    assert inner == {"schema": UNKNOWN_SCHEMA, "data": expected(document)}


@SETTINGS
@given(document=json_documents)
def test_a_bad_row_keeps_only_its_schema_and_technical_paths(document: Any) -> None:
    schema = "iglu:com.snowplowanalytics.snowplow.badrows/generic_error/jsonschema/2-0-0"
    row = {
        "schema": schema,
        "data": {
            "processor": {"artifact": "snowplow-enrich-kinesis", "version": "5.1.2"},
            "failure": {"timestamp": "2024-05-01T12:00:00Z", "errors": [document]},
            "payload": {"free-form": document},
        },
    }
    output = json.loads(bad_rows_transform(ALLOWLIST, Pseudonymizer(SALT))(json.dumps(row)).text)
    assert output == {
        "schema": schema,
        "data": {
            "processor": row["data"]["processor"],
            "failure": {"timestamp": "2024-05-01T12:00:00Z", "errors": [expected(document)]},
            "payload": {P("free-form"): expected(document)},
        },
    }


record_data = st.one_of(
    st.builds(lambda v: enriched_line({"user_id": v}).encode(), field_values),
    st.binary(max_size=50),
    st.text(max_size=30),  # sent as it is: mostly invalid base64
)


@SETTINGS
@given(
    datas=st.lists(record_data, max_size=25),
    ids=st.lists(st.text(min_size=1, max_size=20), unique=True, min_size=25, max_size=25),
)
def test_every_record_id_comes_back_exactly_once_in_order(
    datas: list[bytes | str], ids: list[str]
) -> None:
    records = [
        {
            "recordId": record_id,
            "data": base64.b64encode(data).decode() if isinstance(data, bytes) else data,
        }
        for record_id, data in zip(ids, datas, strict=False)
    ]
    batch = transform_records(records, enriched_transform(ALLOWLIST, Pseudonymizer(SALT)))
    assert batch.complete
    assert [r["recordId"] for r in batch.records] == [r["recordId"] for r in records]
    for record, result in zip(records, batch.records, strict=True):
        assert result["result"] in ("Ok", "ProcessingFailed")
        if result["result"] == "ProcessingFailed":
            assert result["data"] == record["data"]
    assert batch.ok + batch.processing_failed == len(records)
