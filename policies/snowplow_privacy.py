"""CKV_SNOWPLOW_1: every Firehose delivery stream fed from Kinesis pseudonymizes its records.

Scope: every aws_kinesis_firehose_delivery_stream with a kinesis_source_configuration. In this
pipeline those are the delivery streams of enriched-good, enriched-bad and raw-bad; any other
stream a Firehose could read carries events too, so privacy by default covers them all.

Requirement: the destination's processing_configuration is enabled and has a Lambda processor
whose LambdaArn names one of the pseudonymization functions (pipeline.yaml,
``pseudonymization.functions``).

How the function is recognized: by the function name in the ARN when the ARN is known (a
literal, or any plan of an existing stack). When the plan creates the function, its ARN is known
only after apply; the check then follows the argument's references through the plan's
configuration (module variables, module outputs) to the aws_lambda_function resources it can name,
and checks their function_name. When neither works (an HCL expression, a local value on the way)
the function is not judged, and the check says so in its details.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories
from snowplow_check_base import SnowplowCheck
from snowplow_policy_support import (
    MISSING,
    PlanIndex,
    blocks,
    is_expression,
    is_plan,
    is_unknown,
    lambda_function_name,
    pipeline_names,
    scalar,
)

# Destination blocks that can carry a processing_configuration.
DESTINATIONS = (
    "extended_s3_configuration",
    "http_endpoint_configuration",
    "opensearch_configuration",
    "opensearchserverless_configuration",
    "elasticsearch_configuration",
    "redshift_configuration",
    "splunk_configuration",
    "snowflake_configuration",
    "iceberg_configuration",
)


class FirehosePseudonymizes(SnowplowCheck):
    def __init__(self) -> None:
        super().__init__(
            "CKV_SNOWPLOW_1",
            "Firehose delivery streams fed from Kinesis transform every record with an enabled "
            "Lambda processor that is the pseudonymization function",
            CheckCategories.GENERAL_SECURITY,
            ["aws_kinesis_firehose_delivery_stream"],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        if not blocks(conf, "kinesis_source_configuration"):
            self.details.append("Not fed from a Kinesis stream: nothing to pseudonymize here.")
            return []
        problems: list[str] = []
        processings = [
            ((destination, 0, "processing_configuration", 0), processing)
            for destination in DESTINATIONS
            for configuration in blocks(conf, destination)[:1]
            for processing in blocks(configuration, "processing_configuration")[:1]
        ]
        if not processings:
            return ["It reads a Kinesis stream but has no processing_configuration."]
        found = dynamic = False
        for path, processing in processings:
            enabled = scalar(processing, "enabled")
            if enabled is not True and not (is_plan(conf) and is_unknown(enabled)):
                shown = "not set" if enabled in (None, MISSING) else repr(enabled)
                problems.append(f"processing_configuration.enabled is {shown}, not true.")
            for parameter_path, parameter in _lambda_parameters(path, processing):
                name = scalar(parameter, "parameter_name")
                if name == "LambdaArn":
                    found = True
                    arn = scalar(parameter, "parameter_value")
                    problems += self._function_problems(conf, arn, parameter_path)
                elif not is_plan(conf) and (is_expression(name) or "." in str(name)):
                    # A dynamic block checkov cannot expand ("parameters.key"): Firehose
                    # parameter names never contain a dot.
                    dynamic = True
        if not found and dynamic:
            self.details.append(
                "The processor's parameters come from a dynamic block; see the plan."
            )
        elif not found:
            problems.append(
                "It reads a Kinesis stream but has no Lambda processor with a LambdaArn."
            )
        return problems

    def _function_problems(
        self, conf: dict[str, Any], arn: Any, path: tuple[str | int, ...]
    ) -> list[str]:
        names = pipeline_names()
        if names.problems or not names.pseudonymization_functions:
            why = "; ".join(names.problems) or "pseudonymization.functions is empty"
            return [f"The pseudonymization function names are unknown: {why}."]
        expected = ", ".join(sorted(names.pseudonymization_functions))
        functions, how = self._functions(conf, arn, path)
        if functions is None:
            self.details.append(how)
            return []
        wrong = sorted(functions - names.pseudonymization_functions)
        if wrong:
            return [
                f"The Lambda processor runs {', '.join(wrong)} ({how}), "
                f"not a pseudonymization function ({expected})."
            ]
        self.details.append(f"The Lambda processor runs {', '.join(sorted(functions))} ({how}).")
        return []

    @staticmethod
    def _functions(
        conf: dict[str, Any], arn: Any, path: tuple[str | int, ...]
    ) -> tuple[set[str] | None, str]:
        """The function names the LambdaArn can be, and how they were found (or why not)."""
        name = lambda_function_name(arn)
        if name is not None:
            return {name}, f"LambdaArn {arn}"
        if not is_plan(conf):
            if is_expression(arn):
                return None, f"LambdaArn is the expression {arn}; the plan checks its function."
            return {str(arn)}, "LambdaArn is not a Lambda function ARN"
        if not is_unknown(arn):
            return {str(arn)}, "LambdaArn is not a Lambda function ARN"
        index = PlanIndex.for_resource(conf)
        resource = index.resources.get(conf.get("__address__", "")) if index else None
        followed = index.lambda_functions(resource, *path) if index and resource else None
        if followed is None:
            return None, (
                "LambdaArn is known only after apply and its references cannot be followed "
                "(a local value or a dynamic block on the way); the next plan checks it."
            )
        functions, chain = followed
        return functions, "via " + " -> ".join(chain)


def _lambda_parameters(
    path: tuple[str | int, ...], processing: dict[str, Any]
) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """(configuration path of parameter_value, parameter) of every Lambda processor parameter."""
    return [
        ((*path, "processors", position, "parameters", place, "parameter_value"), parameter)
        for position, processor in enumerate(blocks(processing, "processors"))
        if scalar(processor, "type") == "Lambda"
        for place, parameter in enumerate(blocks(processor, "parameters"))
    ]


check = FirehosePseudonymizes()
