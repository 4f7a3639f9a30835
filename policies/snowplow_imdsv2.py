"""CKV_SNOWPLOW_6: launch templates require IMDSv2.

metadata_options.http_tokens must be "required" (session tokens, IMDSv2 only), unless the
metadata endpoint is disabled altogether. Leaving http_tokens unset keeps the AMI's default, which
allows IMDSv1, so it fails too.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories
from snowplow_check_base import SnowplowCheck
from snowplow_policy_support import MISSING, blocks, scalar


class LaunchTemplateRequiresImdsV2(SnowplowCheck):
    def __init__(self) -> None:
        super().__init__(
            "CKV_SNOWPLOW_6",
            "Launch templates require IMDSv2 (metadata_options.http_tokens = required)",
            CheckCategories.GENERAL_SECURITY,
            ["aws_launch_template", "aws_launch_configuration"],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        options = blocks(conf, "metadata_options")
        if not options:
            return ["There is no metadata_options block, so IMDSv1 stays allowed."]
        for option in options:
            if scalar(option, "http_endpoint") == "disabled":
                continue
            tokens = scalar(option, "http_tokens")
            if tokens != "required":
                shown = "not set" if tokens in (MISSING, None) else repr(tokens)
                return [f'metadata_options.http_tokens is {shown}, not "required".']
        return []


check = LaunchTemplateRequiresImdsV2()
