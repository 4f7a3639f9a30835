"""Link records: the pseudonyms of a record's identifiers under both versions around a rotation.

For a record that arrived within ``window`` of an activation (``active_from - window <= arrival <
active_from + window``), the identifier fields of each enriched event are pseudonymized under the
version before the activation and under the version after it, and one link record per distinct
identifier says ``{field, from_version, from_pseudonym, to_version, to_pseudonym}``. Never a value:
with the links the warehouse maps old pseudonyms to new ones and re-keys history. The pseudonyms
are those the Lambda writes (the same Pseudonymizer, the same text: a JSON number's literal text).

Links are written to S3, one JSON-lines object per invocation and pair of versions, under their
own restricted prefix; a failed write fails the invocation (Firehose retries it), so no link is
lost silently.
"""

from __future__ import annotations

import binascii
import datetime
import json
from collections.abc import Callable, Iterator, Mapping, Sequence

from event_fields import FIELD_COUNT, FIELD_NAMES
from salt_batch import arrival_ms
from salt_versions import SaltVersions

# The typing module costs milliseconds of cold start; annotations only need it for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Atomic fields of an enriched event that identify a user or a session.
ATOMIC_IDENTIFIERS = ("user_id", "domain_userid", "network_userid", "domain_sessionid")
#: The GitLab standard context and its identifier keys (field ``contexts.gitlab_standard.<key>``).
GITLAB_STANDARD_PREFIX = "iglu:com.gitlab/gitlab_standard/jsonschema/1-"
GITLAB_STANDARD_IDENTIFIERS = ("user_id", "project_id", "namespace_id")
GITLAB_STANDARD_FIELD = "contexts.gitlab_standard."

_ATOMIC = tuple((name, FIELD_NAMES.index(name)) for name in ATOMIC_IDENTIFIERS)
_CONTEXTS = FIELD_NAMES.index("contexts")
# Numbers as their literal text, as the Lambda pseudonymizes them.
_DECODER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)


class LinkWriteError(RuntimeError):
    """The link records could not be stored: the invocation fails so that Firehose retries it."""


class LinkWindows:
    """The pairs of versions (before, after) whose activation is within the window of a time."""

    __slots__ = ("_boundaries", "_first", "_last")

    def __init__(self, versions: SaltVersions, window_ms: int) -> None:
        starts = [version.active_from_ms for version in versions.versions]
        self._boundaries = tuple(
            (starts[index] - window_ms, starts[index] + window_ms, (index - 1, index))
            for index in range(1, len(starts))
            if window_ms > 0
        )
        self._first = min((low for low, _, _ in self._boundaries), default=0)
        self._last = max((high for _, high, _ in self._boundaries), default=0)

    def pairs_at(self, arrival_ms: int) -> list[tuple[int, int]]:
        """The (older, newer) version index pairs to link for a record of this arrival."""
        if not self._first <= arrival_ms < self._last:
            return []
        return [pair for low, high, pair in self._boundaries if low <= arrival_ms < high]


def collect(
    records: Sequence[Mapping[str, Any]],
    versions: SaltVersions,
    window_ms: int,
    pseudonymizers: Sequence[Callable[[str], str]],
    ok: Sequence[bool],
) -> Links:
    """The links of the records of a batch that arrived within the window of an activation.

    Only records returned ``Ok`` (``ok[i]``) are linked: a ProcessingFailed one is stored raw
    under the error prefix, and gets its links when it is replayed.
    """
    links = Links()
    windows = LinkWindows(versions, window_ms)
    for number, (record, delivered) in enumerate(zip(records, ok, strict=True), start=1):
        if not delivered:
            continue
        pairs = windows.pairs_at(arrival_ms(record, number))
        if not pairs:
            continue
        try:
            text = binascii.a2b_base64(record["data"], strict_mode=True).decode("utf-8")
        except (KeyError, TypeError, ValueError):
            continue
        links.add_record(text, pairs, pseudonymizers)
    return links


def identifiers(text: str) -> Iterator[tuple[str, str]]:
    """``(field, value)`` of every non-empty identifier of the enriched events of a record.

    Lines that are not enriched events are skipped (the transform reports them); a ``contexts``
    field that does not parse has no context identifiers.
    """
    for line in text.split("\n"):
        fields = line.split("\t")
        if len(fields) != FIELD_COUNT:
            continue
        for name, index in _ATOMIC:
            if fields[index]:
                yield name, fields[index]
        contexts = fields[_CONTEXTS]
        if GITLAB_STANDARD_PREFIX in contexts:
            yield from _gitlab_standard_identifiers(contexts)


def _gitlab_standard_identifiers(text: str) -> Iterator[tuple[str, str]]:
    try:
        document = _DECODER.decode(text)
    except (ValueError, RecursionError):
        return
    entities = document.get("data") if isinstance(document, dict) else None
    for entity in entities if isinstance(entities, list) else ():
        if not isinstance(entity, dict):
            continue
        schema, data = entity.get("schema"), entity.get("data")
        if not isinstance(schema, str) or not schema.startswith(GITLAB_STANDARD_PREFIX):
            continue
        if not isinstance(data, dict):
            continue
        for key in GITLAB_STANDARD_IDENTIFIERS:
            value = data.get(key)
            if isinstance(value, str) and value:
                yield GITLAB_STANDARD_FIELD + key, value


class Links:
    """The distinct link records of one invocation, per pair of versions."""

    __slots__ = ("_by_pair",)

    def __init__(self) -> None:
        # (older, newer) -> {(field, from_pseudonym): to_pseudonym}
        self._by_pair: dict[tuple[int, int], dict[tuple[str, str], str]] = {}

    def __len__(self) -> int:
        return sum(len(links) for links in self._by_pair.values())

    def add_record(
        self,
        text: str,
        pairs: Sequence[tuple[int, int]],
        pseudonymizers: Sequence[Callable[[str], str]],
    ) -> None:
        for field, value in identifiers(text):
            for older, newer in pairs:
                links = self._by_pair.setdefault((older, newer), {})
                links[field, pseudonymizers[older](value)] = pseudonymizers[newer](value)

    def documents(self, version_ids: Sequence[str]) -> dict[tuple[str, str], bytes]:
        """One JSON-lines document per (from_version, to_version), its lines sorted."""
        documents = {}
        for (older, newer), links in sorted(self._by_pair.items()):
            lines = [
                json.dumps(
                    {
                        "field": field,
                        "from_version": version_ids[older],
                        "from_pseudonym": from_pseudonym,
                        "to_version": version_ids[newer],
                        "to_pseudonym": to_pseudonym,
                    },
                    separators=(",", ":"),
                )
                for (field, from_pseudonym), to_pseudonym in sorted(links.items())
            ]
            key = (version_ids[older], version_ids[newer])
            documents[key] = ("\n".join(lines) + "\n").encode("utf-8")
        return documents


def object_key(prefix: str, pair: tuple[str, str], now: datetime.datetime, name: str) -> str:
    """``<prefix>from_version=A/to_version=B/yyyy/MM/dd/HH/<name>.jsonl`` (UTC)."""
    return (
        f"{prefix}from_version={pair[0]}/to_version={pair[1]}/"
        f"{now.astimezone(datetime.UTC):%Y/%m/%d/%H}/{name}.jsonl"
    )


def write_links(
    bucket: str,
    prefix: str,
    documents: dict[tuple[str, str], bytes],
    name: str,
    client: Any = None,
) -> list[str]:
    """Put each document into S3; return the keys. Raises LinkWriteError naming the object."""
    import boto3  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    s3 = client or boto3.client("s3")
    now = datetime.datetime.now(datetime.UTC)
    keys = []
    for pair, body in documents.items():
        key = object_key(prefix, pair, now, name)
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson")
        except (BotoCoreError, ClientError) as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
            raise LinkWriteError(
                f"The salt link records could not be written to s3://{bucket}/{key} ({code}); "
                "the invocation fails so that Firehose retries it."
            ) from error
        keys.append(key)
    return keys
