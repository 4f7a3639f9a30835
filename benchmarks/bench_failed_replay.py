"""Benchmark of ``snowplow-infra failed explain|replay`` on 10 000 failed records (moto in process).

Builds, in moto's in-process AWS, the environment's enriched-good delivery stream, its Kinesis
source (4 shards), the events bucket and the pseudonymization function (the zip built from this
checkout), and error objects as Firehose writes them after a salt outage: 20 objects of 500
realistic enriched events each (``snowplow_infra.sample_events``). Then measures, ``--rounds``
times on fresh state, the wall and CPU time of

* judging every record with the packaged Lambda (what ``explain`` and ``replay`` do first);
* ``replay --execute``: manifests, PutRecords in arrival order, tags.

and prints records/s and the median of each. moto answers in microseconds where Kinesis takes
milliseconds, and it never throttles: on AWS the replay is bounded by the stream's write capacity
(docs/alarms.md, "processing-failed"), not by this figure. Exits non-zero if a round fails to put
every record exactly once.

    python benchmarks/bench_failed_replay.py [--records 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from snowplow_infra import pipeline, sample_events
from snowplow_infra.failed import judge, manifest, replay, selection
from snowplow_infra.failed.locations import locations
from snowplow_infra.package_lambda import package
from snowplow_infra.paths import LAMBDA_SOURCE_DIR

VALUES = pipeline.load()
ROLE = "enriched_good"
PER_OBJECT = 500
START_MS = 1_714_564_800_000


def environment(zip_bytes: bytes) -> dict[str, Any]:
    region = VALUES.region
    delivery = VALUES.delivery[ROLE]
    bucket = VALUES.buckets["events"]
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=bucket)
    kinesis = boto3.client("kinesis", region_name=region)
    stream = VALUES.streams[delivery.source].name
    kinesis.create_stream(StreamName=stream, ShardCount=4)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    role = boto3.client("iam", region_name=region).create_role(
        RoleName="bench", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    function = boto3.client("lambda", region_name=region).create_function(
        FunctionName=VALUES.pseudonymization.functions[delivery.record_format],
        Runtime="python3.12",
        Role=role,
        Handler="handler.lambda_handler",
        Code={"ZipFile": zip_bytes},
    )["FunctionArn"]
    boto3.client("firehose", region_name=region).create_delivery_stream(
        DeliveryStreamName=delivery.name,
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": role},
        ExtendedS3DestinationConfiguration={
            "RoleARN": role,
            "BucketARN": f"arn:aws:s3:::{bucket}",
            "Prefix": f"{delivery.prefix}!{{timestamp:yyyy/MM/dd/HH}}/",
            "ErrorOutputPrefix": f"processing-failed/{delivery.prefix}"
            "!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/",
            "BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": 300},
            "ProcessingConfiguration": {
                "Enabled": True,
                "Processors": [
                    {
                        "Type": "Lambda",
                        "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": function}],
                    }
                ],
            },
        },
    )
    return {"s3": s3, "kinesis": kinesis, "bucket": bucket, "stream": stream}


def error_objects(s3: Any, bucket: str, records: list[bytes]) -> None:
    delivery = VALUES.delivery[ROLE]
    for start in range(0, len(records), PER_OBJECT):
        lines = [
            json.dumps(
                {
                    "attemptsMade": 4,
                    "arrivalTimestamp": START_MS + n,
                    "errorCode": "Lambda.FunctionError",
                    "errorMessage": "The Lambda function was successfully invoked but it "
                    "returned an error result.",
                    "attemptEndingTimestamp": START_MS + 60_000,
                    "rawData": base64.b64encode(data).decode("ascii"),
                    "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                }
            )
            for n, data in enumerate(records[start : start + PER_OBJECT], start=start)
        ]
        key = (
            f"processing-failed/{delivery.prefix}processing-failed/2024/05/01/12/"
            f"{delivery.name}-1-2024-05-01-12-00-00-{start:08d}.gz"
        )
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress("\n".join(lines).encode()))


def measure(zip_path: Path, records: list[bytes]) -> tuple[float, float, float, float]:
    """One round on fresh state: (judge wall, judge CPU, replay wall, replay CPU) in seconds."""
    with mock_aws():
        env = environment(zip_path.read_bytes())
        error_objects(env["s3"], env["bucket"], records)
        firehose = boto3.client("firehose", region_name=VALUES.region)
        lambdas = boto3.client("lambda", region_name=VALUES.region)
        (location,) = locations(firehose, VALUES, [ROLE])
        chosen = selection.select(env["s3"], [location], include_replayed=False)

        wall, cpu = time.perf_counter(), time.process_time() + _children_cpu()
        checked = judge.check_deployed(zip_path, lambdas, location.processor_arn)
        verdicts = [
            judge.judge(
                checked,
                location.record_format,
                [base64.b64encode(r.data).decode("ascii") for r in picked.records],
            ).reasons
            for picked in chosen
        ]
        judged = (time.perf_counter() - wall, time.process_time() + _children_cpu() - cpu)
        if any(v != judge.WOULD_NOW_SUCCEED for reasons in verdicts for v in reasons):
            sys.exit("bench_failed_replay: a generated record was judged malformed.")

        replays = [
            replay.ObjectReplay(
                manifest.load(env["s3"], p.item, len(p.records)), p.records, v, False
            )
            for p, v in zip(chosen, verdicts, strict=True)
        ]
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = replay.execute(env["s3"], env["kinesis"], replays)
        put = (time.perf_counter() - wall, time.process_time() - cpu)
        if outcome.put != len(records) or len(outcome.tagged) != len(chosen):
            sys.exit(f"bench_failed_replay: put {outcome.put} of {len(records)} records.")
    return (*judged, *put)


def moto_credentials() -> dict[str, str]:
    """Fake credentials: moto accepts any."""
    return {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(moto_credentials())
    events = sample_events.enriched_events(args.records, seed=7)
    records = [(event.text + "\n").encode("utf-8") for event in events]
    with tempfile.TemporaryDirectory() as folder:
        zip_path = package(LAMBDA_SOURCE_DIR, Path(folder) / "fn.zip").zip_path
        rounds = [measure(zip_path, records) for _ in range(args.rounds)]
    judge_wall, judge_cpu, put_wall, put_cpu = (
        statistics.median(r[i] for r in rounds) for i in range(4)
    )
    size = sum(len(r) for r in records) / 1e6
    print(
        f"{args.records} failed records ({size:.1f} MB), {len(records) // PER_OBJECT} objects, "
        f"median of {args.rounds} rounds:"
    )
    print(
        f"  judge (explain): {judge_wall:6.2f} s wall, {judge_cpu:6.2f} s CPU, "
        f"{args.records / judge_wall:8.0f} records/s"
    )
    print(
        f"  replay --execute: {put_wall:6.2f} s wall, {put_cpu:6.2f} s CPU, "
        f"{args.records / put_wall:8.0f} records/s (moto: no network, no throttling)"
    )
    print(f"  total: {judge_wall + put_wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
