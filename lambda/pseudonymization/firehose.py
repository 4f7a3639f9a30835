"""The Firehose data-transformation contract: records in, one result per recordId out.

Firehose sends ``{"records": [{"recordId", "data" (base64), ...}]}`` and expects
``{"records": [{"recordId", "result", "data"}]}`` back, one output per input, in input order, in a
response of at most 6 MiB. A record that cannot be decoded or does not match its format goes back
as ``ProcessingFailed`` with its original data, and the rest of the batch goes on; the batch
counts each failed record under its reason code (``reasons``).
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable, Iterable, Mapping

import reasons
from errors import MalformedRecordError

# The typing module costs milliseconds of cold start; annotations only need it for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Lambda's cap on a synchronous response, which is what Firehose invokes.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024

OK = "Ok"
PROCESSING_FAILED = "ProcessingFailed"

# The response as json.dumps writes it (what the Python runtime sends; an upper bound if a runtime
# writes it more compactly): {"records": [R, R, ...]} with each R {"recordId": I, "result": S,
# "data": D} where I, S and D are JSON strings.
_ENVELOPE_BYTES = len(json.dumps({"records": []}))
_RECORD_BYTES = len(json.dumps({"recordId": "", "result": "", "data": ""})) - 6
_SEPARATOR_BYTES = len(", ")
# A record's bytes besides its recordId: fixed keys, its result, the quotes around its data.
_OK_BYTES = _RECORD_BYTES + len(json.dumps(OK)) + 2 + _SEPARATOR_BYTES
_FAILED_BYTES = _RECORD_BYTES + len(json.dumps(PROCESSING_FAILED)) + _SEPARATOR_BYTES


class Transformed:
    """What a record transform returns: the new text and what it counted."""

    __slots__ = ("lines", "text", "unparsable_json")

    def __init__(self, text: str, lines: int, unparsable_json: int) -> None:
        self.text = text
        self.lines = lines
        self.unparsable_json = unparsable_json


class BatchResult:
    """The output records of a batch and its counts."""

    __slots__ = (
        "complete",
        "failure_reasons",
        "lines",
        "ok",
        "processing_failed",
        "records",
        "response_bytes",
        "unparsable_json",
    )

    def __init__(self) -> None:
        self.records: list[dict[str, str]] = []
        self.ok = 0
        self.processing_failed = 0
        self.lines = 0
        self.unparsable_json = 0
        #: ProcessingFailed records by reason code (reasons.REASONS); codes with none are absent.
        self.failure_reasons: dict[str, int] = {}
        #: The size of the response as json.dumps writes it.
        self.response_bytes = _ENVELOPE_BYTES
        #: False when the batch was abandoned because its response outgrew the cap.
        self.complete = True


def _json_string_bytes(text: str) -> int:
    """The length of ``text`` as a JSON string (quotes included), as json.dumps writes it."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return len(text) + 2
    return len(json.dumps(text))


def transform_records(
    records: Iterable[Mapping[str, Any]],
    transform: Callable[[str], Transformed],
    max_response_bytes: int = MAX_RESPONSE_BYTES,
    malformed_reason: str = reasons.WRONG_FIELD_COUNT,
) -> BatchResult:
    """Transform every record; stop early (``complete=False``) once the response is too big.

    A record ``transform`` rejects (MalformedRecordError) counts under ``malformed_reason``, the
    code of its record format (reasons.MALFORMED_BY_FORMAT).
    """
    batch = BatchResult()
    outputs = batch.records
    failures = batch.failure_reasons
    ok = lines = unparsable = 0
    size = _ENVELOPE_BYTES - _SEPARATOR_BYTES
    for record in records:
        record_id = record["recordId"]
        data = record.get("data")
        # The reason code of a failure at each step (assigning it costs less than nested trys).
        reason = reasons.MALFORMED_BASE64
        try:
            if not isinstance(data, str):
                raise MalformedRecordError("The record has no base64 data.")
            # Strict base64 (binascii.Error) and strict UTF-8 (UnicodeError) both raise ValueError,
            # on the way in and on the way out (a kept JSON string with a lone surrogate escape).
            raw = binascii.a2b_base64(data, strict_mode=True)
            reason = reasons.MALFORMED_UTF8
            text = raw.decode("utf-8")
            reason = malformed_reason
            transformed = transform(text)
            reason = reasons.MALFORMED_UTF8
            encoded = binascii.b2a_base64(transformed.text.encode("utf-8"), newline=False)
        except (MalformedRecordError, ValueError):
            failures[reason] = failures.get(reason, 0) + 1
            echoed = data if isinstance(data, str) else ""
            outputs.append({"recordId": record_id, "result": PROCESSING_FAILED, "data": echoed})
            size += _FAILED_BYTES + _json_string_bytes(echoed)
        else:
            outputs.append({"recordId": record_id, "result": OK, "data": encoded.decode("ascii")})
            size += _OK_BYTES + len(encoded)
            ok += 1
            lines += transformed.lines
            unparsable += transformed.unparsable_json
        size += _json_string_bytes(record_id)
        if size > max_response_bytes:
            batch.complete = False
            break
    batch.ok = ok
    batch.processing_failed = len(outputs) - ok
    batch.lines = lines
    batch.unparsable_json = unparsable
    batch.response_bytes = size if outputs else _ENVELOPE_BYTES
    return batch
