"""Names that the Python side and the Terraform side must spell alike, checked across the boundary.

Each is defined once per side: the stream roles and record formats in pipeline.schema.json (Python
reads them from there), the metric names in the Lambda's metric_names.py. Terraform modules are
self-contained, so a module that needs the same names declares them in its interface; these tests
read those declarations from the .tf files and compare them with the Python definitions, so that a
rename on one side fails here instead of in a silent alarm.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from snowplow_infra import pipeline
from snowplow_infra.paths import ENVIRONMENTS_DIR, LAMBDA_SOURCE_DIR, MODULES_DIR

MONITORING_VARIABLES = MODULES_DIR / "monitoring" / "variables.tf"
ENVIRONMENT_VARIABLES = ENVIRONMENTS_DIR / pipeline.DEFAULT_ENVIRONMENT / "variables.tf"


def lambda_module(name: str) -> ModuleType:
    """A module of the Lambda, imported as the Lambda runtime imports it (by its top-level name)."""
    if str(LAMBDA_SOURCE_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_SOURCE_DIR))
    spec = importlib.util.spec_from_file_location(name, LAMBDA_SOURCE_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def block(path: Path, header: str) -> str:
    """The body of the top-level block that starts with ``header`` (``variable "streams"``), its
    braces matched outside quoted strings."""
    text = path.read_text(encoding="utf-8")
    start = text.index(header + " {") + len(header) + 2
    depth, index, quoted = 1, start, False
    while depth:
        char = text[index]
        if quoted:
            if char == "\\":
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "{}":
            depth += 1 if char == "{" else -1
        index += 1
    return text[start : index - 1]


def quoted_list(text: str) -> list[str]:
    """The strings of an HCL list literal's body: ``"a", "b"``."""
    return re.findall(r'"([^"]+)"', text)


# --- stream roles ---------------------------------------------------------------------------------


def test_the_monitoring_module_wants_exactly_the_stream_roles_of_the_schema() -> None:
    streams = block(MONITORING_VARIABLES, 'variable "streams"')
    listed = re.search(r"toset\(keys\(var\.streams\)\) == toset\(\[([^\]]*)\]\)", streams)
    assert listed, "the streams variable's validation names the roles it needs"
    assert tuple(quoted_list(listed[1])) == pipeline.STREAM_ROLES


def test_the_environments_stream_capacity_accepts_the_stream_roles_of_the_schema() -> None:
    capacity = block(ENVIRONMENT_VARIABLES, 'variable "stream_capacity"')
    listed = re.search(r"contains\(\[([^\]]*)\], role\)", capacity)
    assert listed, "the stream_capacity variable's validation names the roles"
    assert tuple(quoted_list(listed[1])) == pipeline.STREAM_ROLES


# --- record formats -------------------------------------------------------------------------------


def test_the_lambda_knows_exactly_the_record_formats_the_schema_requires() -> None:
    assert lambda_module("settings").RECORD_FORMATS == pipeline.RECORD_FORMATS


# --- the Lambda's metrics -------------------------------------------------------------------------

# The monitoring module's input attribute for each metric it reads, and the Lambda's constant.
MONITORED_METRICS = {
    "dimension": "DIMENSION",
    "records_in": "RECORDS_IN",
    "records_failed": "RECORDS_PROCESSING_FAILED",
    "values_pseudonymized": "VALUES_PSEUDONYMIZED",
    "response_bytes": "RESPONSE_BYTES",
    "failed_malformed_base64": "FAILED_MALFORMED_BASE64",
    "failed_malformed_utf8": "FAILED_MALFORMED_UTF8",
    "failed_wrong_field_count": "FAILED_WRONG_FIELD_COUNT",
    "failed_unparsable_bad_row": "FAILED_UNPARSABLE_BAD_ROW",
}


def test_the_monitoring_modules_metric_defaults_are_the_names_the_lambda_writes() -> None:
    names = lambda_module("metric_names")
    metrics = block(MONITORING_VARIABLES, 'variable "pseudonymization_metrics"')
    defaults = dict(re.findall(r'(\w+)\s*=\s*optional\(string, "([^"]+)"\)', metrics))
    assert defaults == {
        attribute: getattr(names, constant) for attribute, constant in MONITORED_METRICS.items()
    }
    assert set(defaults.values()) - {names.DIMENSION} <= set(names.UNITS)


@pytest.mark.parametrize("attribute", sorted(MONITORED_METRICS))
def test_the_monitoring_module_reads_each_metric_through_its_input(attribute: str) -> None:
    """No metric name typed in main.tf: each is read from var.pseudonymization_metrics."""
    names = lambda_module("metric_names")
    main = (MODULES_DIR / "monitoring" / "main.tf").read_text(encoding="utf-8")
    assert f"var.pseudonymization_metrics.{attribute}" in main
    assert f'"{getattr(names, MONITORED_METRICS[attribute])}"' not in main


def test_the_handler_writes_every_metric_the_lambda_defines() -> None:
    """The EMF line's metrics and dimension are the constants (and the constants are complete)."""
    names = lambda_module("metric_names")
    emf = lambda_module("emf")
    line = emf.emf_line("Namespace", "function", "enriched", dict.fromkeys(names.UNITS, 1), 0)
    directive = json.loads(line)["_aws"]["CloudWatchMetrics"][0]
    assert directive["Dimensions"] == [[names.DIMENSION]]
    assert [m["Name"] for m in directive["Metrics"]] == list(names.UNITS)
    handler_source = (LAMBDA_SOURCE_DIR / "handler.py").read_text(encoding="utf-8")
    written = re.findall(r"names\.([A-Z0-9_]+):", handler_source)
    assert [getattr(names, constant) for constant in written] == list(names.UNITS)
