"""What the demo's delivery streams delivered in total, checked for duplicates.

After ``snowplow-infra failed replay --local`` the replayed records are delivered like any other;
this table says, per delivery stream, how many lines all its delivered objects hold and, for
enriched events, how many distinct event_ids they carry (the Lambda keeps event_id), so that an
event delivered twice shows. Bad rows have no identity of their own to count. Counts only: no
value is printed.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from snowplow_infra.local.summary import table
from snowplow_infra.sample_events import FIELD_NAMES

EVENT_ID = FIELD_NAMES.index("event_id")


@dataclass(frozen=True)
class Delivered:
    delivery_stream: str
    objects: int
    lines: int
    distinct: int | None  # distinct event_ids; None for bad rows

    @property
    def duplicates(self) -> int | None:
        return None if self.distinct is None else self.lines - self.distinct


def delivered(s3: Any, outputs: Mapping[str, Any]) -> dict[str, Delivered]:
    """Every delivered object of each delivery stream (Terraform's ``delivery_streams``)."""
    found = {}
    for role, stream in outputs["delivery_streams"].items():
        keys: list[str] = []
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=stream["bucket"], Prefix=stream["prefix"]
        )
        for page in pages:
            keys += [item["Key"] for item in page.get("Contents", [])]
        lines: list[bytes] = []
        for key in keys:
            body = s3.get_object(Bucket=stream["bucket"], Key=key)["Body"].read()
            lines += (gzip.decompress(body) if key.endswith(".gz") else body).splitlines()
        distinct = None
        if role == "enriched_good":
            distinct = len({line.split(b"\t")[EVENT_ID] for line in lines})
        found[role] = Delivered(stream["name"], len(keys), len(lines), distinct)
    return found


def delivered_table(found: Mapping[str, Delivered]) -> str:
    headers = ("delivery stream", "objects", "lines delivered", "distinct", "duplicates")
    rows = [
        (d.delivery_stream, d.objects, d.lines, d.distinct, d.duplicates) for d in found.values()
    ]
    return table(headers, rows)
