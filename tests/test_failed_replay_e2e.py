"""`make demo SALT_OUTAGE=1`, then `snowplow-infra failed explain|replay --local`, end to end.

The demo makes the salt unreadable for the first batch of enriched events: those records land
raw under the error prefix as Lambda.FunctionError, beside the malformed records. explain says
they would now succeed; replay puts them back on the source stream, the demo's Firehose delivers
them through the deployed Lambda, and every event is then delivered exactly once and
pseudonymized, while the malformed records stay quarantined. One apply and one destroy.
"""

from __future__ import annotations

import datetime
import gzip
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snowplow_infra import pipeline
from snowplow_infra.local import feed, server
from snowplow_infra.local.report import REPORT_FILE_NAME
from snowplow_infra.sample_events import FIELD_NAMES
from tests.conftest import cli_path
from tests.test_demo_e2e import artifacts, local  # noqa: F401 (the fixture is used by name)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.terraform]

VALUES = pipeline.load()
EVENTS = 400
SEED = 11
EVENT_ID = FIELD_NAMES.index("event_id")


def failed(work_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cli_path()), "failed", *args, "--local", "--work-dir", str(work_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def outage(artifacts: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:  # noqa: F811
    """A demo run with a salt outage; its work folder, report, output and running emulator."""
    work_dir = tmp_path_factory.mktemp("outage")
    try:
        result = local(
            work_dir, "demo", "--events", str(EVENTS), "--seed", str(SEED), "--salt-outage"
        )
        assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr}"
        running = server.find(work_dir)
        assert running is not None
        report = json.loads((work_dir / REPORT_FILE_NAME).read_text())
        yield {"work_dir": work_dir, "report": report, "out": result.stdout, "server": running}
    finally:
        local(work_dir, "down")


def s3_lines(demo: dict[str, Any], bucket: str, prefix: str) -> dict[str, list[bytes]]:
    s3 = demo["server"].client("s3", VALUES.region)
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found[item["Key"]] = gzip.decompress(body).splitlines()
    return found


def test_a_salt_outage_is_explained_and_replayed_exactly_once(outage: dict[str, Any]) -> None:
    report, work_dir = outage["report"], outage["work_dir"]
    start = datetime.datetime.fromisoformat(report["events_start"])
    fed = feed.records(report["events"], seed=report["seed"], start=start)
    good = [r for r in fed["enriched_good"] if not r.malformed]
    malformed = [r for r in fed["enriched_good"] if r.malformed]
    delivery = report["deliveries"]["enriched_good"]
    assert "the salt secret was unreadable" in outage["out"]
    lost = delivery["failed"] - len(malformed)
    assert lost > 0, "the outage sent a batch to processing-failed/"
    assert delivery["ok"] + delivery["failed"] == len(fed["enriched_good"])

    listed = failed(work_dir, "list", "--stream", "enriched_good")
    assert listed.returncode == 0, listed.stderr
    assert (
        "Lambda.FunctionError" in listed.stdout and "Lambda.ProcessingFailedStatus" in listed.stdout
    )

    explained = failed(work_dir, "explain", "--stream", "enriched_good")
    assert explained.returncode == 0, explained.stderr
    would = re.search(r"Lambda\.FunctionError\s+WouldNowSucceed\s+(\d+)", explained.stdout)
    assert would and int(would[1]) == lost, explained.stdout
    assert "Lambda.FunctionError" not in explained.stdout.replace(would[0], ""), (
        "every record of the outage would now succeed"
    )

    dry = failed(work_dir, "replay", "--stream", "enriched_good")
    assert dry.returncode == 0 and f"Dry run: {lost} records" in dry.stdout, dry.stdout

    replayed = failed(work_dir, "replay", "--stream", "enriched_good", "--execute")
    assert replayed.returncode == 0, f"{replayed.stdout}\n{replayed.stderr}"
    assert f"Put {lost} records" in replayed.stdout
    assert "Every enriched event was delivered exactly once." in replayed.stdout

    stream = VALUES.delivery["enriched_good"]
    bucket = VALUES.buckets["events"]
    lines = [line for found in s3_lines(outage, bucket, stream.prefix).values() for line in found]
    ids = [line.split(b"\t")[EVENT_ID].decode() for line in lines]
    assert sorted(ids) == sorted(r.partition_key for r in good), "every event, exactly once"
    text = b"\n".join(lines).decode()
    planted = {value for r in fed["enriched_good"] for value in r.planted}
    assert not [value for value in planted if value in text], "replayed events are pseudonymized"

    errors = s3_lines(outage, bucket, f"processing-failed/{stream.prefix}processing-failed/")
    raw = [json.loads(line) for found in errors.values() for line in found]
    assert len(raw) == delivery["failed"], "the error objects stay until they expire"

    again = failed(work_dir, "replay", "--stream", "enriched_good", "--execute")
    assert again.returncode == 0 and "Nothing to replay" in again.stdout, again.stdout
