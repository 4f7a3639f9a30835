"""The error objects a command works on, their records, and when S3 deletes them."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from snowplow_infra.failed import documents
from snowplow_infra.failed.documents import ErrorObject, FailedRecord
from snowplow_infra.failed.locations import ErrorLocation


@dataclass(frozen=True)
class Selected:
    item: ErrorObject
    records: list[FailedRecord]
    replayed: bool


def select(
    s3: Any,
    locations: Sequence[ErrorLocation],
    *,
    keys: Sequence[str] = (),
    hour: str | None = None,
    include_replayed: bool = True,
) -> list[Selected]:
    """The error objects of the locations (only ``keys``/``hour`` when given), with records."""
    chosen = []
    wanted = set(keys)
    for location in locations:
        for item in documents.error_objects(s3, location):
            if (wanted and item.key not in wanted) or (hour and item.hour != hour):
                continue
            replayed = documents.is_replayed(s3, item)
            if replayed and not include_replayed:
                continue
            chosen.append(Selected(item, documents.records(s3, item), replayed))
            wanted.discard(item.key)
    if wanted:
        raise documents.DocumentError(
            f"No error object {', '.join(sorted(wanted))} under the selected delivery streams' "
            "error prefixes; `failed list` shows them."
        )
    return chosen


def expiration_days(s3: Any, bucket: str, prefix: str) -> int | None:
    """The days after which the bucket's lifecycle rules delete objects under ``prefix``."""
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
            return None
        raise
    days = []
    for rule in rules:
        rule_prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", ""))
        expiration = (rule.get("Expiration") or {}).get("Days")
        if rule.get("Status") == "Enabled" and expiration and prefix.startswith(rule_prefix):
            days.append(int(expiration))
    return min(days) if days else None


def expires(last_modified: datetime.datetime, days: int) -> datetime.date:
    """S3 deletes an object at the first midnight UTC ``days`` days after it was written."""
    moment = last_modified.astimezone(datetime.UTC) + datetime.timedelta(days=days)
    return moment.date() + datetime.timedelta(days=1)
