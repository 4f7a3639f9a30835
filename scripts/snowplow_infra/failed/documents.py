"""The error objects under a delivery stream's error prefix and the records they hold.

Firehose writes a failed record as one JSON document a line (gzip-compressed when the delivery
stream compresses): ``attemptsMade``, ``arrivalTimestamp``, ``errorCode``, ``errorMessage``,
``attemptEndingTimestamp``, ``rawData`` (the record's original data, base64) and ``lambdaArn``.
The raw data is personal data: nothing here prints it or puts it in an error message.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from snowplow_infra.failed.locations import ErrorLocation

#: The tag ``replay`` puts on an object once every record it selected was accepted by Kinesis.
REPLAYED_TAG = "snowplow-replay"
REPLAYED_VALUE = "replayed"

# <error output type>/yyyy/MM/dd/HH/<object name>, after the static error prefix.
_KEY = re.compile(r"^(?P<type>[a-z-]+)/(?P<hour>\d{4}/\d\d/\d\d/\d\d)/(?P<name>[^/]+)$")


class DocumentError(ValueError):
    """An error object does not hold Firehose's error documents."""


@dataclass(frozen=True)
class ErrorObject:
    """One object Firehose wrote under an error prefix."""

    location: ErrorLocation
    key: str
    size: int
    last_modified: datetime.datetime

    @property
    def _parts(self) -> re.Match[str] | None:
        return _KEY.match(self.key.removeprefix(self.location.error_prefix))

    @property
    def error_type(self) -> str:
        """``processing-failed`` (Firehose's !{firehose:error-output-type}), or ``unknown``."""
        parts = self._parts
        return parts["type"] if parts else "unknown"

    @property
    def hour(self) -> str:
        """yyyy/MM/dd/HH of the object's key (UTC), or the hour it was written."""
        parts = self._parts
        return parts["hour"] if parts else self.last_modified.strftime("%Y/%m/%d/%H")


@dataclass(frozen=True)
class FailedRecord:
    """One record of an error object: its position, Firehose's error and its original data."""

    key: str
    index: int  # 0-based line of the object
    arrival_ms: int
    error_code: str
    attempts: int
    data: bytes  # the original record; never printed


def error_objects(s3: Any, location: ErrorLocation) -> Iterator[ErrorObject]:
    """Every object under the location's error prefix, oldest key first."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=location.bucket, Prefix=location.error_prefix):
        for item in page.get("Contents", []):
            yield ErrorObject(location, item["Key"], int(item["Size"]), item["LastModified"])


def is_replayed(s3: Any, item: ErrorObject) -> bool:
    """True when ``replay`` tagged the object as replayed."""
    tags = s3.get_object_tagging(Bucket=item.location.bucket, Key=item.key)["TagSet"]
    return any(t["Key"] == REPLAYED_TAG and t["Value"] == REPLAYED_VALUE for t in tags)


def records(s3: Any, item: ErrorObject) -> list[FailedRecord]:
    """The records of an error object, in the order Firehose wrote them."""
    body = s3.get_object(Bucket=item.location.bucket, Key=item.key)["Body"].read()
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError):
            raise DocumentError(
                f"s3://{item.location.bucket}/{item.key} is not a valid gzip file."
            ) from None
    return parse(item.key, body, f"s3://{item.location.bucket}/{item.key}")


def parse(key: str, body: bytes, where: str) -> list[FailedRecord]:
    """Firehose's error documents, one a line; errors name the object and the line, no value."""
    found: list[FailedRecord] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
            data = base64.b64decode(document["rawData"], validate=True)
            arrival = int(document["arrivalTimestamp"])
            code = str(document["errorCode"])
            attempts = int(document.get("attemptsMade", 0))
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise DocumentError(
                f"Line {number} of {where} is not a Firehose error document with rawData, "
                "arrivalTimestamp and errorCode."
            ) from None
        found.append(FailedRecord(key, len(found), arrival, code, attempts, data))
    return found
