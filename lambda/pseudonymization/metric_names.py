"""The names of what the functions write in CloudWatch Embedded Metric Format, defined once.

The monitoring module (terraform/modules/monitoring, variable pseudonymization_metrics) reads
the same dimension and metric names for its alarms and dashboard; tests/test_single_sources.py
checks that its defaults are these.
"""

from __future__ import annotations

import reasons

DIMENSION = "FunctionName"  # its value: the function's name
RECORD_FORMAT_PROPERTY = "RecordFormat"  # a property of the log line, not a dimension

RECORDS_IN = "RecordsIn"
RECORDS_OK = "RecordsOk"
RECORDS_PROCESSING_FAILED = "RecordsProcessingFailed"
LINES = "Lines"
VALUES_PSEUDONYMIZED = "ValuesPseudonymized"
UNPARSABLE_JSON_FIELDS = "UnparsableJsonFields"
DURATION = "Duration"
RESPONSE_BYTES = "ResponseBytes"
# RecordsProcessingFailed split by reason code (reasons.py): they add up to it.
FAILED_MALFORMED_BASE64 = "ProcessingFailedMalformedBase64"
FAILED_MALFORMED_UTF8 = "ProcessingFailedMalformedUtf8"
FAILED_WRONG_FIELD_COUNT = "ProcessingFailedWrongFieldCount"
FAILED_UNPARSABLE_BAD_ROW = "ProcessingFailedUnparsableBadRow"

#: The metric of each reason code.
FAILED_BY_REASON = {
    reasons.MALFORMED_BASE64: FAILED_MALFORMED_BASE64,
    reasons.MALFORMED_UTF8: FAILED_MALFORMED_UTF8,
    reasons.WRONG_FIELD_COUNT: FAILED_WRONG_FIELD_COUNT,
    reasons.UNPARSABLE_BAD_ROW: FAILED_UNPARSABLE_BAD_ROW,
}

# Every metric of the line, in the order it is written, with its CloudWatch unit.
UNITS = {
    RECORDS_IN: "Count",
    RECORDS_OK: "Count",
    RECORDS_PROCESSING_FAILED: "Count",
    LINES: "Count",
    VALUES_PSEUDONYMIZED: "Count",
    UNPARSABLE_JSON_FIELDS: "Count",
    DURATION: "Milliseconds",
    RESPONSE_BYTES: "Bytes",
    FAILED_MALFORMED_BASE64: "Count",
    FAILED_MALFORMED_UTF8: "Count",
    FAILED_WRONG_FIELD_COUNT: "Count",
    FAILED_UNPARSABLE_BAD_ROW: "Count",
}
