"""CKV_SNOWPLOW_5: Lambda functions log to a log group with retention and hold no literal secret.

* Log group: the function's log group (logging_config.log_group, else /aws/lambda/FUNCTION_NAME)
  is managed in the same configuration with retention_in_days set (0 means keep forever).
  Otherwise Lambda creates the group itself on first invocation, without retention and outside
  Terraform. Checked in the plan, where names are evaluated; .tf files cannot show it.
* Environment: a variable whose name contains SALT, SECRET, PASSWORD, TOKEN or KEY in one of its
  words holds a reference, not the secret: an ARN (Secrets Manager, SSM, KMS), a Terraform
  reference, or a value whose name ends with a word saying what it holds instead of a secret
  (REFERENCE_WORDS: SALT_SECRET_ARN, API_KEY_PARAMETER, KMS_KEY_ID, ...).
"""

from __future__ import annotations

import re
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
    scalar,
)

SECRET_WORDS = ("SALT", "SECRET", "PASSWORD", "PASSWD", "TOKEN", "KEY")
REFERENCE_WORDS = frozenset({"ARN", "ID", "NAME", "PATH", "PARAMETER", "PARAM", "ALIAS", "PREFIX"})


def looks_secret(name: str) -> bool:
    return any(secret in word for word in _words(name) for secret in SECRET_WORDS)


def names_a_reference(name: str) -> bool:
    words = _words(name)
    return bool(words) and words[-1] in REFERENCE_WORDS


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^A-Z0-9]+", name.upper()) if w]


def is_reference(name: str, value: Any, plan: bool) -> bool:
    if value in (None, "") or (plan and is_unknown(value)):
        return True
    if not isinstance(value, str):
        return False
    if value.startswith("arn:") or is_expression(value):
        return True
    return names_a_reference(name)


class LambdaLogsAndSecrets(SnowplowCheck):
    def __init__(self) -> None:
        super().__init__(
            "CKV_SNOWPLOW_5",
            "Lambda functions log to a managed log group with retention, and no environment "
            "variable holds a literal secret",
            CheckCategories.LOGGING,
            ["aws_lambda_function"],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        problems = self._secrets(conf)
        if is_plan(conf):
            problems += self._log_group(conf)
        else:
            self.details.append("The log group is checked in the plan.")
        return problems

    @staticmethod
    def _secrets(conf: dict[str, Any]) -> list[str]:
        literal = []
        for environment in blocks(conf, "environment"):
            variables = scalar(environment, "variables")
            if not isinstance(variables, dict):
                continue
            for name, raw in variables.items():
                value = raw
                while isinstance(value, list) and len(value) == 1:
                    value = value[0]
                if looks_secret(name) and not is_reference(name, value, is_plan(conf)):
                    literal.append(name)
        if literal:
            return [
                f"Environment variable(s) {', '.join(sorted(literal))} hold a literal value; "
                "pass a Secrets Manager or SSM reference (an ARN or a name) and read the secret "
                "at run time."
            ]
        return []

    def _log_group(self, conf: dict[str, Any]) -> list[str]:
        index = PlanIndex.for_resource(conf)
        function = index.resources.get(conf.get("__address__", "")) if index else None
        if index is None or function is None:
            return []
        function_name = function.value("function_name")
        configured = [
            c.get("log_group")
            for c in function.values.get("logging_config") or []
            if isinstance(c, dict) and c.get("log_group")
        ]
        if configured:
            group_name: Any = configured[0]
        elif isinstance(function_name, str):
            group_name = f"/aws/lambda/{function_name}"
        else:
            self.details.append("function_name is known only after apply; log group not judged.")
            return []
        groups = [
            g for g in index.of_type("aws_cloudwatch_log_group") if g.value("name") == group_name
        ]
        if not groups:
            return [
                f"No aws_cloudwatch_log_group named {group_name} is managed here; Lambda would "
                "create it on first use, with no retention."
            ]
        retention = groups[0].value("retention_in_days")
        if retention is MISSING:
            return []
        if not isinstance(retention, int) or retention <= 0:
            return [f"{group_name} has retention_in_days {retention!r}: logs never expire."]
        return []


check = LambdaLogsAndSecrets()
