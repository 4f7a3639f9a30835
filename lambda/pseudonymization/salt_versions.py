"""Salt versions: which salt pseudonymizes a record, chosen by the record's arrival time.

The salt secret's SecretString is either

* a plain salt: version ``0``, used for every record whatever its arrival time; or
* JSON, ``{"versions": [{"id": "1", "salt": "...", "active_from": "2026-01-01T00:00:00Z"}, ...]}``:
  a record is pseudonymized with the version whose ``active_from`` is the latest one at or before
  its ``approximateArrivalTimestamp``. A record that arrived before every version has no salt.

The choice depends only on the secret and the record, never on when a container fetched the
secret, so every container makes the same one. Every salt follows the salt rules (``checked_salt``);
a secret that breaks any rule is refused whole. Messages name the secret, the version and the key,
never a salt.
"""

from __future__ import annotations

import datetime
import json
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence

from errors import SaltUnavailableError

# The typing module costs milliseconds of cold start; annotations only need it for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The shortest salt accepted, in bytes of its UTF-8 text: 256 bits, the size of the HMAC-SHA256
#: output, so the key is never the weaker part.
MIN_SALT_BYTES = 32
#: The id of the version a plain-string secret holds.
PLAIN_VERSION_ID = "0"
#: A version id: it becomes an S3 prefix part and a partition key value, so it is kept short and
#: made of characters that need no escaping anywhere.
VERSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
#: ``active_from`` of a plain-string secret's version: before any record.
ALWAYS_MS = -(2**63)

_VERSION_KEYS = frozenset({"id", "salt", "active_from"})
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")


def checked_salt(text: str, where: str) -> bytes:
    """The salt's UTF-8 bytes, or SaltUnavailableError when it breaks a rule.

    ``where`` names the secret (and the version) in the message; the message never carries the
    salt, nor its length.
    """
    if not text.strip():
        raise SaltUnavailableError(
            f"{where} holds a salt made only of whitespace; a salt must be at least "
            f"{MIN_SALT_BYTES} bytes of random text (docs/pseudonymization.md)."
        )
    salt = text.encode("utf-8")
    if len(salt) < MIN_SALT_BYTES:
        raise SaltUnavailableError(
            f"{where} holds a salt shorter than {MIN_SALT_BYTES} bytes; a salt must be at least "
            f"{MIN_SALT_BYTES} bytes of random text (docs/pseudonymization.md)."
        )
    return salt


class SaltVersion:
    """One salt and the first millisecond (epoch, UTC) of arrival it applies to."""

    __slots__ = ("active_from_ms", "id", "salt")

    def __init__(self, version_id: str, salt: bytes, active_from_ms: int) -> None:
        self.id = version_id
        self.salt = salt
        self.active_from_ms = active_from_ms

    def __repr__(self) -> str:  # never the salt
        return f"SaltVersion(id={self.id!r}, active_from_ms={self.active_from_ms})"


class SaltVersions:
    """The versions of one secret, ordered by ``active_from``."""

    __slots__ = ("_starts", "secret_id", "versions")

    def __init__(self, versions: Sequence[SaltVersion], secret_id: str) -> None:
        if not versions:
            raise ValueError("SaltVersions needs at least one version.")
        self.versions = tuple(sorted(versions, key=lambda version: version.active_from_ms))
        self.secret_id = secret_id
        self._starts = [version.active_from_ms for version in self.versions]

    @property
    def always(self) -> bool:
        """True for a single version that applies to every record (a plain-string secret)."""
        return len(self.versions) == 1 and self._starts[0] == ALWAYS_MS

    def index_at(self, arrival_ms: int) -> int:
        """The index of the version for a record that arrived at ``arrival_ms``; -1 for none."""
        return bisect_right(self._starts, arrival_ms) - 1

    def for_arrival(self, arrival_ms: int, record_number: int) -> SaltVersion:
        """The version that pseudonymizes record ``record_number`` (1-based) of an invocation."""
        return self.versions[self.index_for(arrival_ms, record_number)]

    def index_for(self, arrival_ms: int, record_number: int) -> int:
        """``index_at``, raising SaltUnavailableError when the record arrived before every
        version."""
        index = bisect_right(self._starts, arrival_ms) - 1
        if index < 0:
            first = self.versions[0]
            raise SaltUnavailableError(
                f"Record number {record_number} arrived at {format_ms(arrival_ms)}, before the "
                f"first version ({first.id!r}, active from {format_ms(first.active_from_ms)}) "
                f"of the salt secret {self.secret_id!r}: no salt may pseudonymize it. Add a "
                "version active early enough (docs/salt-rotation.md)."
            )
        return index


def parse_salt_secret(text: str, secret_id: str) -> SaltVersions:
    """The versions a SecretString holds (see the module docstring).

    A SecretString whose first non-blank character is ``{`` is the versioned form and must be
    valid; anything else is a plain salt.
    """
    where = f"The salt secret {secret_id!r}"
    if not text.lstrip().startswith("{"):
        return SaltVersions(
            [SaltVersion(PLAIN_VERSION_ID, checked_salt(text, where), ALWAYS_MS)], secret_id
        )
    try:
        document = json.loads(text)
    except ValueError:
        raise SaltUnavailableError(
            f"{where} starts with '{{' but is not valid JSON; store either a plain salt or "
            '{"versions": [{"id", "salt", "active_from"}, ...]} (docs/salt-rotation.md).'
        ) from None
    return _parse_versions(document, secret_id)


def _parse_versions(document: Any, secret_id: str) -> SaltVersions:
    where = f"The salt secret {secret_id!r}"
    if not isinstance(document, Mapping) or set(document) != {"versions"}:
        raise SaltUnavailableError(
            f'{where} is JSON but not an object with the single key "versions".'
        )
    items = document["versions"]
    if not isinstance(items, list) or not items:
        raise SaltUnavailableError(f'{where}: "versions" must be a non-empty list.')
    versions: list[SaltVersion] = []
    for number, item in enumerate(items, start=1):
        versions.append(_parse_version(item, f"Version number {number} of {where[4:]}"))
    _refuse_duplicates(versions, where)
    return SaltVersions(versions, secret_id)


def _parse_version(item: Any, where: str) -> SaltVersion:
    if not isinstance(item, Mapping) or set(item) != _VERSION_KEYS:
        raise SaltUnavailableError(
            f'{where} must be an object with exactly the keys "id", "salt" and "active_from".'
        )
    version_id, salt, active_from = item["id"], item["salt"], item["active_from"]
    if not isinstance(version_id, str) or not VERSION_ID_PATTERN.fullmatch(version_id):
        raise SaltUnavailableError(
            f'{where}: "id" must be a string of 1 to 32 letters, digits, "_" or "-".'
        )
    where = f"{where} (id {version_id!r})"
    if not isinstance(salt, str):
        raise SaltUnavailableError(f'{where}: "salt" must be a string.')
    return SaltVersion(version_id, checked_salt(salt, where), parse_timestamp(active_from, where))


def _refuse_duplicates(versions: list[SaltVersion], where: str) -> None:
    for attribute, what in (("id", "id"), ("active_from_ms", "active_from"), ("salt", "salt")):
        seen: set[object] = set()
        for version in versions:
            value = getattr(version, attribute)
            if value in seen:
                shown = "" if attribute == "salt" else f" {format_value(value, attribute)}"
                raise SaltUnavailableError(
                    f"{where}: two versions have the same {what}{shown} (version {version.id!r} "
                    "repeats it); every version needs its own."
                )
            seen.add(value)


def format_value(value: object, attribute: str) -> str:
    if attribute == "active_from_ms" and isinstance(value, int):
        return format_ms(value)
    return repr(value)


def parse_timestamp(value: object, where: str) -> int:
    """``active_from`` (RFC 3339 in UTC, ``...Z``) as the first epoch millisecond it covers.

    A record that arrived at millisecond ``m`` is at or after ``active_from`` when ``m`` is at
    least this value (sub-millisecond parts round up).
    """
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        raise SaltUnavailableError(
            f'{where}: "active_from" must be a UTC time such as "2027-03-01T00:00:00Z" '
            "(RFC 3339, ending in Z)."
        )
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SaltUnavailableError(
            f'{where}: "active_from" is not a valid date and time.'
        ) from None
    microseconds = (moment - _EPOCH) // datetime.timedelta(microseconds=1)
    return -(-microseconds // 1000)


def format_ms(epoch_ms: int) -> str:
    """An epoch millisecond as RFC 3339 UTC (``...:00.000Z``); "always" for ALWAYS_MS."""
    if epoch_ms == ALWAYS_MS:
        return "always"
    moment = _EPOCH + datetime.timedelta(milliseconds=epoch_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
