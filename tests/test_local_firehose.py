"""The Firehose emulation of the local demo (snowplow_infra.local.firehose): its configuration as
the emulator describes it, buffering, the transformation contract, object names and error records.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from snowplow_infra.local import firehose
from snowplow_infra.local.firehose import DeliveryStream, Invocation, SourceRecord

REGION = "us-east-1"
ACCOUNT = "123456789012"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:snowplow-pseudonymize-enriched"
IN_EFFECT = {"processor_buffer_size_mb": 0.5, "processor_buffer_interval_seconds": 30}
MAY_1_NOON_MS = 1_714_564_800_000  # 2024-05-01T12:00:00Z


def stream(**changes: Any) -> DeliveryStream:
    values: dict[str, Any] = {
        "name": "snowplow-enriched-good-to-s3",
        "arn": f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/snowplow-enriched-good-to-s3",
        "version_id": "1",
        "source_stream_arn": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/snowplow-enriched-good",
        "processor_arn": LAMBDA_ARN,
        "processor_buffer_bytes": 1000,
        "processor_interval_ms": 30_000,
        "processor_retries": 3,
        "bucket": "gitlab-com-snowplow-events",
        "prefix": "output/!{timestamp:yyyy/MM/dd/HH}/",
        "error_prefix": "processing-failed/output/!{firehose:error-output-type}/"
        "!{timestamp:yyyy/MM/dd/HH}/",
        "compression": "GZIP",
        "kms_key_arn": None,
        "buffer_bytes": 10_000,
        "buffer_interval_ms": 300_000,
    }
    return DeliveryStream(**(values | changes))


def record(number: int, data: bytes = b"x" * 100, arrival_ms: int = MAY_1_NOON_MS) -> SourceRecord:
    return SourceRecord(data, arrival_ms, "shardId-000000000001", f"key-{number}", str(number))


# --- buffering ------------------------------------------------------------------------------------


def sizes(buffers: list[list[SourceRecord]]) -> list[int]:
    return [len(buffer) for buffer in buffers]


def test_a_buffer_is_flushed_before_it_would_exceed_the_size() -> None:
    records = [record(n, b"x" * 300) for n in range(7)]
    buffers = firehose.buffered(
        records, lambda r: len(r.data), lambda r: r.arrival_ms, 1000, 30_000
    )
    assert sizes(buffers) == [3, 3, 1]
    assert [r for buffer in buffers for r in buffer] == records


def test_a_record_larger_than_the_buffer_travels_alone() -> None:
    records = [record(0, b"x" * 10), record(1, b"x" * 5000), record(2, b"x" * 10)]
    buffers = firehose.buffered(
        records, lambda r: len(r.data), lambda r: r.arrival_ms, 1000, 30_000
    )
    assert sizes(buffers) == [1, 1, 1]


def test_a_buffer_is_flushed_when_its_interval_has_passed_since_its_first_record() -> None:
    arrivals = [0, 10_000, 29_999, 30_000, 45_000, 59_999, 60_000]
    records = [record(n, b"x", MAY_1_NOON_MS + ms) for n, ms in enumerate(arrivals)]
    buffers = firehose.buffered(
        records, lambda r: len(r.data), lambda r: r.arrival_ms, 1000, 30_000
    )
    assert sizes(buffers) == [3, 3, 1]


# --- configuration from DescribeDeliveryStream ----------------------------------------------------


@pytest.fixture
def described() -> Iterator[dict[str, Any]]:
    """A delivery stream created in moto the way the firehose-to-s3 module creates it."""
    with mock_aws():
        kinesis = boto3.client("kinesis", region_name=REGION)
        kinesis.create_stream(StreamName="snowplow-enriched-good", ShardCount=1)
        source = kinesis.describe_stream_summary(StreamName="snowplow-enriched-good")
        client = boto3.client("firehose", region_name=REGION)
        role = f"arn:aws:iam::{ACCOUNT}:role/delivery"
        client.create_delivery_stream(
            DeliveryStreamName="snowplow-enriched-good-to-s3",
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={
                "KinesisStreamARN": source["StreamDescriptionSummary"]["StreamARN"],
                "RoleARN": role,
            },
            ExtendedS3DestinationConfiguration={
                "RoleARN": role,
                "BucketARN": "arn:aws:s3:::gitlab-com-snowplow-events",
                "Prefix": "output/!{timestamp:yyyy/MM/dd/HH}/",
                "ErrorOutputPrefix": "processing-failed/output/!{firehose:error-output-type}/"
                "!{timestamp:yyyy/MM/dd/HH}/",
                "CompressionFormat": "GZIP",
                "BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": 300},
                "EncryptionConfiguration": {
                    "KMSEncryptionConfig": {"AWSKMSKeyARN": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"}
                },
                "ProcessingConfiguration": {
                    "Enabled": True,
                    "Processors": [
                        {
                            "Type": "Lambda",
                            "Parameters": [
                                {"ParameterName": "LambdaArn", "ParameterValue": LAMBDA_ARN},
                                {"ParameterName": "BufferSizeInMBs", "ParameterValue": "0.5"},
                                {
                                    "ParameterName": "BufferIntervalInSeconds",
                                    "ParameterValue": "30",
                                },
                            ],
                        }
                    ],
                },
            },
        )
        response = client.describe_delivery_stream(
            DeliveryStreamName="snowplow-enriched-good-to-s3"
        )
        yield response["DeliveryStreamDescription"]


def test_the_configuration_comes_from_describe_delivery_stream(described: dict[str, Any]) -> None:
    parsed = DeliveryStream.from_description(described, IN_EFFECT)
    assert parsed.source_stream_name == "snowplow-enriched-good"
    assert parsed.processor_arn == LAMBDA_ARN
    assert parsed.processor_buffer_bytes == 512 * 1024
    assert parsed.processor_interval_ms == 30_000
    assert parsed.processor_retries == firehose.DEFAULT_PROCESSOR_RETRIES
    assert parsed.bucket == "gitlab-com-snowplow-events"
    assert parsed.buffer_bytes == 128 * 1024 * 1024
    assert parsed.buffer_interval_ms == 300_000
    assert parsed.extension == ".gz"
    assert parsed.kms_key_arn == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"


def test_a_processor_parameter_left_out_comes_from_terraforms_output(
    described: dict[str, Any],
) -> None:
    (processor,) = described["Destinations"][0]["ExtendedS3DestinationDescription"][
        "ProcessingConfiguration"
    ]["Processors"]
    processor["Parameters"] = [
        p for p in processor["Parameters"] if p["ParameterName"] == "LambdaArn"
    ]
    in_effect = {"processor_buffer_size_mb": 1, "processor_buffer_interval_seconds": 60}
    parsed = DeliveryStream.from_description(described, in_effect)
    assert (parsed.processor_buffer_bytes, parsed.processor_interval_ms) == (1024 * 1024, 60_000)
    with pytest.raises(firehose.FirehoseError, match="describes no BufferSizeInMBs"):
        DeliveryStream.from_description(described, {})


def test_the_emulator_and_terraform_disagreeing_is_an_error(described: dict[str, Any]) -> None:
    with pytest.raises(firehose.FirehoseError, match="apply the environment again"):
        DeliveryStream.from_description(described, IN_EFFECT | {"processor_buffer_size_mb": 1})


def test_a_stream_without_a_lambda_processor_is_refused(described: dict[str, Any]) -> None:
    destination = described["Destinations"][0]["ExtendedS3DestinationDescription"]
    destination["ProcessingConfiguration"]["Enabled"] = False
    with pytest.raises(firehose.FirehoseError, match="no enabled Lambda processor"):
        DeliveryStream.from_description(described, IN_EFFECT)


# --- object names and prefixes --------------------------------------------------------------------


def test_objects_are_named_as_firehose_names_them() -> None:
    object_id = uuid.UUID("0f6a3c5e-8d2b-4c1a-9e7f-1234567890ab")
    arrival = MAY_1_NOON_MS + (34 * 60 + 56) * 1000 + 789
    key = firehose.object_key(stream(), arrival, object_id=object_id)
    assert key == (
        "output/2024/05/01/12/snowplow-enriched-good-to-s3-1-2024-05-01-12-34-56-"
        "0f6a3c5e-8d2b-4c1a-9e7f-1234567890ab.gz"
    )
    error_key = firehose.object_key(
        stream(compression="UNCOMPRESSED", version_id="3"),
        arrival,
        error_output_type="processing-failed",
        object_id=object_id,
    )
    assert error_key == (
        "processing-failed/output/processing-failed/2024/05/01/12/"
        "snowplow-enriched-good-to-s3-3-2024-05-01-12-34-56-0f6a3c5e-8d2b-4c1a-9e7f-1234567890ab"
    )


def test_prefix_expressions_use_java_date_patterns_in_utc() -> None:
    moment = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    evaluate = firehose.evaluate_prefix
    assert (
        evaluate("dt=!{timestamp:yyyy'-'MM'-'dd}/h=!{timestamp:HH}/", moment)
        == "dt=2024-01-02/h=03/"
    )
    assert evaluate("!{timestamp:yy.MM.dd HH:mm:ss}/", moment) == "24.01.02 03:04:05/"
    assert evaluate("", moment) == "2024/01/02/03/"
    assert re.fullmatch(r"r/[0-9a-f]{11}/", evaluate("r/!{firehose:random-string}/", moment))


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("!{timestamp:EEE}/", "uses 'EEE'"),
        ("!{timestamp:yyyy'}/", "unclosed quote"),
        ("!{firehose:error-output-type}/", "cannot evaluate"),
        ("!{partitionKeyFromQuery:id}/", "cannot evaluate"),
    ],
)
def test_an_expression_the_demo_cannot_evaluate_is_named(template: str, problem: str) -> None:
    moment = datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)
    with pytest.raises(firehose.FirehoseError, match=re.escape(problem)):
        firehose.evaluate_prefix(template, moment)


def test_an_error_record_is_firehoses_json_document_with_the_original_data() -> None:
    failed = record(7, b"planted-user@example.org\tbroken")
    line = firehose.error_document(
        failed,
        firehose.RECORD_FAILED,
        attempts=1,
        ended_ms=MAY_1_NOON_MS + 5,
        lambda_arn=LAMBDA_ARN,
    )
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    document = json.loads(line)
    assert list(document) == [
        "attemptsMade",
        "arrivalTimestamp",
        "errorCode",
        "errorMessage",
        "attemptEndingTimestamp",
        "rawData",
        "lambdaArn",
    ]
    assert document["attemptsMade"] == 1
    assert document["arrivalTimestamp"] == MAY_1_NOON_MS
    assert document["errorCode"] == "Lambda.ProcessingFailedStatus"
    assert document["errorMessage"] == "ProcessingFailed status set for record"
    assert document["attemptEndingTimestamp"] == MAY_1_NOON_MS + 5
    assert base64.b64decode(document["rawData"]) == failed.data
    assert document["lambdaArn"] == LAMBDA_ARN


# --- the transformation event and the response contract -------------------------------------------


def test_the_event_is_firehoses_transformation_event_for_a_kinesis_source() -> None:
    records = [record(1, b"one"), record(2, b"two", MAY_1_NOON_MS + 1)]
    event = firehose.transformation_event(stream(), REGION, records)
    assert uuid.UUID(event["invocationId"])
    assert event["deliveryStreamArn"] == stream().arn
    assert event["sourceKinesisStreamArn"] == stream().source_stream_arn
    assert event["region"] == REGION
    first = event["records"][0]
    assert base64.b64decode(first["data"]) == b"one"
    assert first["approximateArrivalTimestamp"] == MAY_1_NOON_MS
    assert first["kinesisRecordMetadata"] == {
        "shardId": "shardId-000000000001",
        "partitionKey": "key-1",
        "approximateArrivalTimestamp": MAY_1_NOON_MS,
        "sequenceNumber": "1",
        "subsequenceNumber": 0,
    }
    assert len({r["recordId"] for r in event["records"]}) == 2


def response(*outputs: tuple[SourceRecord, str, bytes]) -> dict[str, Any]:
    return {
        "records": [
            {"recordId": r.record_id, "result": result, "data": base64.b64encode(data).decode()}
            for r, result, data in outputs
        ]
    }


def test_a_response_that_breaks_the_contract_gets_firehoses_error_code() -> None:
    one, two = record(1), record(2)
    check = firehose.check_response
    assert check([one], response((one, "Ok", b"a"))) == {one.record_id: ("Ok", b"a")}
    for bad, code in (
        (response((one, "Ok", b"a")), firehose.MISSING_RECORD_ID),
        (response((one, "Ok", b"a"), (one, "Ok", b"a")), firehose.DUPLICATED_RECORD_ID),
        (response((one, "Done", b"a"), (two, "Ok", b"b")), firehose.INVALID_OUTPUT),
        (
            {"records": [{"recordId": one.record_id, "result": "Ok", "data": "%%"}]},
            firehose.INVALID_OUTPUT,
        ),
        ({"items": []}, firehose.INVALID_OUTPUT),
    ):
        with pytest.raises(firehose.InvalidResponseError) as raised:
            check([one, two], bad)
        assert raised.value.code == code


# --- processing batches ---------------------------------------------------------------------------


def test_ok_failed_and_dropped_records_go_where_firehose_sends_them() -> None:
    records = [record(n, f"line {n}\n".encode()) for n in range(6)]
    calls: list[int] = []

    def invoke(event: dict[str, Any]) -> Invocation:
        calls.append(len(event["records"]))
        outputs = []
        for item in event["records"]:
            number = int(base64.b64decode(item["data"]).split()[1])
            result = ("Ok", "ProcessingFailed", "Dropped")[number % 3]
            data = base64.b64encode(f"done {number}\n".encode()).decode()
            outputs.append({"recordId": item["recordId"], "result": result, "data": data})
        return Invocation(response={"records": outputs})

    delivery, delivered, failed = firehose.process(
        stream(processor_buffer_bytes=20), REGION, records, invoke
    )
    assert calls == [2, 2, 2]
    assert (delivery.ok, delivery.failed, delivery.dropped, delivery.invocations) == (2, 2, 2, 3)
    assert [o.data for o in delivered] == [b"done 0\n", b"done 3\n"]
    assert delivery.lines_delivered == 2
    assert delivery.example == (b"line 0\n", b"done 0\n")
    documents = [json.loads(o.data) for o in failed]
    assert [base64.b64decode(d["rawData"]) for d in documents] == [b"line 1\n", b"line 4\n"]
    assert {d["errorCode"] for d in documents} == {"Lambda.ProcessingFailedStatus"}


def test_a_failing_function_is_retried_then_its_whole_batch_fails() -> None:
    records = [record(1), record(2)]
    calls: list[str] = []

    def invoke(event: dict[str, Any]) -> Invocation:
        calls.append(event["invocationId"])
        return Invocation(error=firehose.FUNCTION_ERROR)

    delivery, delivered, failed = firehose.process(
        stream(processor_retries=2), REGION, records, invoke
    )
    assert len(calls) == 3 and len(set(calls)) == 3
    assert (delivery.ok, delivery.failed, delivery.invocations, delivered) == (0, 2, 3, [])
    documents = [json.loads(o.data) for o in failed]
    assert {d["attemptsMade"] for d in documents} == {3}
    assert {d["errorCode"] for d in documents} == {"Lambda.FunctionError"}


# --- delivering from Kinesis to S3 ----------------------------------------------------------------


def read(s3: Any, key: str) -> bytes:
    return gzip.decompress(
        s3.get_object(Bucket="gitlab-com-snowplow-events", Key=key)["Body"].read()
    )


def test_deliver_reads_every_shard_once_and_writes_compressed_objects() -> None:
    with mock_aws():
        kinesis = boto3.client("kinesis", region_name=REGION)
        kinesis.create_stream(StreamName="snowplow-enriched-good", ShardCount=3)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="gitlab-com-snowplow-events")
        lines = [f"event {n:02d}\n".encode() for n in range(40)]  # 9 bytes each
        kinesis.put_records(
            StreamName="snowplow-enriched-good",
            Records=[{"Data": line, "PartitionKey": f"user-{n}"} for n, line in enumerate(lines)],
        )

        def invoke(event: dict[str, Any]) -> Invocation:
            outputs = [
                {
                    "recordId": item["recordId"],
                    "result": "ProcessingFailed" if item["data"] == lines_b64[0] else "Ok",
                    "data": base64.b64encode(base64.b64decode(item["data"]).upper()).decode(),
                }
                for item in event["records"]
            ]
            return Invocation(response={"records": outputs})

        lines_b64 = [base64.b64encode(line).decode() for line in lines]
        target = stream(processor_buffer_bytes=100, buffer_bytes=200)
        delivery, after = firehose.deliver(
            target, REGION, kinesis=kinesis, s3=s3, invoke=invoke, after={}
        )
        assert delivery.records_in == 40 and delivery.ok == 39 and delivery.failed == 1
        assert delivery.invocations == 4  # 40 records of 9 bytes, 11 to a 100-byte batch
        assert len(delivery.objects) == 2  # 39 of 9 bytes, 22 to a 200-byte object
        bodies = [read(s3, key) for key in delivery.objects]
        assert sorted(b"".join(bodies).splitlines()) == sorted(x.upper().strip() for x in lines[1:])
        assert all(k.startswith("output/") and k.endswith(".gz") for k in delivery.objects)
        (error_key,) = delivery.error_objects
        assert error_key.startswith("processing-failed/output/processing-failed/")
        assert base64.b64decode(json.loads(read(s3, error_key))["rawData"]) == lines[0]
        shards = kinesis.list_shards(StreamName="snowplow-enriched-good")["Shards"]
        assert after and set(after) <= {shard["ShardId"] for shard in shards}

        again, _ = firehose.deliver(
            target, REGION, kinesis=kinesis, s3=s3, invoke=invoke, after=after
        )
        assert again.records_in == 0 and again.objects == [] and again.invocations == 0


# --- dynamic partitioning (the salt version from the processor) -----------------------------------

PARTITIONED_PREFIX = "output/salt_version=!{partitionKeyFromLambda:salt_version}/!{timestamp:HH}/"


def versioned_invoke(event: dict[str, Any]) -> Invocation:
    """Records 0-2 under version 1, the rest under 2; record 4 fails (no partition key)."""
    outputs = []
    for item in event["records"]:
        number = int(base64.b64decode(item["data"]).split()[1])
        output: dict[str, Any] = {"recordId": item["recordId"], "data": item["data"]}
        if number == 4:
            output["result"] = "ProcessingFailed"
        else:
            output["result"] = "Ok"
            version = "1" if number < 3 else "2"
            output["metadata"] = {"partitionKeys": {"salt_version": version}}
        outputs.append(output)
    return Invocation(response={"records": outputs})


def test_a_partitioned_stream_writes_one_object_per_salt_version() -> None:
    partitioned = stream(prefix=PARTITIONED_PREFIX, partitioning=True, compression="UNCOMPRESSED")
    records = [record(n, f"line {n}\n".encode(), MAY_1_NOON_MS + n) for n in range(6)]
    delivery, delivered, failed = firehose.process(partitioned, REGION, records, versioned_invoke)
    assert (delivery.ok, delivery.failed) == (5, 1)
    written = list(firehose.objects(partitioned, delivered))
    assert [(key.split("/")[1], body) for key, body in written] == [
        ("salt_version=1", b"line 0\nline 1\nline 2\n"),
        ("salt_version=2", b"line 3\nline 5\n"),
    ]
    assert all(key.startswith("output/salt_version=") for key, _ in written)
    errors = list(firehose.objects(partitioned, failed, error_output_type="processing-failed"))
    assert len(errors) == 1 and errors[0][0].startswith(
        "processing-failed/output/processing-failed/"
    )


def test_a_partitioned_stream_needs_the_keys_from_its_processor() -> None:
    partitioned = stream(prefix=PARTITIONED_PREFIX, partitioning=True)

    def no_keys(event: dict[str, Any]) -> Invocation:
        outputs = [
            {"recordId": r["recordId"], "result": "Ok", "data": r["data"]} for r in event["records"]
        ]
        return Invocation(response={"records": outputs})

    with pytest.raises(firehose.FirehoseError, match="without partition keys"):
        firehose.process(partitioned, REGION, [record(0, b"line 0\n")], no_keys)


def test_partition_keys_are_ignored_without_partitioning() -> None:
    records = [record(n, f"line {n}\n".encode(), MAY_1_NOON_MS + n) for n in range(6)]
    plain = stream(compression="UNCOMPRESSED")
    _, delivered, _ = firehose.process(plain, REGION, records, versioned_invoke)
    assert len(list(firehose.objects(plain, delivered))) == 1


def test_partitioning_comes_from_describe_delivery_stream(described: dict[str, Any]) -> None:
    s3 = described["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert firehose.DeliveryStream.from_description(described, IN_EFFECT).partitioning is False
    s3["DynamicPartitioningConfiguration"] = {"Enabled": True}
    assert firehose.DeliveryStream.from_description(described, IN_EFFECT).partitioning is True
