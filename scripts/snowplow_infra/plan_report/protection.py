"""The protection gate: a plan must not destroy stateful resources unless someone said so.

A resource is protected when destroying it loses data or breaks what the pipeline has already
written: events in flight, stored events, checkpoints, the keys that decrypt them, the secrets
(the salt that makes pseudonyms deterministic is one). Deleting one, or replacing one (which
deletes the old object), fails the gate unless ``--allow-destroy`` names its address or its type.
Each type's reason says what a destroy of any resource of that type loses, so it is true whatever
the resource holds. docs/plan-review.md explains the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from snowplow_infra.plan_report.plan import Plan, ResourceChange

PROTECTED_TYPES: dict[str, str] = {
    # The pipeline's own stateful resources.
    "aws_kinesis_stream": (
        "the records the stream holds (up to its retention period), read or not, are lost"
    ),
    "aws_kinesis_firehose_delivery_stream": (
        "the records it has buffered and not yet delivered are lost"
    ),
    "aws_s3_bucket": "every object stored in the bucket is lost",
    "aws_dynamodb_table": (
        "every item in the table is lost (for a KCL lease table: the consumers' leases and "
        "checkpoints, so they re-read or skip records)"
    ),
    "aws_kms_key": (
        "everything encrypted under the key can no longer be decrypted once its deletion "
        "window ends"
    ),
    "aws_secretsmanager_secret": (
        "the secret's value and all its versions are lost once the recovery window ends"
    ),
    "aws_secretsmanager_secret_version": "this version of the secret's value is lost",
    "aws_cloudwatch_log_group": "the log events stored in the group are lost",
    "aws_sqs_queue": "the messages waiting in the queue are lost",
    # Stateful AWS resources the pipeline may grow into.
    "aws_db_instance": "the database's data is lost, unless a final snapshot is kept",
    "aws_rds_cluster": "the cluster's data is lost, unless a final snapshot is kept",
    "aws_dynamodb_global_table": "every item in the table is lost in every region",
    "aws_ebs_volume": "the data on the volume is lost",
    "aws_efs_file_system": "the files in the file system are lost",
    "aws_elasticache_replication_group": "the data held in the cache is lost",
    "aws_backup_vault": "the recovery points (backups) stored in the vault are lost",
}


@dataclass(frozen=True)
class Verdict:
    blocked: tuple[ResourceChange, ...]  # protected resources destroyed without an allowance
    allowed: tuple[ResourceChange, ...]  # protected resources destroyed with an allowance
    unused_allowances: tuple[str, ...]  # --allow-destroy values that matched nothing

    @property
    def ok(self) -> bool:
        return not self.blocked


def evaluate(plan: Plan, allow_destroy: Iterable[str] = ()) -> Verdict:
    """Which protected resources the plan destroys, and whether each one is allowed."""
    allowances = list(dict.fromkeys(allow_destroy))
    used: set[str] = set()
    blocked: list[ResourceChange] = []
    allowed: list[ResourceChange] = []
    for change in plan.resource_changes:
        if change.mode != "managed" or not change.destroys or change.type not in PROTECTED_TYPES:
            continue
        matches = [a for a in allowances if a in (change.address, change.type)]
        used.update(matches)
        (allowed if matches else blocked).append(change)
    return Verdict(tuple(blocked), tuple(allowed), tuple(a for a in allowances if a not in used))


def describe(change: ResourceChange) -> str:
    """One line for a destroyed protected resource: address, what happens, and why it matters."""
    what = "replaced (the old object is deleted)" if change.kind == "replace" else "deleted"
    deposed = f" (deposed object {change.deposed})" if change.deposed else ""
    return f"{change.address}{deposed} is {what}: {PROTECTED_TYPES[change.type]}."
