"""``snowplow-infra plan-compare`` on real public plans and on pairs derived from them.

Every real plan (tests/fixtures/plans and the shared set) matches itself and its variants that
differ only where a plan may (order, timestamps, Terraform's version, prior state, drift, no-op
entries). Each derived pair that changes what applying would do (an attribute, an action, a
known-after-apply marker, a sensitivity mark, a sensitive value, an output, a resource added or
removed) exits 1 and names the address and attribute, and never prints a sensitive value.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from snowplow_infra.plan_report.compare import differences
from snowplow_infra.plan_report.plan import parse_plan
from tests.conftest import cli_path
from tests.test_plan_report import SHARED_PLANS

OTHER_SHARED_PLANS = Path("/work/shared/fixtures/plans")
REAL_PLANS = sorted(SHARED_PLANS.glob("*.json")) + sorted(OTHER_SHARED_PLANS.glob("*.json"))
ISSUE_522 = SHARED_PLANS / "tfcompliance_test_issue_522.plan.out.json"
LAMBDA = "aws_lambda_function.lambda"
SSM = "aws_ssm_parameter.lambda_sg_id"
UPDATED_TARGET = "aws_cloudwatch_event_target.metric_event_target"
SECRET = "s3cr3t-value-never-printed"


def compare(
    tmp_path: Path, reviewed: dict[str, Any] | Path, candidate: dict[str, Any] | Path
) -> subprocess.CompletedProcess[str]:
    paths = []
    for name, plan in (("reviewed.json", reviewed), ("candidate.json", candidate)):
        path = plan if isinstance(plan, Path) else tmp_path / name
        if isinstance(plan, dict):
            path.write_text(json.dumps(plan))
        paths.append(str(path))
    return subprocess.run(
        [str(cli_path()), "plan-compare", *paths], capture_output=True, text=True, check=False
    )


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def entry(document: dict[str, Any], address: str) -> dict[str, Any]:
    for change in document["resource_changes"]:
        if change["address"] == address:
            result: dict[str, Any] = change["change"]
            return result
    raise AssertionError(f"{address} is not in the plan")


@pytest.mark.parametrize("path", REAL_PLANS, ids=lambda p: p.name)
def test_a_real_plan_matches_itself(tmp_path: Path, path: Path) -> None:
    result = compare(tmp_path, path, path)
    assert result.returncode == 0, result.stderr
    assert "makes exactly the changes reviewed" in result.stdout


def irrelevant_changes(document: dict[str, Any]) -> dict[str, Any]:
    """The same changes as Terraform may write them another time against another state."""
    changed = copy.deepcopy(document)
    changed["timestamp"] = "2031-01-01T00:00:00Z"
    changed["terraform_version"] = "1.99.0"
    changed.pop("prior_state", None)
    changed.pop("planned_values", None)
    changed["resource_drift"] = []
    changes = changed.get("resource_changes") or []
    changes.reverse()
    for change in changes:
        if change["change"]["actions"] == ["no-op"] and not change.get("previous_address"):
            change["change"]["before"] = {"state": "moved elsewhere"}
            change["change"]["after"] = {"state": "moved elsewhere"}
    changed["resource_changes"] = changes
    return changed


@pytest.mark.parametrize("path", REAL_PLANS, ids=lambda p: p.name)
def test_order_timestamps_version_and_unrelated_state_do_not_matter(
    tmp_path: Path, path: Path
) -> None:
    result = compare(tmp_path, path, irrelevant_changes(load(path)))
    assert result.returncode == 0, result.stderr


def set_attribute(document: dict[str, Any]) -> None:
    entry(document, SSM)["after"]["tier"] = "Advanced"


def set_action(document: dict[str, Any]) -> None:
    entry(document, UPDATED_TARGET)["actions"] = ["delete", "create"]


def known_now(document: dict[str, Any]) -> None:
    entry(document, SSM)["after_unknown"]["arn"] = False
    entry(document, SSM)["after"]["arn"] = "arn:aws:ssm:eu-west-1:1:parameter/x"


def drop_resource(document: dict[str, Any]) -> None:
    document["resource_changes"] = [c for c in document["resource_changes"] if c["address"] != SSM]


def add_resource(document: dict[str, Any]) -> None:
    added = copy.deepcopy(next(c for c in document["resource_changes"] if c["address"] == SSM))
    added["address"] = "aws_ssm_parameter.another"
    added["name"] = "another"
    document["resource_changes"].append(added)


def change_output(document: dict[str, Any]) -> None:
    document["output_changes"]["lambda_function_arn"]["actions"] = ["delete"]


def add_list_element(document: dict[str, Any]) -> None:
    rule = entry(document, "aws_security_group_rule.task_sg_egress_rule")
    rule["after"]["cidr_blocks"] = ["10.0.0.0/8"]
    rule["after_unknown"]["cidr_blocks"] = [False]


@pytest.mark.parametrize(
    ("mutate", "subject", "detail"),
    [
        (set_attribute, SSM, 'after.tier: "Standard" in the review, "Advanced" now'),
        (set_action, UPDATED_TARGET, "the review planned update (update), this plan plans replace"),
        (known_now, SSM, "after.arn: known after apply in the review"),
        (drop_resource, SSM, "create in the review, not in this plan"),
        (add_resource, "aws_ssm_parameter.another", "create in this plan, not in the review"),
        (change_output, "output.lambda_function_arn", "the review planned update"),
        (
            add_list_element,
            "aws_security_group_rule.task_sg_egress_rule",
            "after.cidr_blocks[0]: element added in this plan",
        ),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_a_changed_change_is_refused_by_address_and_attribute(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], None], subject: str, detail: str
) -> None:
    candidate = load(ISSUE_522)
    mutate(candidate)
    result = compare(tmp_path, ISSUE_522, candidate)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"  {subject}: " in result.stderr
    line = next(line for line in result.stderr.splitlines() if line.startswith(f"  {subject}: "))
    assert detail in line
    assert "does not make the changes reviewed" in result.stderr


def with_secret(document: dict[str, Any], secret: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    lambda_change = entry(changed, LAMBDA)
    lambda_change["after"]["environment"][0]["variables"]["EVENT_BUS_ARN"] = secret
    return changed


def test_a_different_sensitive_value_is_refused_and_never_printed(tmp_path: Path) -> None:
    reviewed = with_secret(load(ISSUE_522), SECRET)
    candidate = with_secret(load(ISSUE_522), "an0ther-" + SECRET)
    result = compare(tmp_path, reviewed, candidate)
    assert result.returncode == 1
    assert f"  {LAMBDA}: after.environment[0].variables.EVENT_BUS_ARN: a sensitive value" in (
        result.stderr
    )
    assert SECRET not in result.stdout + result.stderr
    same = compare(tmp_path, reviewed, with_secret(load(ISSUE_522), SECRET))
    assert same.returncode == 0, same.stderr


def test_a_value_that_becomes_sensitive_or_stops_being_is_refused_unprinted(
    tmp_path: Path,
) -> None:
    reviewed = with_secret(load(ISSUE_522), SECRET)
    candidate = copy.deepcopy(reviewed)
    entry(candidate, LAMBDA)["after_sensitive"]["environment"][0]["variables"] = {}
    for pair in ((reviewed, candidate), (candidate, reviewed)):
        result = compare(tmp_path, *pair)
        assert result.returncode == 1
        assert "variables.EVENT_BUS_ARN: " in result.stderr
        assert "values not shown" in result.stderr
        assert SECRET not in result.stdout + result.stderr


def test_two_different_real_plans_differ(tmp_path: Path) -> None:
    other = SHARED_PLANS / "checkov_plan_with_iam_data_block.tfplan.json"
    result = compare(tmp_path, ISSUE_522, other)
    assert result.returncode == 1
    assert f"  {SSM}: create in the review, not in this plan" in result.stderr


def test_a_deposed_object_is_its_own_change(tmp_path: Path) -> None:
    reviewed = load(ISSUE_522)
    candidate = copy.deepcopy(reviewed)
    deposed = copy.deepcopy(next(c for c in candidate["resource_changes"] if c["address"] == SSM))
    deposed["deposed"] = "00000001"
    deposed["change"]["actions"] = ["delete"]
    candidate["resource_changes"].append(deposed)
    result = compare(tmp_path, reviewed, candidate)
    assert result.returncode == 1
    assert f"  {SSM} (deposed object 00000001): delete in this plan" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"{not json", "is not valid JSON"),
        (b'{"version": 4, "terraform_version": "1.11.4", "resources": []}', "no format_version"),
        (b"PK\x03\x04binary", "is a saved plan file"),
        (b'{"format_version": "1.2", "errored": true, "resource_changes": []}', "errored plan"),
    ],
    ids=["missing", "not-json", "state-file", "binary-plan", "errored"],
)
@pytest.mark.parametrize("side", ["reviewed", "candidate"])
def test_an_unreadable_input_or_one_that_is_not_a_plan_exits_2(
    tmp_path: Path, content: bytes | None, message: str, side: str
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_bytes(content)
    pair = (bad, ISSUE_522) if side == "reviewed" else (ISSUE_522, bad)
    result = compare(tmp_path, *pair)
    assert result.returncode == 2
    assert f"error: {bad}" in result.stderr
    assert message in result.stderr


def first_plain_leaf(change: dict[str, Any]) -> str | None:
    """A top-level attribute of ``after`` that is a known, non-sensitive string or number."""
    after, unknown, sensitive = (
        change.get(k) for k in ("after", "after_unknown", "after_sensitive")
    )
    if not isinstance(after, dict) or sensitive is True or unknown is True:
        return None
    for key, value in sorted(after.items()):
        marked = (sensitive or {}).get(key) if isinstance(sensitive, dict) else False
        unseen = (unknown or {}).get(key) if isinstance(unknown, dict) else False
        if (
            isinstance(value, str | int)
            and not isinstance(value, bool)
            and not marked
            and not unseen
        ):
            return str(key)
    return None


def derived_pairs() -> list[tuple[Path, str, str]]:
    """(plan, address, attribute) for every resource change of every real plan that has a plain
    attribute to change."""
    pairs = []
    for path in REAL_PLANS:
        for change in load(path).get("resource_changes") or []:
            if change["change"]["actions"] == ["no-op"]:
                continue
            key = first_plain_leaf(change["change"])
            if key is not None:
                pairs.append((path, change["address"], key))
    return pairs


DERIVED = derived_pairs()


def test_the_derived_pairs_cover_many_real_changes() -> None:
    assert len(DERIVED) >= 60
    assert len({path for path, _, _ in DERIVED}) >= 8


@pytest.mark.parametrize(
    ("path", "address", "key"), DERIVED, ids=[f"{p.stem}:{a}.{k}" for p, a, k in DERIVED]
)
def test_one_changed_attribute_of_any_real_change_is_found_by_address_and_attribute(
    path: Path, address: str, key: str
) -> None:
    reviewed = load(path)
    candidate = copy.deepcopy(reviewed)
    after = entry(candidate, address)["after"]
    after[key] = f"{after[key]}-changed" if isinstance(after[key], str) else after[key] + 1
    found = [str(d) for d in differences(parse_plan(reviewed), parse_plan(candidate))]
    assert found, f"{address}.{key} changed and was not found"
    assert all(line.startswith(f"{address}: after.{key}") for line in found), found
    assert differences(parse_plan(reviewed), parse_plan(copy.deepcopy(reviewed))) == []
