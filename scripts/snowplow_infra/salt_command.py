"""``snowplow-infra salt status|rotate|prune``: the salt secret's versions, on AWS or the emulator.

``--env ENV`` works on the environment's AWS account (boto3's usual credentials, the region and
the secret name of its pipeline.yaml); ``--local`` on the local demo's emulator (``local up``).
Every write is a new Secrets Manager version of the secret (``PutSecretValue``): the previous
value stays as ``AWSPREVIOUS``, and the command prints how to move ``AWSCURRENT`` back to it.
Nothing here prints a salt. The decisions are in ``salt_rotation``; docs/salt-rotation.md is the
runbook.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from snowplow_infra import pipeline, salt_rotation
from snowplow_infra.paths import BUILD_DIR
from snowplow_infra.salt_versions_file import lambda_salt_versions

DEFAULT_WORK_DIR = BUILD_DIR / "local"
#: The Lambda's default SALT_TTL_SECONDS, for a function that does not set it.
DEFAULT_SALT_TTL_SECONDS = 900.0
#: Days to allow for replaying records from the error prefix, on top of its expiry.
DEFAULT_REPLAY_DAYS = 7
#: The environment's processing_failed_retention_days default (terraform variables.tf).
DEFAULT_ERROR_EXPIRY_DAYS = 7


class SaltCommandError(RuntimeError):
    """A salt command that cannot be done; the message is a sentence for the user."""


@dataclass(frozen=True)
class Target:
    """Where the secret lives: its clients, its id and the functions that read it."""

    secrets: Any
    functions: Any
    secret_id: str
    function_names: tuple[str, ...]
    values: pipeline.Pipeline

    @property
    def retention_hours(self) -> int:
        return max(stream.retention_hours for stream in self.values.streams.values())


def target(args: argparse.Namespace) -> Target:
    values = pipeline.load(args.env or pipeline.DEFAULT_ENVIRONMENT)
    if args.local:
        from snowplow_infra.local import server  # noqa: PLC0415

        running = server.find(args.work_dir)
        if running is None:
            raise SaltCommandError(
                f"No local emulator is running under {args.work_dir}: start the stack with "
                "`snowplow-infra local up` (or `make demo`) first."
            )
        secrets_client = running.client("secretsmanager", values.region)
        lambda_client = running.client("lambda", values.region)
    else:
        import boto3  # noqa: PLC0415

        secrets_client = boto3.client("secretsmanager", region_name=values.region)
        lambda_client = boto3.client("lambda", region_name=values.region)
    return Target(
        secrets_client,
        lambda_client,
        values.pseudonymization.salt_secret_name,
        tuple(values.pseudonymization.functions.values()),
        values,
    )


def read_secret(where: Target) -> tuple[str, str]:
    """The secret's current SecretString and its VersionId."""
    try:
        # AWSCURRENT named: what AWS does by default, and what moto does only when asked (after
        # UpdateSecretVersionStage its default is the newest version, not the current one).
        response = where.secrets.get_secret_value(
            SecretId=where.secret_id, VersionStage="AWSCURRENT"
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "an error")
        raise SaltCommandError(
            f"The salt secret {where.secret_id!r} cannot be read ({code})."
        ) from error
    secret = response.get("SecretString")
    if not isinstance(secret, str) or not secret:
        raise SaltCommandError(
            f"The salt secret {where.secret_id!r} has no value yet: set the first salt as "
            "docs/pseudonymization.md says, then rotate."
        )
    return secret, str(response["VersionId"])


def write_secret(where: Target, document: str) -> str:
    """Store a new version of the secret (it becomes AWSCURRENT); return its VersionId."""
    try:
        response = where.secrets.put_secret_value(
            SecretId=where.secret_id, SecretString=document, ClientRequestToken=str(uuid.uuid4())
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "an error")
        raise SaltCommandError(
            f"The salt secret {where.secret_id!r} cannot be written ({code})."
        ) from error
    return str(response["VersionId"])


def salt_ttl_seconds(where: Target) -> float:
    """The largest SALT_TTL_SECONDS of the functions that read the secret."""
    ttls = []
    for name in where.function_names:
        try:
            configuration = where.functions.get_function_configuration(FunctionName=name)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "an error")
            raise SaltCommandError(
                f"The salt TTL of function {name!r} cannot be read ({code}); pass "
                "--salt-ttl-seconds if the functions are not deployed yet."
            ) from error
        variables = configuration.get("Environment", {}).get("Variables", {})
        ttls.append(float(variables.get("SALT_TTL_SECONDS") or DEFAULT_SALT_TTL_SECONDS))
    return max(ttls, default=DEFAULT_SALT_TTL_SECONDS)


def rollback_hint(where: Target, previous: str, new: str) -> str:
    return (
        "To roll back before the activation: aws secretsmanager update-secret-version-stage "
        f"--secret-id {where.secret_id} --version-stage AWSCURRENT --move-to-version-id {previous} "
        f"--remove-from-version-id {new}"
    )


def _status(args: argparse.Namespace, where: Target, now: datetime.datetime) -> None:
    secret, version_id = read_secret(where)
    rows = salt_rotation.status(secret, where.secret_id, now)
    at = salt_rotation.utc(now)
    print(f"salt secret {where.secret_id} (Secrets Manager version {version_id}), at {at}:")
    print(f"  {'version':<10} {'active from':<26} state")
    for row in rows:
        print(f"  {row.id:<10} {row.active_from:<26} {row.state}")


def _rotate(args: argparse.Namespace, where: Target, now: datetime.datetime) -> None:
    secret, previous = read_secret(where)
    ttl = args.salt_ttl_seconds if args.salt_ttl_seconds is not None else salt_ttl_seconds(where)
    document, new_id = salt_rotation.rotated(
        secret, where.secret_id, args.at, now, ttl, version_id=args.id
    )
    new = write_secret(where, document)
    print(
        f"Added salt version {new_id}, active from {salt_rotation.utc(args.at)} (a random "
        f"{salt_rotation.GENERATED_SALT_BYTES}-byte salt, not shown), as Secrets Manager version "
        f"{new} of {where.secret_id}; the previous value is version {previous} (AWSPREVIOUS)."
    )
    print(rollback_hint(where, previous, new))


def _prune(args: argparse.Namespace, where: Target, now: datetime.datetime) -> None:
    secret, previous = read_secret(where)
    keep_for = datetime.timedelta(
        hours=where.retention_hours, days=args.error_expiry_days + args.replay_days
    )
    remove = salt_rotation.prunable(secret, where.secret_id, now, keep_for)
    rule = (
        f"a version is kept until its successor has been active for {keep_for.days} days "
        f"{keep_for.seconds // 3600} hours (stream retention {where.retention_hours} h + error "
        f"prefix expiry {args.error_expiry_days} d + replay {args.replay_days} d)"
    )
    if not remove:
        print(f"Nothing to prune: {rule}.")
        return
    if args.dry_run:
        print(f"Would remove salt versions {', '.join(remove)} ({rule}); nothing written.")
        return
    new = write_secret(where, salt_rotation.pruned(secret, where.secret_id, remove))
    print(
        f"Removed salt versions {', '.join(remove)} ({rule}) as Secrets Manager version {new} "
        f"of {where.secret_id}; the previous value is version {previous} (AWSPREVIOUS)."
    )
    print(rollback_hint(where, previous, new))


ACTIONS = {"status": _status, "rotate": _rotate, "prune": _prune}


def _main(args: argparse.Namespace) -> int:
    salt_errors = (lambda_salt_versions().SaltUnavailableError,)
    try:
        where = target(args)
        ACTIONS[args.action](args, where, datetime.datetime.now(datetime.UTC))
    except (SaltCommandError, salt_rotation.RotationError, pipeline.PipelineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except salt_errors as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BotoCoreError as error:
        print(f"error: AWS could not be reached ({type(error).__name__}).", file=sys.stderr)
        return 1
    return 0


def _time(text: str) -> datetime.datetime:
    try:
        epoch_ms = lambda_salt_versions().parse_timestamp(text, "--at")
    except RuntimeError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return datetime.datetime.fromtimestamp(epoch_ms / 1000, datetime.UTC)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "salt",
        help="show, rotate and prune the pseudonymization salt's versions",
        description=(
            "Show, rotate and prune the versions of the pseudonymization salt secret "
            "(docs/salt-rotation.md). Never prints a salt. Writes are new Secrets Manager "
            "versions of the secret, so a bad write can be rolled back."
        ),
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    helps = {
        "status": "print the versions, their activation times and which one is active",
        "rotate": "add a new random version that becomes active at --at",
        "prune": "remove the versions no record can still need",
    }
    for name, text in helps.items():
        sub = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        where = sub.add_mutually_exclusive_group(required=True)
        where.add_argument(
            "--env",
            metavar="ENV",
            help="the environment under terraform/environments/, on its AWS account",
        )
        where.add_argument(
            "--local", action="store_true", help="the local demo's emulator (`local up`)"
        )
        sub.add_argument(
            "--work-dir",
            type=Path,
            default=DEFAULT_WORK_DIR,
            metavar="DIR",
            help="with --local: the local stack's work directory (default: build/local)",
        )
        if name == "rotate":
            sub.add_argument(
                "--at",
                type=_time,
                required=True,
                metavar="TIME",
                help="when the new version becomes active, in UTC (2027-03-01T00:00:00Z); at "
                f"least {salt_rotation.TTL_FACTOR} x the functions' SALT_TTL_SECONDS from now",
            )
            sub.add_argument(
                "--id", metavar="ID", help="the new version's id (default: next number)"
            )
            sub.add_argument(
                "--salt-ttl-seconds",
                type=float,
                metavar="S",
                help="the functions' salt TTL, when they cannot be read (not deployed yet)",
            )
        if name == "prune":
            sub.add_argument(
                "--error-expiry-days",
                type=int,
                default=DEFAULT_ERROR_EXPIRY_DAYS,
                metavar="D",
                help="the error prefix's expiry: the environment's "
                "processing_failed_retention_days (default: %(default)s)",
            )
            sub.add_argument(
                "--replay-days",
                type=int,
                default=DEFAULT_REPLAY_DAYS,
                metavar="D",
                help="time allowed to replay records from the error prefix (default: %(default)s)",
            )
            sub.add_argument(
                "--dry-run", action="store_true", help="print what would be removed, write nothing"
            )
    parser.set_defaults(handler=_main)
