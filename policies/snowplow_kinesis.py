"""CKV_SNOWPLOW_4: every Kinesis stream is encrypted with a customer-managed KMS key.

encryption_type must be KMS and kms_key_id must name a key that is not AWS managed (an
``alias/aws/...`` alias, e.g. alias/aws/kinesis). On .tf files a reference (a variable, a module
output, an aws_kms_key) counts as a customer-managed key; in a plan that creates the key, the key's
ARN is known only after apply, which also means it is not an AWS managed alias.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories
from snowplow_check_base import SnowplowCheck
from snowplow_policy_support import MISSING, is_plan, is_unknown, scalar


class KinesisCustomerManagedKey(SnowplowCheck):
    def __init__(self) -> None:
        super().__init__(
            "CKV_SNOWPLOW_4",
            "Kinesis streams are encrypted with a customer-managed KMS key",
            CheckCategories.ENCRYPTION,
            ["aws_kinesis_stream"],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        problems = []
        encryption = scalar(conf, "encryption_type")
        if encryption != "KMS":
            shown = "not set" if encryption in (MISSING, None) else repr(encryption)
            problems.append(f"encryption_type is {shown}, not KMS.")
        key = scalar(conf, "kms_key_id")
        if is_plan(conf) and is_unknown(key):
            return problems  # the ARN of a key created in this plan
        if key in (MISSING, None, ""):
            problems.append("kms_key_id is not set.")
        elif isinstance(key, str) and key.startswith("alias/aws/"):
            problems.append(f"kms_key_id is the AWS managed key {key}, not a customer-managed key.")
        return problems


check = KinesisCustomerManagedKey()
