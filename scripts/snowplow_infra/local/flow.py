"""Traffic through the applied stack: the salt, the records on the streams, Firehose's delivery.

1. The first run generates a salt (``secrets``) and stores it as the value of the salt secret
   Terraform created; later runs read it back. It stays in memory and in the emulator, never on
   disk or on screen.
2. ``snowplow_infra.local.feed`` puts the generated records on the streams Terraform created.
3. For each delivery stream in Terraform's ``delivery_streams`` output, its configuration is read
   from the emulator (DescribeDeliveryStream), its processor from GetFunctionConfiguration, and
   ``snowplow_infra.local.firehose`` delivers what arrived since the last run, with the deployed
   function run by ``snowplow_infra.local.lambda_runtime``.

Where each delivery stream stopped reading (per shard) is kept in ``<work dir>/firehose.json``,
so a second run delivers only the new records, as Firehose would.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from snowplow_infra import salt_rotation
from snowplow_infra.local import feed, firehose, rotation
from snowplow_infra.local.lambda_runtime import FunctionConfiguration, LocalFunction
from snowplow_infra.local.outage import OUTAGE_ROLE, SaltOutage
from snowplow_infra.local.server import Server
from snowplow_infra.package_lambda import ZIP_PATH

CHECKPOINTS_FILE_NAME = "firehose.json"
SALT_BYTES = 32
# The generated events' timestamps start this long before now, so they precede their arrival.
EVENTS_LEAD = datetime.timedelta(minutes=15)


@dataclass(frozen=True)
class Report:
    """What one run put on the streams and what Firehose made of it."""

    start: datetime.datetime
    fed: Mapping[str, list[feed.Record]]
    deliveries: Mapping[str, firehose.Delivery]
    salt: bytes
    function_logs: tuple[Path, ...]
    function_errors: int
    # Distinct personal values planted in the records, and how many of them the delivered
    # (pseudonymized) objects still contain: 0 unless pseudonymization failed.
    planted: int
    planted_found: int
    # The salt rotation inside the run (``--rotate``), or None.
    rotation: rotation.Outcome | None = None

    def to_json(self) -> dict[str, Any]:
        """Counts, object keys and the generator's inputs; no event data and no salt."""
        return {
            "rotation": self.rotation.to_json() if self.rotation else None,
            "events_start": self.start.isoformat(),
            "fed": {role: len(records) for role, records in self.fed.items()},
            "planted": self.planted,
            "planted_found": self.planted_found,
            "deliveries": {
                role: {
                    "delivery_stream": d.stream.name,
                    "bucket": d.stream.bucket,
                    "records_in": d.records_in,
                    "invocations": d.invocations,
                    "ok": d.ok,
                    "failed": d.failed,
                    "dropped": d.dropped,
                    "lines_delivered": d.lines_delivered,
                    "objects": d.objects,
                    "error_objects": d.error_objects,
                }
                for role, d in self.deliveries.items()
            },
        }


def planted_values_found(
    s3: Any, deliveries: Iterable[firehose.Delivery], values: Iterable[str]
) -> int:
    """How many of ``values`` occur in any delivered object (error objects hold raw records by
    design and are not searched)."""
    texts = []
    for delivery in deliveries:
        for key in delivery.objects:
            body = s3.get_object(Bucket=delivery.stream.bucket, Key=key)["Body"].read()
            data = gzip.decompress(body) if key.endswith(".gz") else body
            texts.append(data.decode("utf-8"))
    text = "\n".join(texts)
    return sum(1 for value in values if value in text)


def checkpoints_path(work_dir: Path) -> Path:
    return work_dir / CHECKPOINTS_FILE_NAME


def _read_checkpoints(path: Path) -> dict[str, dict[str, str]]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _write_checkpoints(path: Path, checkpoints: Mapping[str, Mapping[str, str]]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(checkpoints, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


def lift_bucket_policies(s3: Any, buckets: Iterable[str]) -> list[str]:
    """Remove the buckets' policies in the emulator; return the buckets that had one.

    moto evaluates no policy condition: it treats every Deny statement with a condition as
    matching, so the events bucket's DenyInsecureTransport (and the other conditional denies)
    refuse every object request. Over the emulator's plain-HTTP endpoint aws:SecureTransport is
    false anyway. Terraform's state keeps the policy; only the emulator loses it.
    """
    lifted = []
    for bucket in dict.fromkeys(buckets):
        try:
            s3.get_bucket_policy(Bucket=bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchBucketPolicy":
                continue
            raise
        s3.delete_bucket_policy(Bucket=bucket)
        lifted.append(bucket)
    return lifted


def salt_for(server: Server, region: str, secret_id: str) -> tuple[bytes, bool]:
    """The salt secret's value, generated (``secrets``) and stored first if it has none; and
    whether it was generated now. It stays in memory and in the emulator: never printed, never
    written to disk. Like the production salt it is kept, so pseudonyms join across runs."""
    client = server.client("secretsmanager", region)
    try:
        return client.get_secret_value(SecretId=secret_id)["SecretString"].encode("utf-8"), False
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    salt = secrets.token_hex(SALT_BYTES)
    client.put_secret_value(SecretId=secret_id, SecretString=salt)
    return salt.encode("utf-8"), True


def deliver(
    server: Server,
    region: str,
    outputs: Mapping[str, Any],
    work_dir: Path,
    *,
    progress: Callable[[str], None],
    package: Path = ZIP_PATH,
    outage: bool = False,
) -> tuple[dict[str, firehose.Delivery], tuple[Path, ...], int, tuple[str, str] | None]:
    """Play Firehose for every delivery stream: deliver what arrived on its source since the last
    run. Returns the deliveries by role, the functions' logs, how many invocations failed and where
    the functions write salt link records (bucket, prefix), if one does.
    ``outage``: the salt secret is unreadable during the first batch of the enriched-good stream
    (``snowplow_infra.local.outage``)."""
    describe = server.client("firehose", region).describe_delivery_stream
    lambdas = server.client("lambda", region)
    kinesis = server.client("kinesis", region)
    s3 = server.client("s3", region)
    path = checkpoints_path(work_dir)
    checkpoints = _read_checkpoints(path)
    deliveries: dict[str, firehose.Delivery] = {}
    streams = {
        role: firehose.DeliveryStream.from_description(
            describe(DeliveryStreamName=in_effect["name"])["DeliveryStreamDescription"], in_effect
        )
        for role, in_effect in outputs["delivery_streams"].items()
    }
    for bucket in lift_bucket_policies(s3, [stream.bucket for stream in streams.values()]):
        progress(
            f"removed the policy of s3://{bucket} in the emulator only: moto treats every "
            "conditional Deny as matching, so it would refuse every object (docs/local-demo.md)"
        )
    with ExitStack() as stack:
        functions: dict[str, LocalFunction] = {}
        for role, stream in streams.items():
            if stream.processor_arn not in functions:
                configuration = FunctionConfiguration.from_api(
                    lambdas.get_function_configuration(FunctionName=stream.processor_arn)
                )
                functions[stream.processor_arn] = stack.enter_context(
                    LocalFunction(
                        configuration,
                        package,
                        server.client_environment(region),
                        work_dir / "lambda",
                    )
                )
            invoke: firehose.Invoke = functions[stream.processor_arn].invoke
            if outage and role == OUTAGE_ROLE:
                invoke = SaltOutage(
                    server.client("secretsmanager", region),
                    outputs["pseudonymization"]["salt_secret_arn"],
                    invoke,
                    attempts=stream.processor_retries + 1,
                )
            delivery, checkpoints[stream.arn] = firehose.deliver(
                stream,
                region,
                kinesis=kinesis,
                s3=s3,
                invoke=invoke,
                after=checkpoints.get(stream.arn, {}),
            )
            _write_checkpoints(path, checkpoints)
            deliveries[role] = delivery
            if isinstance(invoke, SaltOutage):
                progress(
                    f"{stream.name}: the salt secret was unreadable (scheduled for deletion, then "
                    f"restored) during the first batch: {invoke.invocations} invocations failed "
                    "as Firehose retried, and the batch went to processing-failed/"
                )
            progress(
                f"{stream.name}: {delivery.records_in} records in {delivery.invocations} "
                f"invocations, {delivery.ok} pseudonymized, {delivery.failed} to "
                f"processing-failed/, {len(delivery.objects) + len(delivery.error_objects)} "
                "objects written"
            )
        logs = tuple(function.log_path for function in functions.values())
        errors = sum(function.errors for function in functions.values())
        links_at = _links_location(functions.values())
    return deliveries, logs, errors, links_at


def run(
    server: Server,
    region: str,
    outputs: Mapping[str, Any],
    work_dir: Path,
    *,
    events: int,
    seed: int,
    progress: Callable[[str], None],
    package: Path = ZIP_PATH,
    rotate: bool = False,
    salt_outage: bool = False,
) -> Report:
    """Salt, feed (around a salt rotation with ``rotate``) and deliver once (the first batch of
    enriched events during a salt outage with ``salt_outage``); return the report."""
    secret_id = outputs["pseudonymization"]["salt_secret_arn"]
    secret, generated = salt_for(server, region, secret_id)
    # The version in use now: what the records fed before any rotation are pseudonymized with.
    versions = salt_rotation.parse(secret.decode("utf-8"), secret_id)
    now_ms = int(datetime.datetime.now(datetime.UTC).timestamp() * 1000)
    salt = versions.versions[versions.index_at(now_ms)].salt
    progress(
        "generated a salt and stored it in the salt secret (not shown, not written to disk)"
        if generated
        else "using the salt stored in the salt secret by the first run (not shown)"
    )

    start = datetime.datetime.now(datetime.UTC).replace(microsecond=0) - EVENTS_LEAD
    fed = feed.records(events, seed=seed, start=start)
    kinesis = server.client("kinesis", region)
    switch = None
    if rotate:
        switch = rotation.put_around_a_switch(
            kinesis,
            server.client("secretsmanager", region),
            secret_id,
            {role: (outputs["stream_names"][role], records) for role, records in fed.items()},
            progress,
        )
    for role, records in fed.items():
        stream_name = outputs["stream_names"][role]
        if switch is None:
            feed.put(kinesis, stream_name, records)
        malformed = sum(record.malformed for record in records)
        progress(f"put {len(records)} records on {stream_name} ({malformed} malformed)")

    deliveries, logs, errors, links_at = deliver(
        server, region, outputs, work_dir, progress=progress, package=package, outage=salt_outage
    )
    s3 = server.client("s3", region)
    planted = {value for records in fed.values() for record in records for value in record.planted}
    found = planted_values_found(s3, deliveries.values(), planted)
    outcome = None
    if switch is not None:
        outcome = rotation.outcome(s3, switch, deliveries, fed["enriched_good"], links_at)
    return Report(start, fed, deliveries, salt, logs, errors, len(planted), found, outcome)


def _links_location(functions: Iterable[LocalFunction]) -> tuple[str, str] | None:
    """Where the deployed functions write salt link records (bucket, prefix), if one does."""
    for function in functions:
        variables = function.configuration.variables
        if variables.get("LINKS_BUCKET_NAME"):
            return variables["LINKS_BUCKET_NAME"], variables.get("LINKS_PREFIX", "salt-links/")
    return None
