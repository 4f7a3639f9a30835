"""What must exist before what, in the production plan of aws-snowplow: the dependencies that only a
real apply would miss (the emulator does not care in which order things appear). Read from the
plan's ``configuration`` (each resource's ``depends_on``, each module call's expressions), which
is what Terraform orders the apply by."""

from __future__ import annotations

from typing import Any

import pytest

from snowplow_infra.plan import PlanResult

pytestmark = [pytest.mark.terraform, pytest.mark.slow]


def module_config(plan: dict[str, Any], *path: str) -> dict[str, Any]:
    """The configuration of the module instance at ``path`` (module call names)."""
    module: dict[str, Any] = plan["configuration"]["root_module"]
    for name in path:
        module = module["module_calls"][name]["module"]
    return module


def resource_config(module: dict[str, Any], address: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        r for r in module.get("resources", []) if r["address"] == address
    ]
    assert len(found) == 1, f"{address} is not in the module's configuration"
    return found[0]


@pytest.mark.parametrize("fleet", [("collector", "fleet"), ("enricher", "fleet")])
def test_instances_launch_after_their_egress_rules_and_iam(
    environment_plan: PlanResult, fleet: tuple[str, ...]
) -> None:
    """Without its egress rules an instance boots unable to install packages or report its own
    failed boot."""
    group = resource_config(
        module_config(environment_plan.plan, *fleet), "aws_autoscaling_group.this"
    )
    depends_on = set(group.get("depends_on", []))
    assert {
        "aws_iam_role_policy.app",
        "aws_iam_role_policy.logs_and_metrics",
        "aws_vpc_security_group_egress_rule.https",
        "aws_vpc_security_group_egress_rule.additional",
        "var.launch_after",
    } <= depends_on, f"{'.'.join(fleet)}: the group depends only on {sorted(depends_on)}"


def test_collector_instances_launch_after_the_load_balancer_can_reach_them(
    environment_plan: PlanResult,
) -> None:
    collector = module_config(environment_plan.plan, "collector")
    launch_after = collector["module_calls"]["fleet"]["expressions"].get("launch_after", {})
    references = set(launch_after.get("references", []))
    assert {
        "aws_vpc_security_group_ingress_rule.instances_from_load_balancer.id",
        "aws_vpc_security_group_egress_rule.load_balancer_to_instances.id",
    } <= references, f"the collector's fleet launches after {sorted(references)} only"


def test_delivery_streams_wait_for_iam_to_propagate(environment_plan: PlanResult) -> None:
    delivery = module_config(environment_plan.plan, "delivery")
    stream = resource_config(delivery, "aws_kinesis_firehose_delivery_stream.this")
    assert "terraform_data.iam_propagation" in stream.get("depends_on", [])
    waits = [
        change
        for change in environment_plan.plan["resource_changes"]
        if change["type"] == "terraform_data" and change["name"] == "iam_propagation"
    ]
    streams = [
        change
        for change in environment_plan.plan["resource_changes"]
        if change["type"] == "aws_kinesis_firehose_delivery_stream"
    ]
    assert streams and len(waits) == len(streams), "one IAM wait per delivery stream"
