"""A salt rotation inside one demo run (``local demo --rotate``), and what it produced.

The run puts the first half of each stream's records, adds a new salt version to the secret
active from a moment after them (``salt_rotation.with_new_version``: the functions have not read
the secret yet, so no cache can be stale), and puts the second half after that moment. Then,
after delivery: which version each object carries (its key's ``salt_version=``), how many events
each side got, and whether the link records map every test user's old pseudonym to the new one,
checked with an HMAC computed here, independently of the Lambda.
"""

from __future__ import annotations

import datetime
import gzip
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from snowplow_infra import salt_rotation
from snowplow_infra.local import feed, firehose
from snowplow_infra.local.summary import pseudonym
from snowplow_infra.sample_events import FIELD_NAMES

#: Margin between the last record before the switch, the switch, and the first record after it.
MARGIN = datetime.timedelta(milliseconds=50)
VERSION_IN_KEY = re.compile(r"/salt_version=([^/]+)/")
USER_ID = FIELD_NAMES.index("user_id")


@dataclass(frozen=True)
class Switch:
    """The rotation: the versions before and after, the moment, both salts (never shown)."""

    old_id: str
    new_id: str
    at: datetime.datetime
    old_salt: bytes
    new_salt: bytes


@dataclass
class Outcome:
    """What the rotation produced, for the summary and the report (no salt, no value)."""

    switch: Switch
    # role -> version -> [objects, lines]
    objects: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    users: int = 0
    users_linked: int = 0
    links: int = 0
    link_objects: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "from_version": self.switch.old_id,
            "to_version": self.switch.new_id,
            "active_from": salt_rotation.utc(self.switch.at),
            "objects": {
                role: {version: {"objects": n[0], "lines": n[1]} for version, n in versions.items()}
                for role, versions in self.objects.items()
            },
            "users": self.users,
            "users_linked": self.users_linked,
            "links": self.links,
            "link_objects": self.link_objects,
        }


def put_around_a_switch(
    kinesis: Any,
    secrets: Any,
    secret_id: str,
    streams: Mapping[str, tuple[str, Sequence[feed.Record]]],
    progress: Callable[[str], None],
    *,
    clock: Callable[[], float] = time.time,
) -> Switch:
    """Put the first half of every stream, rotate, put the second half."""
    for stream_name, records in streams.values():
        feed.put(kinesis, stream_name, records[: len(records) // 2])
    now = datetime.datetime.fromtimestamp(clock(), datetime.UTC)
    at = (now + MARGIN).replace(microsecond=(now + MARGIN).microsecond // 1000 * 1000)
    secret = secrets.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
    text = secret["SecretString"]
    old = salt_rotation.parse(text, secret_id)
    document, new_id = salt_rotation.with_new_version(text, secret_id, at)
    secrets.put_secret_value(SecretId=secret_id, SecretString=document)
    new = salt_rotation.parse(document, secret_id)
    old_version = old.versions[old.index_at(salt_rotation.epoch_ms(now))]
    new_version = new.versions[-1]
    progress(
        f"put the first half of each stream, then added salt version {new_id} (not shown) active "
        f"from {salt_rotation.utc(at)}, after version {old_version.id}"
    )
    time.sleep(max(0.0, (at + MARGIN).timestamp() - clock()))
    for stream_name, records in streams.values():
        feed.put(kinesis, stream_name, records[len(records) // 2 :])
    return Switch(old_version.id, new_id, at, old_version.salt, new_version.salt)


def version_of(key: str) -> str | None:
    found = VERSION_IN_KEY.search(key)
    return found.group(1) if found else None


def _lines(s3: Any, bucket: str, key: str) -> list[bytes]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return (gzip.decompress(body) if key.endswith(".gz") else body).splitlines()


def read_links(
    s3: Any, bucket: str, prefix: str, switch: Switch
) -> tuple[list[dict[str, str]], int]:
    """The link records from the old to the new version, and the number of objects they are in."""
    where = f"{prefix}from_version={switch.old_id}/to_version={switch.new_id}/"
    links: list[dict[str, str]] = []
    objects = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=where):
        for item in page.get("Contents", []):
            objects += 1
            links += [json.loads(line) for line in _lines(s3, bucket, item["Key"])]
    return links, objects


def user_ids(records: Iterable[feed.Record]) -> set[str]:
    """The distinct non-empty user_id values of the enriched events fed (the test users)."""
    found = set()
    for record in records:
        if record.malformed:
            continue
        for line in record.data.decode("utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) == len(FIELD_NAMES) and fields[USER_ID]:
                found.add(fields[USER_ID])
    return found


def outcome(
    s3: Any,
    switch: Switch,
    deliveries: Mapping[str, firehose.Delivery],
    enriched_fed: Sequence[feed.Record],
    links_at: tuple[str, str] | None,
) -> Outcome:
    """Objects per version per stream, and the links checked for every test user."""
    result = Outcome(switch)
    for role, delivery in deliveries.items():
        versions = result.objects.setdefault(role, {})
        for key in delivery.objects:
            counts = versions.setdefault(version_of(key) or "none", [0, 0])
            counts[0] += 1
            counts[1] += len(_lines(s3, delivery.stream.bucket, key))
    if links_at is None:
        return result
    links, result.link_objects = read_links(s3, *links_at, switch)
    result.links = len(links)
    mapped = {
        (link["from_pseudonym"], link["to_pseudonym"])
        for link in links
        if link["field"] == "user_id"
    }
    users = user_ids(enriched_fed)
    result.users = len(users)
    result.users_linked = sum(
        (pseudonym(switch.old_salt, user), pseudonym(switch.new_salt, user)) in mapped
        for user in users
    )
    return result
