"""One log line per invocation in CloudWatch Embedded Metric Format: counts only, never values."""

from __future__ import annotations

import json
from collections.abc import Mapping

from metric_names import DIMENSION, RECORD_FORMAT_PROPERTY, UNITS


def emf_line(
    namespace: str,
    function_name: str,
    record_format: str,
    metrics: Mapping[str, int | float],
    timestamp_ms: int,
) -> str:
    """The JSON log line CloudWatch turns into metrics (dimension metric_names.DIMENSION)."""
    document = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in metrics],
                }
            ],
        },
        DIMENSION: function_name,
        RECORD_FORMAT_PROPERTY: record_format,
        **metrics,
    }
    return json.dumps(document, separators=(",", ":"))
