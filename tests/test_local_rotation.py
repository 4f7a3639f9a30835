"""The demo's salt rotation (snowplow_infra.local.rotation) against moto: records on both sides."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from snowplow_infra import salt_rotation
from snowplow_infra.local import feed, rotation

REGION = "us-east-1"
SECRET_ID = "snowplow/pseudonymization-salt"
PLAIN = "the demo's first salt, 32 bytes or more: 4c1d"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        kinesis = boto3.client("kinesis", region_name=REGION)
        secrets = boto3.client("secretsmanager", region_name=REGION)
        kinesis.create_stream(StreamName="enriched", ShardCount=1)
        secrets.create_secret(Name=SECRET_ID, SecretString=PLAIN)
        yield kinesis, secrets


def arrivals(kinesis: Any) -> list[tuple[bytes, int]]:
    shard = kinesis.describe_stream(StreamName="enriched")["StreamDescription"]["Shards"][0]
    iterator = kinesis.get_shard_iterator(
        StreamName="enriched", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    return [(r["Data"], int(r["ApproximateArrivalTimestamp"].timestamp() * 1000)) for r in records]


def test_half_the_records_arrive_before_the_new_version_and_half_after(
    aws: tuple[Any, Any],
) -> None:
    kinesis, secrets = aws
    records = [feed.Record(f"event {n}".encode(), "enriched", (), f"key-{n}") for n in range(6)]
    messages: list[str] = []
    switch = rotation.put_around_a_switch(
        kinesis, secrets, SECRET_ID, {"enriched_good": ("enriched", records)}, messages.append
    )
    assert (switch.old_id, switch.new_id) == ("0", "1")
    assert switch.old_salt == PLAIN.encode()
    assert re.fullmatch(rb"[0-9a-f]{64}", switch.new_salt)
    at_ms = salt_rotation.epoch_ms(switch.at)
    put = arrivals(kinesis)
    assert [data for data, _ in put] == [r.data for r in records], "in order, each once"
    assert all(arrival < at_ms for _, arrival in put[:3])
    assert all(arrival >= at_ms for _, arrival in put[3:])
    document = json.loads(
        secrets.get_secret_value(SecretId=SECRET_ID, VersionStage="AWSCURRENT")["SecretString"]
    )
    assert [v["id"] for v in document["versions"]] == ["0", "1"]
    assert document["versions"][1]["active_from"] == salt_rotation.utc(switch.at)
    assert PLAIN not in messages[0] and switch.new_salt.decode() not in messages[0]


def test_the_version_of_an_object_is_read_from_its_key() -> None:
    assert rotation.version_of("output/salt_version=2/2026/12/02/18/x.gz") == "2"
    assert rotation.version_of("output/2026/12/02/18/x.gz") is None
