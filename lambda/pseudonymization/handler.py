"""Kinesis Data Firehose transform: pseudonymize Snowplow enriched events or bad rows.

Handler ``handler.lambda_handler``. Environment: SALT_SECRET_ID (required), RECORD_FORMAT
(``enriched`` or ``bad_rows``), SALT_TTL_SECONDS, METRICS_NAMESPACE, and for salt versions
SALT_VERSION_PARTITION_KEY_NAME, LINKS_BUCKET_NAME, LINKS_PREFIX, LINK_WINDOW_SECONDS. The
rules, the allowlist and the size arithmetic: docs/pseudonymization.md; salt versions and links:
docs/salt-rotation.md.

This module holds the per-container state (the allowlist, the salt, the pseudonym cache); the work
is done by pure functions in the other modules.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

import metric_names as names
import reasons
import salt_links
from allowlist import Allowlist, load_allowlist
from bad_rows import bad_rows_transform
from emf import emf_line
from enriched import enriched_transform
from errors import ResponseTooLargeError
from firehose import MAX_RESPONSE_BYTES, OK, BatchResult, Transformed
from pseudonym import Pseudonymizer
from salt import SaltCache
from salt_batch import choose_versions, transform_versioned
from salt_versions import SaltVersions
from settings import Settings

# The typing module costs milliseconds of cold start; annotations only need it for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Validated at start-up: a broken allowlist fails the cold start, never an event.
ALLOWLIST: Allowlist = load_allowlist()
_TRANSFORMS: dict[str, Callable[[Allowlist, Pseudonymizer], Callable[[str], Transformed]]]
_TRANSFORMS = {"enriched": enriched_transform, "bad_rows": bad_rows_transform}

_salts = SaltCache()
# Per salt version id: its salt, its Pseudonymizer (and pseudonym cache) and the transforms built
# on it.
_current: dict[str, tuple[bytes, Pseudonymizer, dict[str, Callable[[str], Transformed]]]] = {}


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    started = time.perf_counter()
    settings = Settings.from_environment(os.environ)
    records = _records_of(event)
    versions = _salts.get(settings.salt_secret_id, settings.salt_ttl_seconds)
    chosen = choose_versions(records, versions)
    pseudonymizers = _pseudonymizers(versions)
    values_before = sum(pseudonymizer.count for pseudonymizer in pseudonymizers)
    batch = transform_versioned(
        records,
        chosen,
        [version.id for version in versions.versions],
        lambda index: _transform(versions, index, settings.record_format),
        max_response_bytes=MAX_RESPONSE_BYTES,
        partition_key=settings.salt_version_partition_key,
        malformed_reason=reasons.MALFORMED_BY_FORMAT[settings.record_format],
    )
    values = sum(pseudonymizer.count for pseudonymizer in pseudonymizers) - values_before
    if batch.complete:
        ok = [output["result"] == OK for output in batch.records]
        _write_links(settings, context, records, versions, pseudonymizers, ok=ok)
    _log_metrics(
        settings,
        context,
        batch,
        records_in=len(records),
        values=values,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
    if not batch.complete:
        raise ResponseTooLargeError(
            f"The pseudonymized batch of {len(records)} records would make a response larger "
            f"than the {MAX_RESPONSE_BYTES}-byte (6 MB) Lambda limit that Firehose allows, because "
            "pseudonyms made its values longer. Lower the Firehose processor parameter "
            "BufferSizeInMBs (the processor buffer size) of this delivery stream; "
            "see docs/pseudonymization.md."
        )
    return {"records": batch.records}


def _records_of(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    records = event.get("records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise ValueError("The event is not a Firehose transformation event: it has no records.")
    for number, record in enumerate(records, start=1):
        if not isinstance(record, Mapping) or not isinstance(record.get("recordId"), str):
            raise ValueError(f"Record number {number} of the event has no recordId.")
    return records


def _pseudonymizers(versions: SaltVersions) -> list[Pseudonymizer]:
    """The container's Pseudonymizer of each version, built again (caches empty) for a new salt;
    versions no longer in the secret are forgotten."""
    for version_id in set(_current) - {version.id for version in versions.versions}:
        del _current[version_id]
    for version in versions.versions:
        kept = _current.get(version.id)
        if kept is None or kept[0] != version.salt:
            _current[version.id] = (version.salt, Pseudonymizer(version.salt), {})
    return [_current[version.id][1] for version in versions.versions]


def _transform(
    versions: SaltVersions, index: int, record_format: str
) -> Callable[[str], Transformed]:
    """The transform of version ``index`` for ``record_format``, built once per salt."""
    _, pseudonymizer, transforms = _current[versions.versions[index].id]
    if record_format not in transforms:
        transforms[record_format] = _TRANSFORMS[record_format](ALLOWLIST, pseudonymizer)
    return transforms[record_format]


def _write_links(
    settings: Settings,
    context: Any,
    records: list[Mapping[str, Any]],
    versions: SaltVersions,
    pseudonymizers: list[Pseudonymizer],
    *,
    ok: list[bool],
) -> None:
    """Link records for the enriched events delivered Ok that arrived near an activation
    (salt_links)."""
    window_ms = int(settings.link_window_seconds * 1000)
    if not settings.links_bucket or settings.record_format != "enriched" or versions.always:
        return
    links = salt_links.collect(records, versions, window_ms, pseudonymizers, ok)
    if len(links):
        name = getattr(context, "aws_request_id", None) or os.urandom(16).hex()
        documents = links.documents([version.id for version in versions.versions])
        salt_links.write_links(settings.links_bucket, settings.links_prefix, documents, str(name))


def _log_metrics(
    settings: Settings,
    context: Any,
    batch: BatchResult,
    *,
    records_in: int,
    values: int,
    duration_ms: float,
) -> None:
    function_name = (
        getattr(context, "function_name", None)
        or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        or "local"
    )
    failed = batch.failure_reasons
    metrics = {
        names.RECORDS_IN: records_in,
        names.RECORDS_OK: batch.ok,
        names.RECORDS_PROCESSING_FAILED: batch.processing_failed,
        names.LINES: batch.lines,
        names.VALUES_PSEUDONYMIZED: values,
        names.UNPARSABLE_JSON_FIELDS: batch.unparsable_json,
        names.DURATION: round(duration_ms, 3),
        names.RESPONSE_BYTES: batch.response_bytes,
        names.FAILED_MALFORMED_BASE64: failed.get(reasons.MALFORMED_BASE64, 0),
        names.FAILED_MALFORMED_UTF8: failed.get(reasons.MALFORMED_UTF8, 0),
        names.FAILED_WRONG_FIELD_COUNT: failed.get(reasons.WRONG_FIELD_COUNT, 0),
        names.FAILED_UNPARSABLE_BAD_ROW: failed.get(reasons.UNPARSABLE_BAD_ROW, 0),
    }
    line = emf_line(
        settings.metrics_namespace,
        str(function_name),
        settings.record_format,
        metrics,
        timestamp_ms=int(time.time() * 1000),
    )
    print(line, flush=True)


def transform_for(record_format: str, salt: bytes) -> Callable[[str], Transformed]:
    """The transform the handler runs for ``record_format``, built with ``salt`` and the packaged
    allowlist: ``snowplow-infra failed explain`` judges failed records with it (and a throwaway
    salt, since whether a record transforms does not depend on the salt)."""
    return _TRANSFORMS[record_format](ALLOWLIST, Pseudonymizer(salt))
