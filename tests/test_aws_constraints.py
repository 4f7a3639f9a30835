"""`snowplow-infra check-aws-constraints`: AWS's own constraints (the SDK's service models, the
documented table of constraints.json) on planned values, which the emulator does not enforce."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from snowplow_infra.aws_constraints.check import check_plan, covered_types
from snowplow_infra.aws_constraints.rules import attribute_rules, data, model_rule
from snowplow_infra.plan import PlanResult
from tests.conftest import cli_path

# The egress rule ec2-fleet planned before its description lost its apostrophe.
OLD_EGRESS_DESCRIPTION = (
    "HTTPS to the AWS APIs, package repositories, the container registry and the app's HTTPS "
    "sources"
)


def change(
    resource_type: str,
    after: dict[str, Any],
    *,
    address: str | None = None,
    actions: tuple[str, ...] = ("create",),
    after_unknown: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "address": address or f"module.example.{resource_type}.this",
        "mode": "managed",
        "type": resource_type,
        "change": {"actions": list(actions), "after": after, "after_unknown": after_unknown or {}},
    }


def plan_of(*changes: dict[str, Any]) -> dict[str, Any]:
    return {"format_version": "1.2", "resource_changes": list(changes)}


def test_every_model_member_and_table_rule_named_exists_and_has_a_source() -> None:
    for resource_type, attributes in data()["resources"].items():
        for attribute, entry in attributes.items():
            rules = attribute_rules(entry)
            assert rules, (resource_type, attribute)
            assert all(rule.source for rule in rules), (resource_type, attribute)
    for resource_type in covered_types():
        if not data()["resources"][resource_type]:
            assert resource_type in data()["unconstrained"], resource_type


def test_the_model_rules_come_from_botocore() -> None:
    role_name = model_rule("iam:CreateRole:RoleName")
    assert (role_name.minimum, role_name.maximum, role_name.pattern) == (1, 64, "[\\w+=,.@-]+")
    assert "botocore" in role_name.source and "CreateRole RoleName" in role_name.source
    assert "python3.12" in model_rule("lambda:CreateFunction:Runtime").enum


def test_the_apostrophe_in_a_security_group_rule_description_is_found() -> None:
    violations = check_plan(
        plan_of(
            change(
                "aws_vpc_security_group_egress_rule",
                {"description": OLD_EGRESS_DESCRIPTION, "ip_protocol": "tcp"},
                address="module.collector.module.fleet.aws_vpc_security_group_egress_rule.https",
            )
        )
    )
    assert len(violations) == 1
    text = str(violations[0])
    assert text.startswith(
        "module.collector.module.fleet.aws_vpc_security_group_egress_rule.https: description "
    )
    assert 'it refuses "\'"' in text
    assert "API_IpRange.html" in text


@pytest.mark.parametrize(
    ("resource_type", "after", "expected"),
    [
        (
            "aws_lb_target_group",
            {"name": "snowplow-collector-production-8080"},
            "over the maximum of 32",
        ),
        ("aws_lb_target_group", {"name_prefix": "collector-"}, "over the maximum of 6"),
        ("aws_lb", {"name": "internal-collector"}, "does not match the pattern"),
        ("aws_s3_bucket", {"bucket": "Snowplow_Events"}, "does not match the pattern"),
        ("aws_iam_role", {"name": "r" * 65}, "over the maximum of 64"),
        ("aws_kinesis_stream", {"name": "raw good"}, "does not match the pattern"),
        ("aws_lambda_function", {"runtime": "python2.6"}, "is not one of"),
        ("aws_lb_target_group", {"health_check": [{"interval": 1}]}, "under the minimum of 5"),
        ("aws_cloudwatch_log_group", {"retention_in_days": 45}, "is not one of"),
        ("aws_security_group", {"name": "sg-collector"}, "does not match the pattern"),
        ("aws_sns_topic", {"name": "alarms P1"}, "does not match the pattern"),
    ],
)
def test_each_kind_of_rule_refuses_what_aws_refuses(
    resource_type: str, after: dict[str, Any], expected: str
) -> None:
    violations = check_plan(plan_of(change(resource_type, after)))
    assert len(violations) == 1, violations
    assert expected in violations[0].problem


def test_tags_are_checked_on_every_resource() -> None:
    violations = check_plan(
        plan_of(change("aws_kms_alias", {"tags": {"aws:owner": "x", "team": "v" * 257}}))
    )
    assert {v.attribute.split(" ")[0].split("[")[0] for v in violations} == {"tags"}
    assert len(violations) == 2


def test_values_known_only_after_apply_and_zero_values_are_not_judged() -> None:
    plan = plan_of(
        change(
            "aws_lb_target_group",
            {"port": 8080, "deregistration_delay": 0},
            after_unknown={"name": True, "arn": True},
        )
    )
    assert check_plan(plan) == []


def test_deletes_are_not_judged_and_replacements_are() -> None:
    bad = {"name": "x" * 40}
    assert check_plan(plan_of(change("aws_lb", bad, actions=("delete",)))) == []
    assert len(check_plan(plan_of(change("aws_lb", bad, actions=("delete", "create"))))) == 1


def test_a_resource_type_the_table_does_not_cover_is_a_violation() -> None:
    violations = check_plan(plan_of(change("aws_rds_cluster", {"cluster_identifier": "x"})))
    assert len(violations) == 1
    assert "aws_rds_cluster" in violations[0].problem
    assert "constraints.json" in violations[0].source


@pytest.mark.terraform
@pytest.mark.slow
def test_the_production_plan_keeps_to_awss_constraints_and_every_type_is_covered(
    environment_plan: PlanResult,
) -> None:
    planned_types = {c["type"] for c in environment_plan.plan["resource_changes"]}
    assert planned_types <= set(covered_types()), planned_types - set(covered_types())
    violations = check_plan(environment_plan.plan)
    assert not violations, "\n".join(str(v) for v in violations)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cli_path()), "check-aws-constraints", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_cli_exits_1_naming_each_violation_and_0_on_a_clean_plan(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            plan_of(
                change(
                    "aws_vpc_security_group_egress_rule", {"description": OLD_EGRESS_DESCRIPTION}
                )
            )
        )
    )
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(plan_of(change("aws_lb", {"name": "snowplow-collector"}))))
    failed = run_cli(str(bad), str(clean))
    assert failed.returncode == 1
    assert f"{bad}: module.example.aws_vpc_security_group_egress_rule.this: description" in (
        failed.stderr
    )
    assert f"{clean}: 0 violations" in failed.stdout
    assert run_cli(str(clean)).returncode == 0


def test_the_cli_names_a_file_that_is_not_a_plan(tmp_path: Path) -> None:
    not_a_plan = tmp_path / "values.json"
    not_a_plan.write_text("{}")
    result = run_cli(str(not_a_plan))
    assert result.returncode == 2
    assert f"{not_a_plan} is JSON but not a plan" in result.stderr


def test_the_cli_lists_each_attribute_and_its_source() -> None:
    result = run_cli("--list")
    assert result.returncode == 0, result.stderr
    assert "  description: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange" in (
        result.stdout
    )
    assert "terraform_data: Terraform's own resource" in result.stdout
