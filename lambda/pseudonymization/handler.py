"""Kinesis Data Firehose transform: pseudonymize Snowplow enriched events or bad rows.

Handler ``handler.lambda_handler``. Environment: SALT_SECRET_ID (required), RECORD_FORMAT
(``enriched`` or ``bad_rows``), SALT_TTL_SECONDS, METRICS_NAMESPACE. The rules, the allowlist
and the size arithmetic: docs/pseudonymization.md.

This module holds the per-container state (the allowlist, the salt, the pseudonym cache); the work
is done by pure functions in the other modules.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

import metric_names as names
import reasons
from allowlist import Allowlist, load_allowlist
from bad_rows import bad_rows_transform
from emf import emf_line
from enriched import enriched_transform
from errors import ResponseTooLargeError
from firehose import MAX_RESPONSE_BYTES, BatchResult, Transformed, transform_records
from pseudonym import Pseudonymizer
from salt import SaltCache
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
# The salt in use, its Pseudonymizer (and pseudonym cache) and the transforms built on it.
_current: tuple[bytes, Pseudonymizer, dict[str, Callable[[str], Transformed]]] | None = None


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    started = time.perf_counter()
    settings = Settings.from_environment(os.environ)
    records = _records_of(event)
    salt = _salts.get(settings.salt_secret_id, settings.salt_ttl_seconds)
    pseudonymizer, transform = _transform(salt, settings.record_format)

    values_before = pseudonymizer.count
    malformed = reasons.MALFORMED_BY_FORMAT[settings.record_format]
    batch = transform_records(records, transform, MAX_RESPONSE_BYTES, malformed)
    _log_metrics(
        settings,
        context,
        batch,
        records_in=len(records),
        values=pseudonymizer.count - values_before,
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


def _transform(
    salt: bytes, record_format: str
) -> tuple[Pseudonymizer, Callable[[str], Transformed]]:
    """The container's Pseudonymizer and transform, built again (caches empty) for a new salt."""
    global _current  # noqa: PLW0603
    if _current is None or _current[0] != salt:
        _current = (salt, Pseudonymizer(salt), {})
    _, pseudonymizer, transforms = _current
    if record_format not in transforms:
        transforms[record_format] = _TRANSFORMS[record_format](ALLOWLIST, pseudonymizer)
    return pseudonymizer, transforms[record_format]


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
