"""Kinesis Data Firehose's part, played in Python, for delivery streams read from the emulator.

moto stores a delivery stream's configuration but neither reads its Kinesis source nor calls its
Lambda processor (and moto's Lambda needs Docker to invoke anything). This module does what
Firehose does with that configuration, and nothing it does not:

1. Read the source stream, every shard, from where the delivery stream last stopped (TRIM_HORIZON
   the first time).
2. Buffer the records for the processor by its ``BufferSizeInMBs`` and ``BufferIntervalInSeconds``,
   counted on the records' arrival timestamps, and invoke the function with a Firehose
   transformation event (``snowplow_infra.local.lambda_runtime`` runs the deployed zip). A failed
   invocation is retried ``NumberOfRetries`` times; then the whole batch counts as failed.
3. Check the response as Firehose does (every recordId back exactly once, a known result, base64
   data); a response that breaks the contract fails the batch.
4. Buffer ``Ok`` data for S3 by the destination's ``BufferingHints`` and write each buffer as one
   object, compressed as configured, under the evaluated ``Prefix``, named
   ``<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>[.gz]``; write failed records under the
   evaluated ``ErrorOutputPrefix`` (``!{firehose:error-output-type}`` = ``processing-failed``) as
   Firehose's error documents, one JSON object per line.

Every setting comes from the emulator's DescribeDeliveryStream; a processor buffer setting
Firehose leaves out because it equals Firehose's default comes from Terraform's outputs for the
delivery stream (the values in effect). Nothing is a copy of the configuration.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import gzip
import json
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

MIB = 1024 * 1024
# Firehose's documented default: "retries the invocation three times by default".
DEFAULT_PROCESSOR_RETRIES = 3
PROCESSING_FAILED = "processing-failed"
EXTENSIONS = {"UNCOMPRESSED": "", "GZIP": ".gz"}
RESULTS = ("Ok", "Dropped", "ProcessingFailed")

# Firehose's error codes and messages for a failed transformation, as it writes them.
RECORD_FAILED = ("Lambda.ProcessingFailedStatus", "ProcessingFailed status set for record")
FUNCTION_ERROR = (
    "Lambda.FunctionError",
    "The Lambda function was successfully invoked but it returned an error result.",
)
FUNCTION_TIMED_OUT = (
    "Lambda.FunctionTimedOut",
    "The Lambda function invocation timed out. Increase the Timeout setting in the Lambda "
    "function.",
)
MISSING_RECORD_ID = (
    "Lambda.MissingRecordId",
    "One or more record Ids were not returned. Ensure that the Lambda function returns all "
    "received record Ids.",
)
DUPLICATED_RECORD_ID = (
    "Lambda.DuplicatedRecordId",
    "Multiple records were returned with the same record Id. Ensure that the Lambda function "
    "returns unique record Ids for each record.",
)
INVALID_OUTPUT = (
    "Lambda.JsonProcessingException",
    "There was an error parsing returned records from the Lambda function. Ensure that the "
    "returned records follow the status model required by Kinesis Data Firehose.",
)

T = TypeVar("T")


class FirehoseError(RuntimeError):
    """A delivery stream's configuration is one this emulation cannot honour, or is missing."""


# --- configuration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryStream:
    """What Firehose needs to know about one delivery stream with a Kinesis source and S3."""

    name: str
    arn: str
    version_id: str
    source_stream_arn: str
    processor_arn: str
    processor_buffer_bytes: int
    processor_interval_ms: int
    processor_retries: int
    bucket: str
    prefix: str
    error_prefix: str
    compression: str
    kms_key_arn: str | None
    buffer_bytes: int
    buffer_interval_ms: int
    # Dynamic partitioning with keys from the processor (the salt version): one object per key.
    partitioning: bool = False

    @property
    def source_stream_name(self) -> str:
        return self.source_stream_arn.split(":", 5)[5].removeprefix("stream/")

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.compression]

    @classmethod
    def from_description(
        cls, description: Mapping[str, Any], in_effect: Mapping[str, Any]
    ) -> DeliveryStream:
        """From DescribeDeliveryStream's ``DeliveryStreamDescription`` and the delivery stream's
        entry in Terraform's ``delivery_streams`` output (the processor buffer in effect)."""
        name = description["DeliveryStreamName"]
        try:
            source = description["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"]
            (destination,) = description["Destinations"]
            s3 = destination["ExtendedS3DestinationDescription"]
        except (KeyError, ValueError, TypeError):
            raise FirehoseError(
                f"Delivery stream {name} is not a Kinesis-sourced stream with one extended S3 "
                "destination; the demo emulates only those."
            ) from None
        processing = s3.get("ProcessingConfiguration") or {}
        lambdas = [p for p in processing.get("Processors", []) if p.get("Type") == "Lambda"]
        if not processing.get("Enabled") or len(lambdas) != 1:
            raise FirehoseError(
                f"Delivery stream {name} has no enabled Lambda processor; the demo emulates only "
                "streams that pseudonymize through one."
            )
        parameters = {p["ParameterName"]: p["ParameterValue"] for p in lambdas[0]["Parameters"]}
        compression = s3.get("CompressionFormat", "UNCOMPRESSED")
        if compression not in EXTENSIONS:
            raise FirehoseError(
                f"Delivery stream {name} compresses with {compression}; the demo writes "
                f"{' or '.join(EXTENSIONS)} only."
            )
        hints = s3.get("BufferingHints") or {}
        if "SizeInMBs" not in hints or "IntervalInSeconds" not in hints:
            raise FirehoseError(f"Delivery stream {name} describes no S3 BufferingHints.")
        kms = (s3.get("EncryptionConfiguration") or {}).get("KMSEncryptionConfig") or {}
        return cls(
            name=name,
            arn=description["DeliveryStreamARN"],
            version_id=str(description.get("VersionId", "1")),
            source_stream_arn=source,
            processor_arn=parameters["LambdaArn"],
            processor_buffer_bytes=int(
                _in_effect(
                    name, parameters, "BufferSizeInMBs", in_effect, "processor_buffer_size_mb"
                )
                * MIB
            ),
            processor_interval_ms=int(
                _in_effect(
                    name,
                    parameters,
                    "BufferIntervalInSeconds",
                    in_effect,
                    "processor_buffer_interval_seconds",
                )
                * 1000
            ),
            processor_retries=int(parameters.get("NumberOfRetries", DEFAULT_PROCESSOR_RETRIES)),
            bucket=s3["BucketARN"].split(":::", 1)[1],
            prefix=s3.get("Prefix", ""),
            error_prefix=s3.get("ErrorOutputPrefix", ""),
            compression=compression,
            kms_key_arn=kms.get("AWSKMSKeyARN"),
            buffer_bytes=int(float(hints["SizeInMBs"]) * MIB),
            buffer_interval_ms=int(hints["IntervalInSeconds"]) * 1000,
            partitioning=bool((s3.get("DynamicPartitioningConfiguration") or {}).get("Enabled")),
        )


def _in_effect(
    name: str,
    parameters: Mapping[str, str],
    parameter: str,
    in_effect: Mapping[str, Any],
    output_key: str,
) -> float:
    """A processor parameter as Firehose describes it, else (left out because it equals the
    default) as Terraform's output says it is in effect; the two must agree when both exist."""
    output = in_effect.get(output_key)
    if parameter in parameters:
        value = float(parameters[parameter])
        if output is not None and float(output) != value:
            raise FirehoseError(
                f"Delivery stream {name}: the emulator says {parameter} = {value:g}, Terraform's "
                f"output {output_key} says {output}; apply the environment again."
            )
        return value
    if output is None:
        raise FirehoseError(
            f"Delivery stream {name} describes no {parameter} and Terraform's output has no "
            f"{output_key}."
        )
    return float(output)


# --- records, batches and the transformation event ------------------------------------------------


@dataclass(frozen=True)
class SourceRecord:
    """A record read from the source Kinesis stream."""

    data: bytes
    arrival_ms: int
    shard_id: str
    partition_key: str
    sequence_number: str

    @property
    def record_id(self) -> str:
        """Unique within the delivery stream (moto numbers sequences per shard)."""
        shard = self.shard_id.rsplit("-", 1)[-1]
        return f"{int(self.sequence_number):056d}{shard}"


def buffered(
    items: Sequence[T],
    size_of: Callable[[T], int],
    arrival_of: Callable[[T], int],
    size_limit: int,
    interval_ms: int,
) -> list[list[T]]:
    """Split items (in arrival order) into buffers as Firehose flushes them: a buffer is flushed
    before it would exceed ``size_limit`` bytes (a single larger item goes alone) and once
    ``interval_ms`` have passed since its first item arrived."""
    buffers: list[list[T]] = []
    current: list[T] = []
    size = opened = 0
    for item in items:
        item_size, arrival = size_of(item), arrival_of(item)
        if current and (size + item_size > size_limit or arrival - opened >= interval_ms):
            buffers.append(current)
            current, size = [], 0
        if not current:
            opened = arrival
        current.append(item)
        size += item_size
    if current:
        buffers.append(current)
    return buffers


def transformation_event(
    stream: DeliveryStream, region: str, records: Sequence[SourceRecord]
) -> dict[str, Any]:
    """The event Firehose sends its Lambda processor for records from a Kinesis source."""
    return {
        "invocationId": str(uuid.uuid4()),
        "deliveryStreamArn": stream.arn,
        "region": region,
        "sourceKinesisStreamArn": stream.source_stream_arn,
        "records": [
            {
                "recordId": record.record_id,
                "approximateArrivalTimestamp": record.arrival_ms,
                "data": base64.b64encode(record.data).decode("ascii"),
                "kinesisRecordMetadata": {
                    "shardId": record.shard_id,
                    "partitionKey": record.partition_key,
                    "approximateArrivalTimestamp": record.arrival_ms,
                    "sequenceNumber": record.sequence_number,
                    "subsequenceNumber": 0,
                },
            }
            for record in records
        ],
    }


class InvalidResponseError(ValueError):
    """The processor's response breaks Firehose's contract; ``code`` says how."""

    def __init__(self, code: tuple[str, str]) -> None:
        super().__init__(code[1])
        self.code = code


def partition_keys(response: object) -> dict[str, dict[str, str]]:
    """Each recordId's ``metadata.partitionKeys`` in a response that check_response accepted,
    for those that have them."""
    keys: dict[str, dict[str, str]] = {}
    outputs = response.get("records") if isinstance(response, dict) else None
    for output in outputs if isinstance(outputs, list) else ():
        found = (output.get("metadata") or {}).get("partitionKeys")
        if isinstance(found, dict):
            keys[str(output["recordId"])] = {str(k): str(v) for k, v in found.items()}
    return keys


def check_response(
    records: Sequence[SourceRecord], response: object
) -> dict[str, tuple[str, bytes]]:
    """Each recordId's result and decoded data, or InvalidResponseError as Firehose judges it."""
    if not isinstance(response, dict) or not isinstance(response.get("records"), list):
        raise InvalidResponseError(INVALID_OUTPUT)
    results: dict[str, tuple[str, bytes]] = {}
    for output in response["records"]:
        if not isinstance(output, dict) or output.get("result") not in RESULTS:
            raise InvalidResponseError(INVALID_OUTPUT)
        record_id = output.get("recordId")
        if record_id in results:
            raise InvalidResponseError(DUPLICATED_RECORD_ID)
        try:
            data = base64.b64decode(output.get("data") or "", validate=True)
        except (binascii.Error, TypeError):
            raise InvalidResponseError(INVALID_OUTPUT) from None
        results[str(record_id)] = (output["result"], data)
    expected = {record.record_id for record in records}
    if set(results) - expected:
        raise InvalidResponseError(INVALID_OUTPUT)
    if expected - set(results):
        raise InvalidResponseError(MISSING_RECORD_ID)
    return results


# --- S3 objects -----------------------------------------------------------------------------------

_EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
_JAVA_FIELDS = {
    "yyyy": "%Y",
    "yy": "%y",
    "MM": "%m",
    "dd": "%d",
    "HH": "%H",
    "mm": "%M",
    "ss": "%S",
}


def java_datetime(pattern: str, moment: datetime.datetime) -> str:
    """Format ``moment`` with the Java DateTimeFormatter pattern letters Firehose prefixes use
    (yyyy, yy, MM, dd, HH, mm, ss), quoted literals ('...') and other characters as they are."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            end = pattern.find("'", index + 1)
            if end < 0:
                raise FirehoseError(f"The timestamp pattern {pattern!r} has an unclosed quote.")
            out.append(pattern[index + 1 : end] or "'")
            index = end + 1
        elif char in string.ascii_letters:
            run = len(pattern[index:]) - len(pattern[index:].lstrip(char))
            letters = pattern[index : index + run]
            if letters not in _JAVA_FIELDS:
                raise FirehoseError(
                    f"The timestamp pattern {pattern!r} uses {letters!r}; the demo evaluates "
                    f"{', '.join(_JAVA_FIELDS)} only."
                )
            out.append(moment.strftime(_JAVA_FIELDS[letters]))
            index += run
        else:
            out.append(char)
            index += 1
    return "".join(out)


def evaluate_prefix(
    template: str,
    moment: datetime.datetime,
    error_output_type: str | None = None,
    partition_keys: Mapping[str, str] | None = None,
) -> str:
    """A Prefix or ErrorOutputPrefix with its ``!{namespace:value}`` expressions evaluated."""

    def evaluate(match: re.Match[str]) -> str:
        namespace, value = match.groups()
        if namespace == "timestamp":
            return java_datetime(value, moment)
        if namespace == "partitionKeyFromLambda" and partition_keys and value in partition_keys:
            return partition_keys[value]
        if namespace == "firehose" and value == "error-output-type" and error_output_type:
            return error_output_type
        if namespace == "firehose" and value == "random-string":
            return secrets.token_hex(6)[:11]
        raise FirehoseError(
            f"The prefix {template!r} uses !{{{namespace}:{value}}}, which the "
            "demo cannot evaluate there."
        )

    evaluated = _EXPRESSION.sub(evaluate, template)
    return evaluated if template else java_datetime("yyyy/MM/dd/HH/", moment)


def object_key(
    stream: DeliveryStream,
    oldest_arrival_ms: int,
    *,
    error_output_type: str | None = None,
    object_id: uuid.UUID | None = None,
    partition_keys: Mapping[str, str] | None = None,
) -> str:
    """``<evaluated prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>[extension]``, the
    timestamp being the arrival of the object's oldest record (UTC)."""
    moment = datetime.datetime.fromtimestamp(oldest_arrival_ms / 1000, datetime.UTC)
    template = stream.error_prefix if error_output_type else stream.prefix
    prefix = evaluate_prefix(template, moment, error_output_type, partition_keys)
    stamp = moment.strftime("%Y-%m-%d-%H-%M-%S")
    name = f"{stream.name}-{stream.version_id}-{stamp}-{object_id or uuid.uuid4()}"
    return f"{prefix}{name}{stream.extension}"


def error_document(
    record: SourceRecord,
    code: tuple[str, str],
    *,
    attempts: int,
    ended_ms: int,
    lambda_arn: str,
) -> bytes:
    """A failed record as Firehose writes it under the error prefix: one JSON object and a
    newline, holding the record's original data base64-encoded."""
    document = {
        "attemptsMade": attempts,
        "arrivalTimestamp": record.arrival_ms,
        "errorCode": code[0],
        "errorMessage": code[1],
        "attemptEndingTimestamp": ended_ms,
        "rawData": base64.b64encode(record.data).decode("ascii"),
        "lambdaArn": lambda_arn,
    }
    return json.dumps(document, separators=(",", ":")).encode("utf-8") + b"\n"


def compress(stream: DeliveryStream, data: bytes) -> bytes:
    return gzip.compress(data, mtime=0) if stream.compression == "GZIP" else data


# --- delivering a stream --------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """The outcome of invoking the processor once: its response, or a Firehose error code."""

    response: object = None
    error: tuple[str, str] | None = None


Invoke = Callable[[dict[str, Any]], Invocation]


@dataclass(frozen=True)
class Output:
    """Bytes bound for one S3 buffer, with the arrival time of the record they came from and
    the partition keys the processor returned for it (dynamic partitioning)."""

    data: bytes
    arrival_ms: int
    partition: tuple[tuple[str, str], ...] = ()


@dataclass
class Delivery:
    """What delivering a stream did: counts, the keys written, and one example record."""

    stream: DeliveryStream
    records_in: int = 0
    invocations: int = 0
    ok: int = 0
    dropped: int = 0
    failed: int = 0
    lines_delivered: int = 0
    objects: list[str] = field(default_factory=list)
    error_objects: list[str] = field(default_factory=list)
    # The first record delivered Ok, before and after the processor (the summary shows it).
    example: tuple[bytes, bytes] | None = None


def _transform(
    stream: DeliveryStream, region: str, batch: Sequence[SourceRecord], invoke: Invoke
) -> tuple[dict[str, tuple[str, bytes]] | tuple[str, str], int, dict[str, dict[str, str]]]:
    """Invoke the processor until its response is valid or the retries are spent: the results
    by recordId (or the batch's error code), the number of attempts and the partition keys."""
    attempts = 0
    while True:
        attempts += 1
        outcome = invoke(transformation_event(stream, region, batch))
        try:
            if outcome.error:
                raise InvalidResponseError(outcome.error)
            results = check_response(batch, outcome.response)
            return results, attempts, partition_keys(outcome.response)
        except InvalidResponseError as error:
            if attempts > stream.processor_retries:
                return error.code, attempts, {}


def process(
    stream: DeliveryStream,
    region: str,
    records: Sequence[SourceRecord],
    invoke: Invoke,
    clock: Callable[[], float] = time.time,
) -> tuple[Delivery, list[Output], list[Output]]:
    """Run ``records`` (in arrival order) through the processor: the delivery's counts, the Ok
    data and the error documents, each with its record's arrival time."""
    delivery = Delivery(stream, records_in=len(records))
    delivered: list[Output] = []
    failed: list[Output] = []
    for batch in buffered(
        records,
        lambda r: len(r.data),
        lambda r: r.arrival_ms,
        stream.processor_buffer_bytes,
        stream.processor_interval_ms,
    ):
        results, attempts, keys = _transform(stream, region, batch, invoke)
        delivery.invocations += attempts
        ended = int(clock() * 1000)
        for record in batch:
            if isinstance(results, tuple):  # the whole batch failed with this code
                result, data, code = "ProcessingFailed", b"", results
            else:
                (result, data), code = results[record.record_id], RECORD_FAILED
            if result == "Ok":
                delivery.ok += 1
                delivery.lines_delivered += data.count(b"\n")
                if stream.partitioning and record.record_id not in keys:
                    raise FirehoseError(
                        f"Delivery stream {stream.name} partitions dynamically, but its "
                        f"processor returned record {record.record_id} without partition keys."
                    )
                partition = tuple(sorted(keys.get(record.record_id, {}).items()))
                delivered.append(Output(data, record.arrival_ms, partition))
                delivery.example = delivery.example or (record.data, data)
            elif result == "Dropped":
                delivery.dropped += 1
            else:
                delivery.failed += 1
                document = error_document(
                    record, code, attempts=attempts, ended_ms=ended, lambda_arn=stream.processor_arn
                )
                failed.append(Output(document, record.arrival_ms))
    return delivery, delivered, failed


def objects(
    stream: DeliveryStream, outputs: Sequence[Output], *, error_output_type: str | None = None
) -> Iterable[tuple[str, bytes]]:
    """The S3 objects (key, body) that Firehose writes for these outputs: with dynamic
    partitioning, buffered separately per partition (in order of first appearance)."""
    partitions: dict[tuple[tuple[str, str], ...], list[Output]] = {}
    for output in outputs:
        partitions.setdefault(output.partition if stream.partitioning else (), []).append(output)
    for partition, members in partitions.items():
        for buffer in buffered(
            members,
            lambda o: len(o.data),
            lambda o: o.arrival_ms,
            stream.buffer_bytes,
            stream.buffer_interval_ms,
        ):
            key = object_key(
                stream,
                buffer[0].arrival_ms,
                error_output_type=error_output_type,
                partition_keys=dict(partition),
            )
            yield key, compress(stream, b"".join(output.data for output in buffer))


def read_source(
    kinesis: Any, stream: DeliveryStream, after: Mapping[str, str]
) -> list[SourceRecord]:
    """Every record of the source stream, all shards, after the given sequence number per shard
    (from TRIM_HORIZON for a shard not listed), in arrival order."""
    name = stream.source_stream_name
    shards: list[str] = []
    request: dict[str, Any] = {"StreamName": name}
    while True:
        page = kinesis.list_shards(**request)
        shards += [shard["ShardId"] for shard in page["Shards"]]
        if not page.get("NextToken"):
            break
        request = {"NextToken": page["NextToken"]}
    records: list[SourceRecord] = []
    for shard_id in shards:
        start: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
        if shard_id in after:
            start = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": after[shard_id],
            }
        iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id, **start)[
            "ShardIterator"
        ]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            records += [
                SourceRecord(
                    data=record["Data"],
                    arrival_ms=int(record["ApproximateArrivalTimestamp"].timestamp() * 1000),
                    shard_id=shard_id,
                    partition_key=record["PartitionKey"],
                    sequence_number=record["SequenceNumber"],
                )
                for record in page["Records"]
            ]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    records.sort(key=lambda r: (r.arrival_ms, r.shard_id, int(r.sequence_number)))
    return records


def last_sequence_numbers(records: Iterable[SourceRecord]) -> dict[str, str]:
    """The last sequence number read from each shard: where the next delivery starts."""
    last: dict[str, str] = {}
    for record in records:
        if record.shard_id not in last or int(record.sequence_number) > int(last[record.shard_id]):
            last[record.shard_id] = record.sequence_number
    return last


def deliver(
    stream: DeliveryStream,
    region: str,
    *,
    kinesis: Any,
    s3: Any,
    invoke: Invoke,
    after: Mapping[str, str],
) -> tuple[Delivery, dict[str, str]]:
    """Deliver what arrived on the source since ``after`` (sequence numbers by shard); return what
    was done and where to start next time."""
    records = read_source(kinesis, stream, after)
    delivery, delivered, failed = process(stream, region, records, invoke)
    encryption: dict[str, str] = {}
    if stream.kms_key_arn:
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": stream.kms_key_arn}
    for keys, outputs, error_type in (
        (delivery.objects, delivered, None),
        (delivery.error_objects, failed, PROCESSING_FAILED),
    ):
        for key, body in objects(stream, outputs, error_output_type=error_type):
            s3.put_object(Bucket=stream.bucket, Key=key, Body=body, **encryption)
            keys.append(key)
    return delivery, {**after, **last_sequence_numbers(records)}
