"""One Firehose batch under several salt versions: each record with the version of its arrival.

A batch almost always falls under one version: its records are then transformed in one pass, as
without versions. Near an activation a batch is cut into runs of consecutive records under the
same version; each run is transformed with that version and the results are put back together in
input order, under the same 6 MiB response budget.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence

from firehose import OK, BatchResult, Transformed, transform_records
from salt_versions import SaltVersions

# The typing module costs milliseconds of cold start; annotations only need it for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ARRIVAL_KEY = "approximateArrivalTimestamp"
# The response's fixed bytes and the separator between two records, as json.dumps writes them.
_ENVELOPE_BYTES = len(json.dumps({"records": []}))
_SEPARATOR_BYTES = len(", ")


def arrival_ms(record: Mapping[str, Any], number: int) -> int:
    """A record's ``approximateArrivalTimestamp`` (epoch milliseconds); ValueError without one."""
    value = record.get(ARRIVAL_KEY)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(
            f"Record number {number} of the event has no numeric {ARRIVAL_KEY} (epoch "
            "milliseconds): the salt version that pseudonymizes it cannot be chosen."
        )
    return int(value)


def choose_versions(records: Sequence[Mapping[str, Any]], versions: SaltVersions) -> list[int]:
    """The index (in ``versions.versions``) of the version of each record.

    Raises SaltUnavailableError for a record that arrived before every version, ValueError for
    one without an arrival time. A plain-string secret needs no arrival time at all.
    """
    if versions.always:
        return [0] * len(records)
    return [
        versions.index_for(arrival_ms(record, number), number)
        for number, record in enumerate(records, start=1)
    ]


def runs(chosen: Sequence[int]) -> list[tuple[int, int, int]]:
    """``(start, end, version index)`` of each run of consecutive records under one version."""
    result: list[tuple[int, int, int]] = []
    start = 0
    for index in range(1, len(chosen) + 1):
        if index == len(chosen) or chosen[index] != chosen[start]:
            result.append((start, index, chosen[start]))
            start = index
    return result


def partition_metadata_bytes(key: str, version_id: str) -> int:
    """What ``"metadata": {"partitionKeys": {key: id}}`` adds to a record of the response."""
    return len(json.dumps({"metadata": {"partitionKeys": {key: version_id}}})) - 2 + len(", ")


def transform_versioned(
    records: Sequence[Mapping[str, Any]],
    chosen: Sequence[int],
    version_ids: Sequence[str],
    transform_for: Callable[[int], Callable[[str], Transformed]],
    *,
    max_response_bytes: int,
    partition_key: str | None,
    malformed_reason: str,
) -> BatchResult:
    """Transform each run with its version's transform; one BatchResult in input order.

    With ``partition_key``, every Ok record carries ``metadata.partitionKeys[partition_key]`` =
    its version id, for a delivery stream with dynamic partitioning. A record a transform rejects
    counts under ``malformed_reason`` (reasons.MALFORMED_BY_FORMAT).
    """
    merged: BatchResult | None = None
    for start, end, version in runs(chosen):
        extra = (
            partition_metadata_bytes(partition_key, version_ids[version]) if partition_key else 0
        )
        budget = max_response_bytes - extra * (end - start)
        if merged is not None:
            # what the runs before take, and the separator between them and this one
            budget -= merged.response_bytes - _ENVELOPE_BYTES + _SEPARATOR_BYTES
        batch = transform_records(
            records[start:end], transform_for(version), budget, malformed_reason
        )
        if partition_key:
            metadata = {"partitionKeys": {partition_key: version_ids[version]}}
            for output in batch.records:
                if output["result"] == OK:
                    output["metadata"] = metadata  # type: ignore[assignment]
                    batch.response_bytes += extra
        merged = batch if merged is None else _merge(merged, batch)
        if not batch.complete:
            break
    return merged if merged is not None else transform_records([], transform_for(0), 0)


def _merge(into: BatchResult, batch: BatchResult) -> BatchResult:
    """``into`` followed by ``batch``: lists concatenated, counts added, completeness and-ed."""
    for name in BatchResult.__slots__:
        mine, theirs = getattr(into, name), getattr(batch, name)
        if name == "response_bytes":
            value: object = mine + theirs - _ENVELOPE_BYTES + _SEPARATOR_BYTES
        elif isinstance(mine, bool):
            value = mine and theirs
        elif isinstance(mine, list):
            value = mine + theirs
        elif isinstance(mine, dict):
            value = {key: mine.get(key, 0) + theirs.get(key, 0) for key in {*mine, *theirs}}
        else:
            value = mine + theirs
        setattr(into, name, value)
    return into
