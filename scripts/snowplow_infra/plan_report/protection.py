"""The protection gate: a plan must not destroy stateful resources unless someone said so.

A resource is protected when destroying it loses data or breaks what the pipeline has already
written: events in flight, stored events, checkpoints, the keys that decrypt them, or the salt that
makes pseudonyms deterministic. Deleting one, or replacing one (which deletes the old object),
fails the gate unless ``--allow-destroy`` names its address or its type. docs/plan-review.md
explains the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from snowplow_infra.plan_report.plan import Plan, ResourceChange

PROTECTED_TYPES: dict[str, str] = {
    # The pipeline's own stateful resources.
    "aws_kinesis_stream": "events in flight (up to the retention period) are lost",
    "aws_kinesis_firehose_delivery_stream": "buffered records are lost",
    "aws_s3_bucket": "stored events and logs are lost",
    "aws_dynamodb_table": "KCL leases and checkpoints are lost, so the enricher re-reads or skips",
    "aws_kms_key": "everything encrypted with the key becomes unreadable",
    "aws_secretsmanager_secret": "the salt is lost, so pseudonyms stop matching earlier ones",
    "aws_secretsmanager_secret_version": "the salt is lost, so pseudonyms stop matching",
    "aws_cloudwatch_log_group": "the logs are lost",
    "aws_sqs_queue": "queued messages are lost",
    # Stateful AWS resources the pipeline may grow into.
    "aws_db_instance": "the database is lost",
    "aws_rds_cluster": "the database is lost",
    "aws_dynamodb_global_table": "the table is lost",
    "aws_ebs_volume": "the volume's data is lost",
    "aws_efs_file_system": "the file system's data is lost",
    "aws_elasticache_replication_group": "the cache's data is lost",
    "aws_backup_vault": "the backups are lost",
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
