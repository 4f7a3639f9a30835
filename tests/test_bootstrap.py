"""terraform/bootstrap, applied to the local emulator: the account's GitLab identity provider and
the two CI roles exist with the trust and the policies the module's tests assert, and what was
applied keeps to AWS's constraints."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from snowplow_infra import emulator, pipeline, terraform
from snowplow_infra.aws_constraints.check import check_plan
from snowplow_infra.paths import TERRAFORM_DIR

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

BOOTSTRAP = TERRAFORM_DIR / "bootstrap"
PROJECT = "gitlab-org/analytics/snowplow-infra"


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Any]]:
    """The bootstrap applied to a fresh moto server: its state, and an IAM client on the server."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH (see snowplow-infra doctor)")
    work = tmp_path_factory.mktemp("bootstrap")
    region = pipeline.load().region
    with emulator.start(work / "moto") as server:
        env = server.terraform_environment(region) | {"TF_DATA_DIR": str(work / "terraform")}
        state = work / "terraform.tfstate"
        terraform.run(["init", "-input=false", "-no-color"], BOOTSTRAP, capture=True, extra_env=env)
        terraform.run(
            [
                "apply",
                "-input=false",
                "-no-color",
                "-auto-approve",
                f"-state={state}",
                f"-var=project_path={PROJECT}",
            ],
            BOOTSTRAP,
            capture=True,
            extra_env=env,
        )
        iam = boto3.client("iam", **_client_arguments(server, region))
        yield json.loads(state.read_text()), iam


def _client_arguments(server: emulator.Emulator, region: str) -> dict[str, str]:
    return {
        "endpoint_url": server.endpoint,
        "region_name": region,
        "aws_access_key_id": emulator.FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": emulator.FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def test_the_roles_exist_trusting_only_the_projects_job_tokens(
    applied: tuple[dict[str, Any], Any],
) -> None:
    _, iam = applied
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert len(providers) == 1 and providers[0]["Arn"].endswith(":oidc-provider/gitlab.com")
    plan = iam.get_role(RoleName="gitlab-ci-snowplow-plan")["Role"]
    apply = iam.get_role(RoleName="gitlab-ci-snowplow-apply")["Role"]
    plan_trust = plan["AssumeRolePolicyDocument"]
    apply_trust = apply["AssumeRolePolicyDocument"]
    if isinstance(plan_trust, str):
        plan_trust, apply_trust = json.loads(plan_trust), json.loads(apply_trust)
    assert plan_trust["Statement"][0]["Condition"]["StringLike"] == {
        "gitlab.com:sub": f"project_path:{PROJECT}:*"
    }
    assert apply_trust["Statement"][0]["Condition"]["StringEquals"]["gitlab.com:sub"] == (
        f"project_path:{PROJECT}:ref_type:branch:ref:main"
    )
    attached = {
        role: sorted(
            p["PolicyName"]
            for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        )
        for role in ("gitlab-ci-snowplow-plan", "gitlab-ci-snowplow-apply")
    }
    assert attached == {
        "gitlab-ci-snowplow-plan": ["gitlab-ci-snowplow-read-configuration"],
        "gitlab-ci-snowplow-apply": [
            "gitlab-ci-snowplow-apply-compute",
            "gitlab-ci-snowplow-apply-data-path",
            "gitlab-ci-snowplow-apply-operations",
            "gitlab-ci-snowplow-read-configuration",
        ],
    }


def test_what_the_bootstrap_applied_keeps_to_awss_constraints(
    applied: tuple[dict[str, Any], Any],
) -> None:
    state, _ = applied
    as_plan = {
        "resource_changes": [
            {
                "address": f"{resource['type']}.{resource['name']}",
                "mode": resource["mode"],
                "type": resource["type"],
                "change": {"actions": ["create"], "after": instance["attributes"]},
            }
            for resource in state["resources"]
            for instance in resource["instances"]
        ]
    }
    assert len(as_plan["resource_changes"]) >= 9
    violations = check_plan(as_plan)
    assert not violations, "\n".join(str(v) for v in violations)
