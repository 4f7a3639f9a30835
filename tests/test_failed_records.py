"""``snowplow-infra failed list|explain|replay`` against moto: counts, reasons, exactly once."""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from snowplow_infra import cli, pipeline
from snowplow_infra.failed import manifest, replay, selection, target
from snowplow_infra.failed.documents import REPLAYED_TAG
from snowplow_infra.failed.locations import MANIFEST_PREFIX, locations
from snowplow_infra.local import firehose
from snowplow_infra.package_lambda import package
from snowplow_infra.paths import LAMBDA_SOURCE_DIR
from snowplow_infra.sample_events import enriched_line

VALUES = pipeline.load()
REGION = VALUES.region
ACCOUNT = "123456789012"
BUCKET = VALUES.buckets["events"]
HOUR_MS = 1_714_564_800_000  # 2024-05-01T12:00:00Z
PLANTED = "planted-user@example.org"
STREAM = VALUES.streams[VALUES.delivery["enriched_good"].source].name


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package(LAMBDA_SOURCE_DIR, tmp_path_factory.mktemp("lambda") / "fn.zip").zip_path


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, built_zip: Path) -> Iterator[dict[str, Any]]:
    """The environment's delivery streams, source streams, bucket and functions, in moto."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_lifecycle_configuration(
            Bucket=BUCKET,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "processing-failed",
                        "Filter": {"Prefix": "processing-failed/"},
                        "Status": "Enabled",
                        "Expiration": {"Days": 7},
                    }
                ]
            },
        )
        kinesis = boto3.client("kinesis", region_name=REGION)
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lambdas = boto3.client("lambda", region_name=REGION)
        arns = {}
        for record_format, name in VALUES.pseudonymization.functions.items():
            arns[record_format] = lambdas.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="handler.lambda_handler",
                Code={"ZipFile": built_zip.read_bytes()},
            )["FunctionArn"]
        client = boto3.client("firehose", region_name=REGION)
        for delivery in VALUES.delivery.values():
            stream_name = VALUES.streams[delivery.source].name
            kinesis.create_stream(StreamName=stream_name, ShardCount=2)
            arn = kinesis.describe_stream_summary(StreamName=stream_name)[
                "StreamDescriptionSummary"
            ]["StreamARN"]
            client.create_delivery_stream(
                DeliveryStreamName=delivery.name,
                DeliveryStreamType="KinesisStreamAsSource",
                KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": role},
                ExtendedS3DestinationConfiguration={
                    "RoleARN": role,
                    "BucketARN": f"arn:aws:s3:::{BUCKET}",
                    "Prefix": f"{delivery.prefix}!{{timestamp:yyyy/MM/dd/HH}}/",
                    "ErrorOutputPrefix": f"processing-failed/{delivery.prefix}"
                    "!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/",
                    "CompressionFormat": "GZIP",
                    "BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": 300},
                    "ProcessingConfiguration": {
                        "Enabled": True,
                        "Processors": [
                            {
                                "Type": "Lambda",
                                "Parameters": [
                                    {
                                        "ParameterName": "LambdaArn",
                                        "ParameterValue": arns[delivery.record_format],
                                    }
                                ],
                            }
                        ],
                    },
                },
            )
        yield {"s3": s3, "kinesis": kinesis}


def good(number: int) -> bytes:
    return (enriched_line({"app_id": "gitlab", "user_id": f"{PLANTED}-{number}"}) + "\n").encode()


def short() -> bytes:
    return "\t".join([PLANTED] * 5).encode()


def put_error_object(
    s3: Any, datas: list[bytes], code: tuple[str, str], start_ms: int = HOUR_MS
) -> str:
    """An error object as Firehose writes it for the enriched-good delivery stream."""
    description = boto3.client("firehose", region_name=REGION).describe_delivery_stream(
        DeliveryStreamName=VALUES.delivery["enriched_good"].name
    )["DeliveryStreamDescription"]
    stream = firehose.DeliveryStream.from_description(
        description, {"processor_buffer_size_mb": 1, "processor_buffer_interval_seconds": 60}
    )
    body = b"".join(
        firehose.error_document(
            firehose.SourceRecord(data, start_ms + n, "shardId-0", "k", str(n)),
            code,
            attempts=4,
            ended_ms=start_ms + 1000,
            lambda_arn=stream.processor_arn,
        )
        for n, data in enumerate(datas)
    )
    key = firehose.object_key(stream, start_ms, error_output_type="processing-failed")
    s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(body))
    return key


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(["failed", *argv])
    captured = capsys.readouterr()
    assert PLANTED not in captured.out + captured.err, "a record's value reached the output"
    return code, captured.out + captured.err


def stream_records(kinesis: Any, stream: str = STREAM) -> list[bytes]:
    found = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        found += [record["Data"] for record in page["Records"]]
    return found


# --- list ----------------------------------------------------------------------------------------


def test_list_counts_records_per_stream_hour_and_code_with_the_expiry(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    put_error_object(aws["s3"], [good(1), good(2), good(3)], firehose.FUNCTION_ERROR)
    put_error_object(aws["s3"], [short()], firehose.RECORD_FAILED, HOUR_MS + 3_600_000)
    code, out = run(capsys, "list")
    assert code == 0, out
    rows = [line.split() for line in out.splitlines() if "snowplow-enriched-good-to-s3" in line]
    written = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=8)
    expiry = str(written.date())
    stream = ["snowplow-enriched-good-to-s3", "processing-failed"]
    assert rows == [
        [*stream, "2024/05/01/12", "Lambda.FunctionError", "1", "3", "0", expiry],
        [*stream, "2024/05/01/13", "Lambda.ProcessingFailedStatus", "1", "1", "0", expiry],
    ]


def test_the_expiry_is_the_midnight_after_the_retention() -> None:
    written = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC)
    assert selection.expires(written, 7) == datetime.date(2024, 5, 9)


# --- explain --------------------------------------------------------------------------------------


def test_explain_says_why_each_record_fails_today_by_the_packaged_lambda(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], built_zip: Path
) -> None:
    put_error_object(aws["s3"], [good(1), good(2)], firehose.FUNCTION_ERROR)
    put_error_object(
        aws["s3"], [short(), b"\xff\xfe" + PLANTED.encode()], firehose.RECORD_FAILED, HOUR_MS + 1
    )
    code, out = run(capsys, "explain", "--package", str(built_zip), "--stream", "enriched_good")
    assert code == 0, out
    rows = {tuple(line.split()[1:4]) for line in out.splitlines() if "-to-s3 " in line}
    assert rows == {
        ("Lambda.FunctionError", "WouldNowSucceed", "2"),
        ("Lambda.ProcessingFailedStatus", "MalformedUtf8", "1"),
        ("Lambda.ProcessingFailedStatus", "WrongFieldCount", "1"),
    }


def test_show_record_needs_the_acknowledgement_and_shows_names_and_lengths_only(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], built_zip: Path
) -> None:
    put_error_object(aws["s3"], [good(1)], firehose.FUNCTION_ERROR)
    argv = ["explain", "--package", str(built_zip), "--show-record", "1"]
    code, out = run(capsys, *argv)
    assert code == 2 and "--acknowledge-raw-access" in out
    code, out = run(capsys, *argv, "--acknowledge-raw-access")
    assert code == 0, out
    shape = json.loads(out[out.index("{") :])
    fields = {field["field"]: field["length"] for field in shape["lines"][0]}
    assert fields["user_id"] == len(f"{PLANTED}-1") and fields["app_id"] == len("gitlab")


def test_explain_refuses_a_package_that_is_not_the_deployed_code(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path, built_zip: Path
) -> None:
    put_error_object(aws["s3"], [good(1)], firehose.FUNCTION_ERROR)
    other = tmp_path / "other.zip"
    other.write_bytes(built_zip.read_bytes() + b"\0")
    code, out = run(capsys, "explain", "--package", str(other))
    assert code == 1 and "is not the code deployed as" in out


# --- replay ---------------------------------------------------------------------------------------


def test_replay_is_a_dry_run_unless_executed_then_puts_each_good_record_once(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], built_zip: Path
) -> None:
    outage = put_error_object(aws["s3"], [good(1), good(2), good(3)], firehose.FUNCTION_ERROR)
    mixed = put_error_object(aws["s3"], [short(), good(4)], firehose.RECORD_FAILED, HOUR_MS - 5)
    code, out = run(capsys, "replay", "--package", str(built_zip))
    assert code == 0 and "Dry run: 4 records would be put back" in out, out
    assert stream_records(aws["kinesis"]) == []

    code, out = run(capsys, "replay", "--package", str(built_zip), "--execute")
    assert code == 0 and "Put 4 records" in out, out
    put = stream_records(aws["kinesis"])
    assert sorted(put) == sorted([good(1), good(2), good(3), good(4)])
    for key in (outage, mixed):
        tags = aws["s3"].get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
        assert tags == [{"Key": REPLAYED_TAG, "Value": "replayed"}]
    document = json.loads(
        aws["s3"].get_object(Bucket=BUCKET, Key=f"{MANIFEST_PREFIX}{mixed}.json")["Body"].read()
    )
    assert set(document["accepted"]) == {"1"} and document["complete"] is True
    assert document["pending"] is None

    code, out = run(capsys, "replay", "--package", str(built_zip), "--execute")
    assert code == 0 and "Nothing to replay" in out
    assert len(stream_records(aws["kinesis"])) == 4
    code, out = run(capsys, "list")
    rows = [line.split() for line in out.splitlines() if "-to-s3 " in line]
    assert [row[4:7] for row in rows] == [["1", "2", "1"], ["1", "3", "1"]], "both replayed"


def test_include_malformed_puts_the_malformed_records_too(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], built_zip: Path
) -> None:
    put_error_object(aws["s3"], [short(), good(1)], firehose.RECORD_FAILED)
    argv = ("replay", "--package", str(built_zip), "--execute", "--include-malformed")
    code, out = run(capsys, *argv)
    assert code == 0, out
    assert sorted(stream_records(aws["kinesis"])) == sorted([short(), good(1)])


def _replays(s3: Any, built_zip: Path) -> list[replay.ObjectReplay]:
    where = target.Target(VALUES, None)
    found = locations(where.client("firehose"), VALUES, ["enriched_good"])
    from snowplow_infra.failed.command import verdicts_of  # noqa: PLC0415

    chosen = selection.select(s3, found, include_replayed=False)
    results, _ = verdicts_of(where, chosen, built_zip)
    return [
        replay.ObjectReplay(manifest.load(s3, p.item, len(p.records)), p.records, v, False)
        for p, v in zip(chosen, results, strict=True)
    ]


class Interrupted(Exception):
    pass


class CutAfter:
    """A Kinesis client whose n-th PutRecords is accepted, then the process 'dies'."""

    def __init__(self, kinesis: Any, calls: int) -> None:
        self.kinesis = kinesis
        self.calls = calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kinesis, name)

    def put_records(self, **request: Any) -> Any:
        response = self.kinesis.put_records(**request)
        self.calls -= 1
        if self.calls == 0:
            raise Interrupted
        return response


def test_an_interrupted_replay_resumes_without_duplicating(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, built_zip: Path
) -> None:
    monkeypatch.setattr(replay, "MAX_RECORDS_PER_PUT", 2)
    datas = [good(n) for n in range(7)]
    key = put_error_object(aws["s3"], datas, firehose.FUNCTION_ERROR)
    with pytest.raises(Interrupted):
        replay.execute(aws["s3"], CutAfter(aws["kinesis"], 2), _replays(aws["s3"], built_zip))
    assert len(stream_records(aws["kinesis"])) == 4, "two calls of two were accepted"
    tags = aws["s3"].get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    assert tags == [], "not tagged before every record was accepted"
    document = json.loads(
        aws["s3"].get_object(Bucket=BUCKET, Key=f"{MANIFEST_PREFIX}{key}.json")["Body"].read()
    )
    assert len(document["accepted"]) == 2 and len(document["pending"]["records"]) == 2

    outcome = replay.execute(aws["s3"], aws["kinesis"], _replays(aws["s3"], built_zip))
    assert outcome.found_after_interruption == 2 and outcome.put == 3
    assert sorted(stream_records(aws["kinesis"])) == sorted(datas), "each record exactly once"
    assert outcome.tagged == [key]


class Throttling:
    """A Kinesis client that throttles every other entry of the first PutRecords call."""

    def __init__(self, kinesis: Any) -> None:
        self.kinesis = kinesis
        self.first = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kinesis, name)

    def put_records(self, StreamName: str, Records: list[Any]) -> Any:
        if not self.first:
            return self.kinesis.put_records(StreamName=StreamName, Records=Records)
        self.first = False
        accepted = self.kinesis.put_records(StreamName=StreamName, Records=Records[::2])
        results = iter(accepted["Records"])
        throttled = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "x"}
        return {
            "FailedRecordCount": len(Records) // 2,
            "Records": [next(results) if n % 2 == 0 else throttled for n in range(len(Records))],
        }


def test_throttled_entries_are_retried_until_accepted(aws: dict[str, Any], built_zip: Path) -> None:
    datas = [good(n) for n in range(5)]
    put_error_object(aws["s3"], datas, firehose.FUNCTION_ERROR)
    waits: list[float] = []
    outcome = replay.execute(
        aws["s3"], Throttling(aws["kinesis"]), _replays(aws["s3"], built_zip), sleep=waits.append
    )
    assert (outcome.put, outcome.throttled, outcome.calls) == (5, 2, 2)
    assert len(waits) == 1
    assert sorted(stream_records(aws["kinesis"])) == sorted(datas)


def test_replay_puts_in_arrival_order_within_kinesis_limits(
    aws: dict[str, Any], built_zip: Path
) -> None:
    later = put_error_object(aws["s3"], [good(1)], firehose.FUNCTION_ERROR, HOUR_MS + 10)
    earlier = put_error_object(aws["s3"], [good(2), good(3)], firehose.FUNCTION_ERROR, HOUR_MS)
    entries = replay.ordered(_replays(aws["s3"], built_zip))
    assert [(e[1].key, e[1].index) for e in entries] == [(earlier, 0), (earlier, 1), (later, 0)]


def test_batches_respect_the_count_and_byte_limits() -> None:
    from snowplow_infra.failed.documents import FailedRecord  # noqa: PLC0415

    def entry(size: int) -> Any:
        return (None, FailedRecord("k", 0, 0, "c", 1, b"x" * size))

    assert [len(b) for b in replay.batches([entry(10)] * 1001)] == [500, 500, 1]
    big = replay.MAX_RECORD_BYTES - 64
    assert [len(b) for b in replay.batches([entry(big)] * 11)] == [5, 5, 1], "5 MiB a call"
    with pytest.raises(replay.ReplayError, match="at most"):
        list(replay.batches([entry(replay.MAX_RECORD_BYTES)]))


def test_the_commands_never_print_record_data(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], built_zip: Path
) -> None:
    put_error_object(aws["s3"], [good(1), short()], firehose.RECORD_FAILED)
    for argv in (["list"], ["explain", "--package", str(built_zip)]):
        code, out = run(capsys, *argv)
        assert code == 0
        assert base64.b64encode(good(1)).decode()[:40] not in out


def test_the_manifest_prefix_is_the_one_terraform_restricts() -> None:
    """The tooling writes manifests where the replay role may (data_path.tf's local)."""
    from snowplow_infra.paths import environment_dir  # noqa: PLC0415

    text = (environment_dir(pipeline.DEFAULT_ENVIRONMENT) / "data_path.tf").read_text()
    failed = re.search(r'processing_failed_prefix\s*=\s*"([^"]+)"', text)
    manifests = re.search(
        r'replay_manifest_prefix\s*=\s*"\$\{local\.processing_failed_prefix\}([^"]+)"', text
    )
    assert failed and manifests
    assert failed[1] + manifests[1] == MANIFEST_PREFIX


def test_the_demos_salt_outage_lasts_exactly_one_batchs_attempts(aws: dict[str, Any]) -> None:
    from snowplow_infra.local.outage import SaltOutage  # noqa: PLC0415

    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(Name="salt", SecretString="s3cret")["ARN"]
    readable: list[bool] = []

    def invoke(event: dict[str, Any]) -> firehose.Invocation:
        try:
            secrets.get_secret_value(SecretId=arn)
        except secrets.exceptions.InvalidRequestException:
            readable.append(False)
            return firehose.Invocation(error=firehose.FUNCTION_ERROR)
        readable.append(True)
        return firehose.Invocation(response={"records": []})

    outage = SaltOutage(secrets, arn, invoke, attempts=4)
    for _ in range(6):
        outage({})
    assert readable == [False, False, False, False, True, True]
    assert secrets.get_secret_value(SecretId=arn)["SecretString"] == "s3cret", "value kept"


def test_bad_rows_are_judged_and_described_by_their_own_format(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], built_zip: Path
) -> None:
    from snowplow_infra.failed import judge  # noqa: PLC0415

    schema = "iglu:com.snowplowanalytics.snowplow.badrows/generic_error/jsonschema/2-0-0"
    row = json.dumps({"schema": schema, "data": {"payload": PLANTED, "errors": [PLANTED]}})
    records = [
        base64.b64encode(d).decode() for d in (row.encode(), b"not json " + PLANTED.encode())
    ]
    verdicts = judge.judge(built_zip.read_bytes(), "bad_rows", records, describe=[0])
    assert verdicts.reasons == ["WouldNowSucceed", "UnparsableBadRow"]
    fields = {f["field"]: f["length"] for f in verdicts.shapes[0]["fields"]}
    assert set(fields) == {"schema", "data", "data.payload", "data.errors"}
    assert PLANTED not in json.dumps(verdicts.shapes)
