"""CKV_SNOWPLOW_3: every S3 bucket has SSE-KMS, a full public access block and a TLS-only policy.

With the AWS provider 5.x these settings are separate resources that name the bucket
(aws_s3_bucket_server_side_encryption_configuration, aws_s3_bucket_public_access_block,
aws_s3_bucket_policy), so the check reads them from the plan, where it can see all of them; on
.tf files it reports nothing (checkov's evaluation of module values is not reliable enough to judge
another resource's settings there).

* Encryption: default encryption aws:kms (or aws:kms:dsse) with a customer-managed key
  (kms_master_key_id set, not an aws/ alias). The one exception AWS imposes: a bucket that
  receives S3 server access logs or load balancer access logs can only use SSE-S3 (AES256). The
  check accepts AES256 on a bucket whose own policy lets a log delivery service write to it
  (LOG_DELIVERY_SERVICES), so the exception is visible in the plan, not a blanket skip.
* Public access block: all four settings true.
* TLS only: a bucket policy statement denies every principal any S3 action when
  aws:SecureTransport is false.
"""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories
from snowplow_check_base import SnowplowCheck
from snowplow_policy_support import MISSING, PlanIndex, PlannedResource, is_plan

PUBLIC_ACCESS_SETTINGS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)
LOG_DELIVERY_SERVICES = frozenset(
    {
        "logging.s3.amazonaws.com",
        "logdelivery.elasticloadbalancing.amazonaws.com",
        "delivery.logs.amazonaws.com",
    }
)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(policy: Any) -> list[dict[str, Any]] | None:
    """The statements of a policy JSON string, or None when it is unknown or not JSON."""
    if not isinstance(policy, str):
        return None
    try:
        document = json.loads(policy)
    except ValueError:
        return None
    found = document.get("Statement") if isinstance(document, dict) else None
    return [s for s in _as_list(found) if isinstance(s, dict)] if found is not None else []


def denies_insecure_transport(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    principal = statement.get("Principal")
    everyone = principal == "*" or (
        isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))
    )
    if not everyone:
        return False
    if not {"s3:*", "*"} & set(_as_list(statement.get("Action"))):
        return False
    condition = statement.get("Condition") or {}
    for operator in ("Bool", "BoolIfExists"):
        value = (condition.get(operator) or {}).get("aws:SecureTransport")
        if str(value).lower() == "false":
            return True
    return False


def grants_log_delivery(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
    return statement.get("Effect") == "Allow" and bool(LOG_DELIVERY_SERVICES & set(services))


class S3BucketProtected(SnowplowCheck):
    def __init__(self) -> None:
        super().__init__(
            "CKV_SNOWPLOW_3",
            "S3 buckets use SSE-KMS with a customer-managed key, block all public access and "
            "deny requests without TLS",
            CheckCategories.ENCRYPTION,
            ["aws_s3_bucket"],
        )

    def problems(self, conf: dict[str, Any]) -> list[str] | None:
        index = PlanIndex.for_resource(conf) if is_plan(conf) else None
        bucket = index.resources.get(conf.get("__address__", "")) if index else None
        if index is None or bucket is None:
            return None
        name = bucket.value("bucket")
        policies = index.companions(bucket, "aws_s3_bucket_policy", "bucket", name)
        policy_statements: list[dict[str, Any]] = []
        unknown_policy = False
        for policy in policies:
            found = statements(policy.value("policy"))
            if found is None:
                unknown_policy = True
            else:
                policy_statements += found
        problems = self._encryption(index, bucket, name, policy_statements)
        problems += self._public_access(index, bucket, name)
        if not policies:
            problems.append("No aws_s3_bucket_policy names this bucket, so TLS is not required.")
        elif not any(denies_insecure_transport(s) for s in policy_statements):
            if unknown_policy:
                self.details.append("The bucket policy is known only after apply; TLS not judged.")
            else:
                problems.append(
                    "The bucket policy has no statement denying all principals s3:* when "
                    "aws:SecureTransport is false."
                )
        return problems

    def _encryption(
        self,
        index: PlanIndex,
        bucket: PlannedResource,
        name: Any,
        policy_statements: list[dict[str, Any]],
    ) -> list[str]:
        configurations = index.companions(
            bucket, "aws_s3_bucket_server_side_encryption_configuration", "bucket", name
        )
        defaults = [
            default
            for configuration in configurations
            for rule in configuration.values.get("rule") or []
            for default in rule.get("apply_server_side_encryption_by_default") or []
        ]
        if not defaults:
            return ["No aws_s3_bucket_server_side_encryption_configuration names this bucket."]
        problems = []
        for default in defaults:
            algorithm = default.get("sse_algorithm")
            key = default.get("kms_master_key_id", MISSING)
            if algorithm == "AES256" and any(grants_log_delivery(s) for s in policy_statements):
                self.details.append(
                    "SSE-S3 accepted: the bucket policy lets a log delivery service write here, "
                    "and AWS log delivery supports only SSE-S3."
                )
            elif algorithm not in ("aws:kms", "aws:kms:dsse"):
                problems.append(f"Default encryption is {algorithm!r}, not SSE-KMS (aws:kms).")
            elif key in (None, ""):
                problems.append("SSE-KMS uses the AWS managed key: set kms_master_key_id to a CMK.")
            elif isinstance(key, str) and key.startswith("alias/aws/"):
                problems.append(f"SSE-KMS uses the AWS managed key {key}, not a CMK.")
        return problems

    @staticmethod
    def _public_access(index: PlanIndex, bucket: PlannedResource, name: Any) -> list[str]:
        blocks = index.companions(bucket, "aws_s3_bucket_public_access_block", "bucket", name)
        if not blocks:
            return ["No aws_s3_bucket_public_access_block names this bucket."]
        off = sorted({s for b in blocks for s in PUBLIC_ACCESS_SETTINGS if b.value(s) is not True})
        if off:
            return [f"The public access block does not set {', '.join(off)} to true."]
        return []


check = S3BucketProtected()
