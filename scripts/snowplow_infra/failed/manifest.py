"""The replay manifest of one error object: which of its records Kinesis accepted, and as what.

Kept as JSON under ``locations.MANIFEST_PREFIX`` + the object's key + ``.json`` in the events
bucket (the restricted processing-failed/ prefix, encrypted with the delivery stream's key). It
holds positions, SHA-256 digests and sequence numbers, never a record's data:

* ``accepted``: record index -> the shard and sequence number Kinesis gave it;
* ``pending``: the records of the PutRecords call in flight (index -> digest of the data) and
  when it started. It is written before the call and cleared after its answer is recorded, so an
  interruption in between leaves it set; the next replay looks for those digests on the stream
  from that moment on, and counts those it finds as accepted instead of putting them again;
* ``complete``: every selected record was accepted and the object was tagged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from snowplow_infra.failed.documents import ErrorObject
from snowplow_infra.failed.locations import MANIFEST_PREFIX


class ManifestError(ValueError):
    """A manifest cannot be read."""


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Manifest:
    item: ErrorObject
    records: int
    accepted: dict[int, tuple[str, str]] = field(default_factory=dict)  # shard, sequence number
    pending: dict[int, str] = field(default_factory=dict)  # index -> digest
    pending_since_ms: int = 0
    complete: bool = False

    @property
    def key(self) -> str:
        return manifest_key(self.item.key)

    def to_json(self) -> dict[str, Any]:
        return {
            "object": self.item.key,
            "delivery_stream": self.item.location.delivery_stream,
            "source_stream": self.item.location.source_stream,
            "records": self.records,
            "accepted": {
                str(index): {"shard_id": shard, "sequence_number": sequence}
                for index, (shard, sequence) in sorted(self.accepted.items())
            },
            "pending": None
            if not self.pending
            else {
                "since_ms": self.pending_since_ms,
                "records": {str(index): value for index, value in sorted(self.pending.items())},
            },
            "complete": self.complete,
        }


def manifest_key(object_key: str) -> str:
    return f"{MANIFEST_PREFIX}{object_key}.json"


def load(s3: Any, item: ErrorObject, records: int) -> Manifest:
    """The object's manifest, or a new one when no replay has touched the object."""
    key = manifest_key(item.key)
    where = f"s3://{item.location.bucket}/{key}"
    try:
        body = s3.get_object(Bucket=item.location.bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return Manifest(item, records)
        raise
    try:
        document = json.loads(body)
        manifest = Manifest(
            item,
            int(document["records"]),
            accepted={
                int(index): (str(value["shard_id"]), str(value["sequence_number"]))
                for index, value in document["accepted"].items()
            },
            complete=bool(document["complete"]),
        )
        if document.get("pending"):
            manifest.pending_since_ms = int(document["pending"]["since_ms"])
            manifest.pending = {
                int(index): str(value) for index, value in document["pending"]["records"].items()
            }
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ManifestError(
            f"The replay manifest {where} is not one `failed replay` wrote (records, accepted, "
            "pending, complete); move it aside only if no replay of the object ever ran."
        ) from None
    if manifest.records != records:
        raise ManifestError(
            f"The replay manifest {where} counts {manifest.records} records but the object holds "
            f"{records}; it belongs to another object."
        )
    return manifest


def save(s3: Any, manifest: Manifest) -> None:
    location = manifest.item.location
    encryption: dict[str, str] = {}
    if location.kms_key_arn:
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": location.kms_key_arn}
    s3.put_object(
        Bucket=location.bucket,
        Key=manifest.key,
        Body=json.dumps(manifest.to_json(), indent=1).encode("utf-8"),
        ContentType="application/json",
        **encryption,
    )
