"""Why a record goes back to Firehose as ProcessingFailed: one code per cause, never a value.

The handler counts the codes in its EMF metrics (metric_names.FAILED_BY_REASON); ``snowplow-infra
failed explain`` finds the code of a failed record by running its original data through the same
functions. Firehose's error documents cannot carry the code: for a ProcessingFailed record it
writes its own errorCode (``Lambda.ProcessingFailedStatus``) and the record's original data, and
ignores the data and metadata the function returned (docs/pseudonymization.md).
"""

from __future__ import annotations

#: The data is not strict base64 (or the record has no data).
MALFORMED_BASE64 = "MalformedBase64"
#: The decoded bytes are not UTF-8, or the text escapes a lone surrogate, which UTF-8 cannot hold.
MALFORMED_UTF8 = "MalformedUtf8"
#: RECORD_FORMAT=enriched: a line without the 131 tab-separated fields of an enriched event.
WRONG_FIELD_COUNT = "WrongFieldCount"
#: RECORD_FORMAT=bad_rows: a record that is not JSON bad rows (or is nested too deeply).
UNPARSABLE_BAD_ROW = "UnparsableBadRow"

REASONS = (MALFORMED_BASE64, MALFORMED_UTF8, WRONG_FIELD_COUNT, UNPARSABLE_BAD_ROW)

#: The code of a record its format's transform rejects, by RECORD_FORMAT.
MALFORMED_BY_FORMAT = {"enriched": WRONG_FIELD_COUNT, "bad_rows": UNPARSABLE_BAD_ROW}
