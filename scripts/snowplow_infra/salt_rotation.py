"""What ``snowplow-infra salt`` decides, without AWS: status, the rotated and the pruned document.

The documents are the salt secret's JSON form (docs/salt-rotation.md). Every document written is
read back with the Lambda's own parser first, so the CLI never stores what the Lambda refuses.
No function here returns or prints a salt, except the documents meant for the secret itself.
"""

from __future__ import annotations

import datetime
import itertools
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from snowplow_infra.salt_versions_file import lambda_salt_versions

#: Bytes of randomness of a generated salt (hex-encoded: 64 characters).
GENERATED_SALT_BYTES = 32
#: How far ahead of the salt cache a rotation must be: every container has fetched the new
#: version before any record needs it, even one that fetched the secret just before the write.
TTL_FACTOR = 2
#: ``active_from`` of version 0 when a plain-string secret is turned into versions.
PLAIN_ACTIVE_FROM = "1970-01-01T00:00:00Z"


class RotationError(RuntimeError):
    """A rotation or a prune that must not be done; the message says why."""


@dataclass(frozen=True)
class VersionStatus:
    id: str
    active_from: str
    state: str  # "active", "scheduled", "previous"


def utc(moment: datetime.datetime) -> str:
    """RFC 3339 UTC with a Z, to the millisecond when it has one."""
    moment = moment.astimezone(datetime.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def epoch_ms(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse(secret: str, secret_id: str) -> Any:
    """The Lambda's SaltVersions of a SecretString (raises its SaltUnavailableError)."""
    return lambda_salt_versions().parse_salt_secret(secret, secret_id)


def status(secret: str, secret_id: str, now: datetime.datetime) -> list[VersionStatus]:
    """Each version, oldest first, and whether it is the one in use now, a scheduled or a past
    one."""
    module = lambda_salt_versions()
    versions = parse(secret, secret_id)
    active = versions.index_at(epoch_ms(now))
    rows = []
    for index, version in enumerate(versions.versions):
        state = "active" if index == active else "scheduled" if index > active else "previous"
        rows.append(VersionStatus(version.id, module.format_ms(version.active_from_ms), state))
    return rows


def _document(secret: str) -> list[dict[str, str]]:
    """The secret's versions as JSON items; a plain salt becomes version 0."""
    if not secret.lstrip().startswith("{"):
        module = lambda_salt_versions()
        return [{"id": module.PLAIN_VERSION_ID, "salt": secret, "active_from": PLAIN_ACTIVE_FROM}]
    items: list[dict[str, str]] = json.loads(secret)["versions"]
    return items


def _dumps(items: Sequence[dict[str, str]]) -> str:
    return json.dumps({"versions": list(items)}, indent=2)


def next_id(ids: Sequence[str]) -> str:
    """One more than the largest numeric id (ids that are not numbers are skipped)."""
    numbers = [int(version_id) for version_id in ids if version_id.isdigit()]
    return str(max(numbers, default=0) + 1)


def rotated(
    secret: str,
    secret_id: str,
    at: datetime.datetime,
    now: datetime.datetime,
    ttl_seconds: float,
    *,
    version_id: str | None = None,
) -> tuple[str, str]:
    """The document with a new random version active from ``at``, and the new version's id.

    Refused when ``at`` is less than TTL_FACTOR x ttl_seconds from now, or not after the latest
    version's activation (a new version is always the newest).
    """
    versions = parse(secret, secret_id)  # the current secret must be valid itself
    earliest = now + datetime.timedelta(seconds=TTL_FACTOR * ttl_seconds)
    if at < earliest:
        raise RotationError(
            f"The new version would be active from {utc(at)}, sooner than {TTL_FACTOR} x the "
            f"functions' salt TTL ({ttl_seconds:g} s) from now: choose --at {utc(earliest)} or "
            "later, so that every container has fetched it before any record needs it."
        )
    latest = versions.versions[-1]
    if epoch_ms(at) <= latest.active_from_ms:
        module = lambda_salt_versions()
        raise RotationError(
            f"The new version would be active from {utc(at)}, not after the newest version "
            f"({latest.id!r}, active from {module.format_ms(latest.active_from_ms)}): a new "
            "version must be the newest one."
        )
    return with_new_version(secret, secret_id, at, version_id=version_id)


def with_new_version(
    secret: str, secret_id: str, at: datetime.datetime, *, version_id: str | None = None
) -> tuple[str, str]:
    """The document with a new random version active from ``at`` (no timing rule: ``rotated``
    applies it; the local demo, whose functions have not read the secret yet, needs none)."""
    items = _document(secret)
    new_id = version_id or next_id([item["id"] for item in items])
    items.append(
        {"id": new_id, "salt": secrets.token_hex(GENERATED_SALT_BYTES), "active_from": utc(at)}
    )
    document = _dumps(items)
    parse(document, secret_id)
    return document, new_id


def prunable(
    secret: str, secret_id: str, now: datetime.datetime, keep_for: datetime.timedelta
) -> list[str]:
    """The ids of the versions no record can still need.

    A version is needed by records that arrived before its successor's activation; such a record
    can still reach the Lambda for the streams' retention, plus the error prefix's expiry, plus
    the time to replay it: ``keep_for`` in all. A version is prunable once its successor has been
    active for longer than ``keep_for``. The version in use and scheduled ones never are.
    """
    versions = parse(secret, secret_id).versions
    limit = epoch_ms(now - keep_for)
    return [
        version.id
        for version, successor in itertools.pairwise(versions)
        if successor.active_from_ms <= limit
    ]


def pruned(secret: str, secret_id: str, remove: Sequence[str]) -> str:
    """The document without the versions ``remove``."""
    items = [item for item in _document(secret) if item["id"] not in set(remove)]
    document = _dumps(items)
    parse(document, secret_id)
    return document
