"""Where a delivery stream's failed records are: its bucket, error prefix and source stream.

Everything comes from DescribeDeliveryStream of the delivery streams pipeline.yaml names, so the
commands read the configuration in effect, not a copy of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from snowplow_infra import pipeline

#: The replay manifests' prefix: inside the restricted processing-failed/ prefix of the events
#: bucket (terraform/environments/aws-snowplow/data_path.tf, local.replay_manifest_prefix), so
#: the same bucket-policy statement guards them and the same lifecycle rule expires them.
MANIFEST_PREFIX = "processing-failed/replay-manifests/"


class LocationError(RuntimeError):
    """A delivery stream cannot be found or is not configured as these commands expect."""


@dataclass(frozen=True)
class ErrorLocation:
    """One delivery stream's failed records and where replayed records go."""

    role: str  # its key under delivery in pipeline.yaml (enriched_good, ...)
    delivery_stream: str
    record_format: str
    bucket: str
    # The static part of ErrorOutputPrefix (before the first !{...}); object keys continue with
    # the error output type, yyyy/MM/dd/HH/ and the object name.
    error_prefix: str
    source_stream_arn: str
    processor_arn: str
    kms_key_arn: str | None

    @property
    def source_stream(self) -> str:
        return self.source_stream_arn.split(":", 5)[5].removeprefix("stream/")

    @classmethod
    def from_description(
        cls, role: str, record_format: str, description: Mapping[str, Any]
    ) -> ErrorLocation:
        name = description["DeliveryStreamName"]
        try:
            source = description["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"]
            (destination,) = description["Destinations"]
            s3 = destination["ExtendedS3DestinationDescription"]
            bucket = s3["BucketARN"].split(":::", 1)[1]
        except (KeyError, ValueError, TypeError, IndexError):
            raise LocationError(
                f"Delivery stream {name} is not a Kinesis-sourced stream with one extended S3 "
                "destination; failed records can only be replayed to a Kinesis source."
            ) from None
        error_prefix = str(s3.get("ErrorOutputPrefix") or "").split("!{", 1)[0]
        if not error_prefix:
            raise LocationError(
                f"Delivery stream {name} has no ErrorOutputPrefix with a static folder; its "
                "failed records cannot be told apart from its deliveries."
            )
        processors = (s3.get("ProcessingConfiguration") or {}).get("Processors") or []
        lambdas = [p for p in processors if p.get("Type") == "Lambda"]
        parameters = {
            p["ParameterName"]: p["ParameterValue"]
            for processor in lambdas
            for p in processor.get("Parameters", [])
        }
        if "LambdaArn" not in parameters:
            raise LocationError(f"Delivery stream {name} has no Lambda processor.")
        kms = (s3.get("EncryptionConfiguration") or {}).get("KMSEncryptionConfig") or {}
        return cls(
            role=role,
            delivery_stream=name,
            record_format=record_format,
            bucket=bucket,
            error_prefix=error_prefix,
            source_stream_arn=source,
            processor_arn=parameters["LambdaArn"],
            kms_key_arn=kms.get("AWSKMSKeyARN"),
        )


def locations(
    firehose: Any, values: pipeline.Pipeline, roles: list[str] | None = None
) -> list[ErrorLocation]:
    """The error locations of the environment's delivery streams (those of ``roles`` if given)."""
    unknown = sorted(set(roles or ()) - set(values.delivery))
    if unknown:
        raise LocationError(
            f"{pipeline.display_path(values.file)} names no delivery stream {', '.join(unknown)} "
            f"under delivery; it has {', '.join(values.delivery)}."
        )
    found = []
    for role, delivery in values.delivery.items():
        if roles and role not in roles:
            continue
        try:
            description = firehose.describe_delivery_stream(DeliveryStreamName=delivery.name)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "an error")
            raise LocationError(
                f"Delivery stream {delivery.name} (delivery.{role} in "
                f"{pipeline.display_path(values.file)}) cannot be described: {code}."
            ) from None
        found.append(
            ErrorLocation.from_description(
                role, delivery.record_format, description["DeliveryStreamDescription"]
            )
        )
    return found
