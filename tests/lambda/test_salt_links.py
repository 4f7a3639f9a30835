"""Link records around a rotation: which records, which fields, what they say, where they go."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from salt_links import LinkWindows, LinkWriteError, identifiers
from salt_versions import parse_salt_secret

from snowplow_infra import sample_events
from snowplow_infra.sample_events import enriched_line

from .conftest import REGION, SECRET_NAME, reference_pseudonym

SALT_1 = "links test salt of version 1, 32 bytes+"
SALT_2 = "links test salt of version 2, 32 bytes+"
BUCKET = "snowplow-salt-links"
#: sample_events.firehose_event: record i arrives at ARRIVAL_MS + i.
ARRIVAL_MS = 1_714_564_800_000
GITLAB = "iglu:com.gitlab/gitlab_standard/jsonschema/1-0-10"


def secret(activation_ms: int) -> str:
    from salt_versions import format_ms  # noqa: PLC0415

    return json.dumps(
        {
            "versions": [
                {"id": "1", "salt": SALT_1, "active_from": "2024-01-01T00:00:00Z"},
                {"id": "2", "salt": SALT_2, "active_from": format_ms(activation_ms)},
            ]
        }
    )


def contexts(user_id: object, project_id: object, namespace_id: object) -> str:
    return json.dumps(
        {
            "schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
            "data": [
                {"schema": "iglu:com.example/other/jsonschema/1-0-0", "data": {"user_id": "no"}},
                {
                    "schema": GITLAB,
                    "data": {
                        "user_id": user_id,
                        "project_id": project_id,
                        "namespace_id": namespace_id,
                        "environment": "production",
                    },
                },
            ],
        }
    )


def event(n: int) -> bytes:
    return enriched_line(
        {
            "user_id": f"user-{n}",
            "domain_userid": f"duid-{n}",
            "network_userid": f"nuid-{n}",
            "domain_sessionid": f"sid-{n}",
            "contexts": contexts(1000 + n, f"p-{n}", None),
        }
    ).encode()


@pytest.fixture
def s3(aws: Any) -> Any:
    import boto3  # noqa: PLC0415

    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def linking(aws: Any, s3: Any, monkeypatch: pytest.MonkeyPatch, handler: ModuleType) -> ModuleType:
    monkeypatch.setenv("SALT_SECRET_ID", SECRET_NAME)
    monkeypatch.setenv("LINKS_BUCKET_NAME", BUCKET)
    monkeypatch.setenv("LINK_WINDOW_SECONDS", "0.002")  # 2 ms either side
    for name in ("RECORD_FORMAT", "SALT_TTL_SECONDS", "LINKS_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    return handler


def link_objects(s3: Any) -> dict[str, list[dict[str, str]]]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    objects = {}
    for item in listed:
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
        objects[item["Key"]] = [json.loads(line) for line in body.splitlines()]
    return objects


def expected_links(n: int) -> list[dict[str, str]]:
    values = {
        "user_id": f"user-{n}",
        "domain_userid": f"duid-{n}",
        "network_userid": f"nuid-{n}",
        "domain_sessionid": f"sid-{n}",
        "contexts.gitlab_standard.user_id": str(1000 + n),
        "contexts.gitlab_standard.project_id": f"p-{n}",
    }
    return [
        {
            "field": field,
            "from_version": "1",
            "from_pseudonym": reference_pseudonym(value, SALT_1.encode()),
            "to_version": "2",
            "to_pseudonym": reference_pseudonym(value, SALT_2.encode()),
        }
        for field, value in values.items()
    ]


def test_records_within_the_window_are_linked_exactly(
    linking: ModuleType, aws: Any, s3: Any
) -> None:
    # version 2 from record 4's arrival; a 2 ms window links records 2, 3 (before) and 4, 5
    aws.create_secret(Name=SECRET_NAME, SecretString=secret(ARRIVAL_MS + 4))
    event_data = sample_events.firehose_event([event(n) for n in range(8)])
    response = linking.lambda_handler(event_data, None)
    assert [r["result"] for r in response["records"]] == ["Ok"] * 8
    objects = link_objects(s3)
    assert len(objects) == 1
    ((key, links),) = objects.items()
    assert key.startswith("salt-links/from_version=1/to_version=2/2")
    assert key.endswith(".jsonl")
    expected = [link for n in (2, 3, 4, 5) for link in expected_links(n)]
    key_of = lambda link: (link["field"], link["from_pseudonym"])  # noqa: E731
    assert links == sorted(expected, key=key_of), "one link per identifier, sorted, nothing else"
    text = json.dumps(links)
    for n in range(8):
        for value in (f"user-{n}", f"duid-{n}", f"sid-{n}", f"p-{n}"):
            assert value not in text, "a link never carries a value"
    # the output of record 5 holds exactly the to-pseudonyms (version 2), record 3 the from ones
    outputs = sample_events.decoded_outputs(response)
    assert reference_pseudonym("user-5", SALT_2.encode()) in outputs[5]
    assert reference_pseudonym("user-3", SALT_1.encode()) in outputs[3]


def test_a_record_that_fails_gets_no_links(linking: ModuleType, aws: Any, s3: Any) -> None:
    """One good and one broken line: ProcessingFailed, stored raw; linked when replayed."""
    aws.create_secret(Name=SECRET_NAME, SecretString=secret(ARRIVAL_MS))
    mixed = event(0) + b"\n" + b"too\tfew\tfields"
    response = linking.lambda_handler(sample_events.firehose_event([mixed, event(1)]), None)
    assert [r["result"] for r in response["records"]] == ["ProcessingFailed", "Ok"]
    (links,) = link_objects(s3).values()
    assert links == sorted(
        expected_links(1), key=lambda link: (link["field"], link["from_pseudonym"])
    )


def test_no_links_outside_the_window_nor_for_bad_rows_nor_without_a_bucket(
    linking: ModuleType, aws: Any, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.create_secret(Name=SECRET_NAME, SecretString=secret(ARRIVAL_MS + 100))
    linking.lambda_handler(sample_events.firehose_event([event(n) for n in range(8)]), None)
    assert link_objects(s3) == {}, "arrivals +0..+7 are more than 2 ms before the activation"
    monkeypatch.setenv("LINK_WINDOW_SECONDS", "1")
    monkeypatch.delenv("LINKS_BUCKET_NAME")
    linking.lambda_handler(sample_events.firehose_event([event(0)]), None)
    assert link_objects(s3) == {}


def test_a_plain_secret_has_no_links(linking: ModuleType, aws: Any, s3: Any) -> None:
    aws.create_secret(Name=SECRET_NAME, SecretString=SALT_1)
    linking.lambda_handler(sample_events.firehose_event([event(0)]), None)
    assert link_objects(s3) == {}


def test_a_failed_write_fails_the_invocation(
    linking: ModuleType, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.create_secret(Name=SECRET_NAME, SecretString=secret(ARRIVAL_MS))
    monkeypatch.setenv("LINKS_BUCKET_NAME", "no-such-bucket")
    with pytest.raises(LinkWriteError, match="s3://no-such-bucket/salt-links/") as raised:
        linking.lambda_handler(sample_events.firehose_event([event(0)]), None)
    assert "user-0" not in str(raised.value) and SALT_1 not in str(raised.value)


@pytest.mark.parametrize(
    ("arrival", "pairs"),
    [
        (999, []),  # window is [1000, 3000) around the activation at 2000
        (1000, [(0, 1)]),
        (2999, [(0, 1)]),
        (3000, []),
        (5500, [(1, 2)]),  # the second activation at 6000: [5000, 7000)
        (4999, []),
    ],
)
def test_the_window_around_each_activation(arrival: int, pairs: list[tuple[int, int]]) -> None:
    from salt_versions import format_ms  # noqa: PLC0415

    versions = parse_salt_secret(
        json.dumps(
            {
                "versions": [
                    {"id": "a", "salt": SALT_1, "active_from": format_ms(0)},
                    {"id": "b", "salt": SALT_2, "active_from": format_ms(2000)},
                    {"id": "c", "salt": SALT_1 + "c", "active_from": format_ms(6000)},
                ]
            }
        ),
        SECRET_NAME,
    )
    assert LinkWindows(versions, 1000).pairs_at(arrival) == pairs
    assert LinkWindows(versions, 0).pairs_at(2000) == [], "a zero window links nothing"


def test_identifiers_of_a_record() -> None:
    text = b"\n".join([event(1), b"not an event", event(2)]).decode()
    found = list(identifiers(text))
    assert ("contexts.gitlab_standard.user_id", "1001") in found, "a number as its literal text"
    assert ("contexts.gitlab_standard.namespace_id", None) not in found  # type: ignore[comparison-overlap]
    assert [field for field, _ in found].count("user_id") == 2
    assert len(found) == 12
    broken = enriched_line({"user_id": "u", "contexts": '{"data": [' + GITLAB}).encode()
    assert list(identifiers(broken.decode())) == [("user_id", "u")]
