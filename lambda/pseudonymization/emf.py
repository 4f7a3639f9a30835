"""One log line per invocation in CloudWatch Embedded Metric Format: counts only, never values."""

from __future__ import annotations

import json
from collections.abc import Mapping

COUNT = "Count"
UNITS = {"Duration": "Milliseconds", "ResponseBytes": "Bytes"}


def emf_line(
    namespace: str,
    function_name: str,
    record_format: str,
    metrics: Mapping[str, int | float],
    timestamp_ms: int,
) -> str:
    """The JSON log line CloudWatch turns into metrics (dimension FunctionName)."""
    document = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": [{"Name": name, "Unit": UNITS.get(name, COUNT)} for name in metrics],
                }
            ],
        },
        "FunctionName": function_name,
        "RecordFormat": record_format,
        **metrics,
    }
    return json.dumps(document, separators=(",", ":"))
