"""The handler with a versioned salt secret: each record under the version of its arrival."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import pytest
from errors import SaltUnavailableError
from event_fields import FIELD_NAMES

from snowplow_infra import sample_events
from snowplow_infra.sample_events import enriched_line

from .conftest import SECRET_NAME, reference_pseudonym

SALT_1 = "handler test salt of version 1, 32 bytes+"
SALT_2 = "handler test salt of version 2, 32 bytes+"
#: sample_events.firehose_event: record i arrives at 1_714_564_800_000 + i (2024-05-01 12:00Z).
ARRIVAL_MS = 1_714_564_800_000
USER_ID = FIELD_NAMES.index("user_id")


def secret(activation: str) -> str:
    return json.dumps(
        {
            "versions": [
                {"id": "1", "salt": SALT_1, "active_from": "2024-01-01T00:00:00Z"},
                {"id": "2", "salt": SALT_2, "active_from": activation},
            ]
        }
    )


@pytest.fixture
def versioned(aws: Any, monkeypatch: pytest.MonkeyPatch, handler: ModuleType) -> ModuleType:
    """A two-version secret whose version 2 activates at the arrival of record 3 (index 3)."""
    aws.create_secret(Name=SECRET_NAME, SecretString=secret("2024-05-01T12:00:00.003Z"))
    monkeypatch.setenv("SALT_SECRET_ID", SECRET_NAME)
    for name in ("RECORD_FORMAT", "SALT_TTL_SECONDS", "SALT_VERSION_PARTITION_KEY_NAME"):
        monkeypatch.delenv(name, raising=False)
    return handler


def user_lines(count: int) -> list[bytes]:
    return [
        enriched_line({"user_id": f"user-{n}", "app_id": "gitlab"}).encode() for n in range(count)
    ]


def user_ids(response: dict[str, Any]) -> list[str]:
    return [line.split("\t")[USER_ID] for line in sample_events.decoded_outputs(response)]


def invoke(handler: ModuleType, datas: Sequence[bytes | str]) -> dict[str, Any]:
    result: dict[str, Any] = handler.lambda_handler(sample_events.firehose_event(datas), None)
    return result


def test_each_record_is_pseudonymized_with_the_version_of_its_arrival(
    versioned: ModuleType,
) -> None:
    response = invoke(versioned, user_lines(6))
    salts = [SALT_1] * 3 + [SALT_2] * 3  # arrivals +0, +1, +2 before; +3 (equal), +4, +5 after
    expected = [reference_pseudonym(f"user-{n}", salt.encode()) for n, salt in enumerate(salts)]
    assert user_ids(response) == expected
    assert [record["result"] for record in response["records"]] == ["Ok"] * 6
    assert "metadata" not in response["records"][0], "no partition key unless configured"


def test_the_version_is_returned_as_a_partition_key(
    versioned: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALT_VERSION_PARTITION_KEY_NAME", "salt_version")
    datas: list[bytes | str] = [*user_lines(2), "not base64!", *user_lines(3)]
    response = invoke(versioned, datas)
    records = response["records"]
    assert [r.get("metadata", {}).get("partitionKeys") for r in records] == [
        {"salt_version": "1"},
        {"salt_version": "1"},
        None,  # ProcessingFailed: it goes to the error prefix, no partition
        {"salt_version": "2"},
        {"salt_version": "2"},
        {"salt_version": "2"},
    ]
    assert [r["result"] for r in records] == ["Ok", "Ok", "ProcessingFailed", "Ok", "Ok", "Ok"]
    assert [r["recordId"] for r in records] == [
        r["recordId"] for r in sample_events.firehose_event(datas)["records"]
    ]
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["ResponseBytes"] == len(json.dumps(response)), "runs merged exactly"
    assert metrics["RecordsOk"] == 5 and metrics["RecordsProcessingFailed"] == 1
    assert metrics["ValuesPseudonymized"] == 5


def test_a_record_older_than_every_version_fails_the_invocation(
    aws: Any, monkeypatch: pytest.MonkeyPatch, handler: ModuleType
) -> None:
    late = {"versions": [{"id": "9", "salt": SALT_1, "active_from": "2024-05-01T12:00:00.001Z"}]}
    aws.create_secret(Name=SECRET_NAME, SecretString=json.dumps(late))
    monkeypatch.setenv("SALT_SECRET_ID", SECRET_NAME)
    monkeypatch.delenv("RECORD_FORMAT", raising=False)
    with pytest.raises(SaltUnavailableError, match="Record number 1 arrived at") as raised:
        invoke(handler, user_lines(3))
    assert "user-0" not in str(raised.value)


def test_a_versioned_secret_needs_the_arrival_time(versioned: ModuleType) -> None:
    event = sample_events.firehose_event(user_lines(2))
    del event["records"][1]["approximateArrivalTimestamp"]
    with pytest.raises(ValueError, match=r"Record number 2 .* approximateArrivalTimestamp"):
        versioned.lambda_handler(event, None)


def test_a_plain_secret_needs_no_arrival_time(
    aws: Any, monkeypatch: pytest.MonkeyPatch, handler: ModuleType
) -> None:
    aws.create_secret(Name=SECRET_NAME, SecretString=SALT_1)
    monkeypatch.setenv("SALT_SECRET_ID", SECRET_NAME)
    monkeypatch.setenv("SALT_VERSION_PARTITION_KEY_NAME", "salt_version")
    event = sample_events.firehose_event(user_lines(2))
    del event["records"][0]["approximateArrivalTimestamp"]
    response = handler.lambda_handler(event, None)
    assert user_ids(response) == [reference_pseudonym(f"user-{n}", SALT_1.encode()) for n in (0, 1)]
    assert response["records"][0]["metadata"] == {"partitionKeys": {"salt_version": "0"}}


def test_a_version_added_later_is_used_after_the_ttl(
    versioned: ModuleType, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALT_TTL_SECONDS", "0")
    assert user_ids(invoke(versioned, user_lines(1))) == [
        reference_pseudonym("user-0", SALT_1.encode())
    ]
    aws.put_secret_value(SecretId=SECRET_NAME, SecretString=secret("2024-05-01T12:00:00Z"))
    assert user_ids(invoke(versioned, user_lines(1))) == [
        reference_pseudonym("user-0", SALT_2.encode())
    ]


def test_the_response_cap_holds_across_runs(
    versioned: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch cut into two runs still fails as a whole when the response outgrows the cap."""
    from errors import ResponseTooLargeError  # noqa: PLC0415

    monkeypatch.setenv("SALT_VERSION_PARTITION_KEY_NAME", "salt_version")
    huge = "\t".join(["x"] * len(FIELD_NAMES)).encode()
    with pytest.raises(ResponseTooLargeError):
        invoke(versioned, [huge] * 1700)


def test_runs_merge_to_the_response_of_one_pass(versioned: ModuleType) -> None:
    """Under one version (all records after the activation) the result equals a single pass."""
    import salt_batch  # noqa: PLC0415

    assert salt_batch.runs([0, 0, 1, 1, 0]) == [(0, 2, 0), (2, 4, 1), (4, 5, 0)]
    assert salt_batch.runs([]) == []
    data = base64.b64encode(b"x").decode()
    assert salt_batch.partition_metadata_bytes("k", "v") == len(
        json.dumps(
            {
                "recordId": "",
                "result": "Ok",
                "data": data,
                "metadata": {"partitionKeys": {"k": "v"}},
            }
        )
    ) - len(json.dumps({"recordId": "", "result": "Ok", "data": data}))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SALT_VERSION_PARTITION_KEY_NAME", "salt-version", "SALT_VERSION_PARTITION_KEY_NAME is"),
        ("LINKS_PREFIX", "links", "must end with '/'"),
        ("LINKS_PREFIX", "/links/", "not start"),
        ("LINK_WINDOW_SECONDS", "-1", "LINK_WINDOW_SECONDS is '-1'"),
        ("LINK_WINDOW_SECONDS", "a day", "number of seconds"),
    ],
)
def test_invalid_version_settings_fail_the_invocation(
    versioned: ModuleType, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    from errors import ConfigurationError  # noqa: PLC0415

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        invoke(versioned, user_lines(1))
