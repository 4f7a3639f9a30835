"""Put failed records back on their delivery stream's Kinesis source stream, exactly once.

The records take the same path as any record (Firehose, the pseudonymization Lambda, S3): they
are put in arrival order, in PutRecords calls within Kinesis's limits (500 records and
PUT_REQUEST_BYTES a call, MAX_RECORD_BYTES a record), with each entry that Kinesis throttles
retried with backoff. Each object's manifest (``manifest``) records every accepted record before
the next call, so an interrupted replay resumes where it stopped without putting a record twice;
an object is tagged replayed only once every record selected from it was accepted.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from snowplow_infra.failed import manifest as manifests
from snowplow_infra.failed.documents import REPLAYED_TAG, REPLAYED_VALUE, FailedRecord
from snowplow_infra.failed.judge import WOULD_NOW_SUCCEED
from snowplow_infra.failed.locations import ErrorLocation
from snowplow_infra.failed.manifest import Manifest, digest

MAX_RECORDS_PER_PUT = 500
#: Kinesis accepts 10 MiB a PutRecords call since 2025 (5 MiB before); the smaller is used.
PUT_REQUEST_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024  # data and partition key
RETRYABLE = ("ProvisionedThroughputExceededException", "InternalFailure")
MAX_ATTEMPTS = 10
#: How far before a pending call's start the stream is searched (clock differences).
PENDING_MARGIN_MS = 60_000


class ReplayError(RuntimeError):
    """Records could not be put back; what was accepted is in the manifests."""


@dataclass
class ObjectReplay:
    """One error object: its records, their verdicts and its manifest."""

    manifest: Manifest
    records: list[FailedRecord]
    verdicts: list[str]
    include_malformed: bool

    @property
    def selected(self) -> list[int]:
        return [
            record.index
            for record, verdict in zip(self.records, self.verdicts, strict=True)
            if self.include_malformed or verdict == WOULD_NOW_SUCCEED
        ]

    @property
    def remaining(self) -> list[int]:
        return [index for index in self.selected if index not in self.manifest.accepted]


@dataclass
class Outcome:
    put: int = 0
    throttled: int = 0
    calls: int = 0
    found_after_interruption: int = 0
    tagged: list[str] = field(default_factory=list)


def partition_key(data: bytes) -> str:
    """The digest of the data: spreads records over shards, the same for the same record."""
    return digest(data)


def batches(entries: Sequence[tuple[ObjectReplay, FailedRecord]]) -> Iterator[list[Any]]:
    """Consecutive entries in PutRecords-sized groups."""
    current: list[tuple[ObjectReplay, FailedRecord]] = []
    size = 0
    for entry in entries:
        record = entry[1]
        record_bytes = len(record.data) + len(partition_key(record.data))
        if record_bytes > MAX_RECORD_BYTES:
            raise ReplayError(
                f"Record {record.index} of {record.key} is {record_bytes} bytes with its "
                f"partition key; Kinesis accepts at most {MAX_RECORD_BYTES}."
            )
        if current and (
            len(current) == MAX_RECORDS_PER_PUT or size + record_bytes > PUT_REQUEST_BYTES
        ):
            yield current
            current, size = [], 0
        current.append(entry)
        size += record_bytes
    if current:
        yield current


def resolve_pending(kinesis: Any, replays: Sequence[ObjectReplay], outcome: Outcome) -> None:
    """Count as accepted the pending records found on the stream since their call started."""
    by_stream: dict[str, list[ObjectReplay]] = {}
    for replay in replays:
        if replay.manifest.pending:
            by_stream.setdefault(replay.manifest.item.location.source_stream, []).append(replay)
    for stream, pending in by_stream.items():
        since = min(replay.manifest.pending_since_ms for replay in pending) - PENDING_MARGIN_MS
        found = _records_since(kinesis, stream, since)
        for replay in pending:
            for index, wanted in sorted(replay.manifest.pending.items()):
                if found.get(wanted):
                    replay.manifest.accepted[index] = found[wanted].pop(0)
                    outcome.found_after_interruption += 1
            replay.manifest.pending = {}


def _records_since(kinesis: Any, stream: str, since_ms: int) -> dict[str, list[tuple[str, str]]]:
    """Digest of each record on the stream since ``since_ms`` -> its shards and sequences."""
    found: dict[str, list[tuple[str, str]]] = {}
    moment = datetime.datetime.fromtimestamp(max(since_ms, 0) / 1000, datetime.UTC)
    shards: list[str] = []
    request: dict[str, Any] = {"StreamName": stream}
    while True:
        page = kinesis.list_shards(**request)
        shards += [shard["ShardId"] for shard in page["Shards"]]
        if not page.get("NextToken"):
            break
        request = {"NextToken": page["NextToken"]}
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard, ShardIteratorType="AT_TIMESTAMP", Timestamp=moment
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            for record in page["Records"]:
                found.setdefault(digest(record["Data"]), []).append(
                    (shard, record["SequenceNumber"])
                )
            behind = page.get("MillisBehindLatest", 0)
            iterator = page.get("NextShardIterator") if page["Records"] or behind else None
    return found


def ordered(replays: Sequence[ObjectReplay]) -> list[tuple[ObjectReplay, FailedRecord]]:
    """The records still to put, in arrival order (then object key and line)."""
    entries = [(replay, replay.records[index]) for replay in replays for index in replay.remaining]
    entries.sort(key=lambda e: (e[1].arrival_ms, e[1].key, e[1].index))
    return entries


def execute(
    s3: Any,
    kinesis: Any,
    replays: Sequence[ObjectReplay],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    progress: Callable[[str], None] = lambda _: None,
) -> Outcome:
    """Put every remaining selected record, manifest first; tag the objects completed."""
    outcome = Outcome()
    resolve_pending(kinesis, replays, outcome)
    for location, group in group_by_stream(replays).items():
        for batch in batches(ordered(group)):
            _put(s3, kinesis, batch, outcome, sleep=sleep, clock=clock)
            progress(f"{location.source_stream}: {outcome.put} records put so far")
    for replay in replays:
        if not replay.remaining and not replay.manifest.complete:
            item = replay.manifest.item
            s3.put_object_tagging(
                Bucket=item.location.bucket,
                Key=item.key,
                Tagging={"TagSet": [{"Key": REPLAYED_TAG, "Value": REPLAYED_VALUE}]},
            )
            replay.manifest.complete = True
            outcome.tagged.append(item.key)
        manifests.save(s3, replay.manifest)
    return outcome


def _put(
    s3: Any,
    kinesis: Any,
    batch: list[tuple[ObjectReplay, FailedRecord]],
    outcome: Outcome,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    """Put one batch until every entry is accepted; the manifests say so after each call."""
    touched = {id(replay): replay for replay, _ in batch}
    waiting = list(batch)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        stream = waiting[0][0].manifest.item.location.source_stream
        started_ms = int(clock() * 1000)
        for replay, record in waiting:
            replay.manifest.pending[record.index] = digest(record.data)
            replay.manifest.pending_since_ms = started_ms
        _save_all(s3, touched)
        response = kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": r.data, "PartitionKey": partition_key(r.data)} for _, r in waiting],
        )
        outcome.calls += 1
        again = []
        for (replay, record), result in zip(waiting, response["Records"], strict=True):
            replay.manifest.pending.pop(record.index, None)
            if "SequenceNumber" in result and not result.get("ErrorCode"):
                replay.manifest.accepted[record.index] = (
                    result["ShardId"],
                    result["SequenceNumber"],
                )
                outcome.put += 1
            elif result.get("ErrorCode") in RETRYABLE:
                again.append((replay, record))
            else:
                _save_all(s3, touched)
                raise ReplayError(
                    f"Kinesis refused record {record.index} of {record.key} on {stream}: "
                    f"{result.get('ErrorCode')}. The records accepted so far are in the "
                    "manifests; run the replay again once the cause is fixed."
                )
        _save_all(s3, touched)
        if not again:
            return
        outcome.throttled += len(again)
        waiting = again
        sleep(min(0.1 * 2**attempt, 5.0))
    raise ReplayError(
        f"{len(waiting)} records were still throttled by {stream} after {MAX_ATTEMPTS} "
        "attempts; the accepted ones are in the manifests: run the replay again later."
    )


def _save_all(s3: Any, replays: Mapping[int, ObjectReplay]) -> None:
    for replay in replays.values():
        manifests.save(s3, replay.manifest)


def group_by_stream(
    replays: Sequence[ObjectReplay],
) -> dict[ErrorLocation, list[ObjectReplay]]:
    grouped: dict[ErrorLocation, list[ObjectReplay]] = {}
    for replay in replays:
        grouped.setdefault(replay.manifest.item.location, []).append(replay)
    return grouped
