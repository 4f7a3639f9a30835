"""CKV_SNOWPLOW_2: Firehose error output lies outside the prefixes Snowflake reads.

Snowpipe loads everything under the delivery prefixes (pipeline.yaml ``delivery.*.prefix``:
output/, enriched-bad/, raw-bad/). Records Firehose could not process or deliver land under
error_output_prefix; if that lay inside a prefix Snowflake reads, they would be loaded as events,
and since the processing failed they may not be pseudonymized. The read prefixes are those of
pipeline.yaml plus the S3 prefix of every Firehose delivery stream in the plan.

An error prefix lies outside a read prefix when neither starts with the other. Only the part
before the first Firehose expression (``!{...}``) counts: an error prefix that starts with an
expression could land anywhere and fails.

On .tf files the check compares a literal error_output_prefix with pipeline.yaml's prefixes and
the stream's own literal prefix; an expression is compared in the plan, where Terraform has
evaluated it and every delivery stream's prefix is known.
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
    pipeline_names,
    scalar,
)


def static_part(prefix: str) -> str:
    """The part of a Firehose prefix before its first ``!{...}`` expression."""
    return prefix.split("!{", 1)[0]


def overlaps(error_prefix: str, read_prefix: str) -> bool:
    error, read = static_part(error_prefix), static_part(read_prefix)
    return error.startswith(read) or read.startswith(error)


class FirehoseErrorPrefix(SnowplowCheck):
    def __init__(self) -> None:
        super().__init__(
            "CKV_SNOWPLOW_2",
            "Firehose delivery streams write failed records under an error_output_prefix outside "
            "the prefixes Snowflake reads",
            CheckCategories.GENERAL_SECURITY,
            ["aws_kinesis_firehose_delivery_stream"],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        destinations = blocks(conf, "extended_s3_configuration")
        if not destinations:
            self.details.append("No S3 destination: Snowflake reads nothing from this stream.")
            return []
        problems: list[str] = []
        for destination in destinations:
            error_prefix = scalar(destination, "error_output_prefix")
            if error_prefix is MISSING or error_prefix in (None, ""):
                problems.append("extended_s3_configuration.error_output_prefix is not set.")
                continue
            if not is_plan(conf) and is_expression(error_prefix):
                self.details.append(f"error_output_prefix is {error_prefix}; see the plan.")
                continue
            read = self._read_prefixes(conf, destination)
            inside = sorted(p for p in read if overlaps(str(error_prefix), p))
            if inside:
                shown = ", ".join(map(repr, inside))
                problems.append(
                    f"error_output_prefix {error_prefix!r} overlaps {shown}, which Snowflake reads."
                )
        return problems

    @staticmethod
    def _read_prefixes(conf: dict[str, Any], destination: dict[str, Any]) -> set[str]:
        read = set(pipeline_names().read_prefixes)
        own = scalar(destination, "prefix")
        if isinstance(own, str) and own and (is_plan(conf) or not is_expression(own)):
            read.add(own)
        index = PlanIndex.for_resource(conf) if is_plan(conf) else None
        for stream in index.of_type("aws_kinesis_firehose_delivery_stream") if index else ():
            for other in stream.values.get("extended_s3_configuration") or []:
                prefix = other.get("prefix") if isinstance(other, dict) else None
                if isinstance(prefix, str) and prefix:
                    read.add(prefix)
        return read


check = FirehoseErrorPrefix()
