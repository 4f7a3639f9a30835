"""The apply job's logic end to end, offline: the emulator, a local backend, Terraform's own plans.

The story the pipeline must get right (docs/ci.md): changes A, B and C are each reviewed against
the same state S0, as their merge requests' plan jobs do (``plan -lock=false``, ``show -json``).
A is merged and applied. C touches another resource: the plan made at its apply against the new
state makes exactly C's reviewed changes, and it applies. B touches the resource A changed: its
apply is refused, nothing is applied, and the refusal names the resource and attribute. After a
fresh review of the merged code against the current state, B applies.

Unit tests of the same logic without Terraform use a fake ``terraform.run`` (bottom of the file).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest

from snowplow_infra import apply_reviewed as job
from snowplow_infra import emulator, terraform
from snowplow_infra.apply_reviewed import apply_reviewed
from tests.test_plan_report import SHARED_PLANS

REGION = "eu-west-1"
PROVIDER = "5.100.0"


def configuration(*, x_value: str, x_tags: Mapping[str, str], y_value: str) -> str:
    """The environment's code at one commit: two SSM parameters."""
    tags = ", ".join(f"{k} = {json.dumps(v)}" for k, v in sorted(x_tags.items()))
    return f"""terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{PROVIDER}"
    }}
  }}
}}

provider "aws" {{
  region                      = "{REGION}"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}}

resource "aws_ssm_parameter" "x" {{
  name  = "/flow/x"
  type  = "String"
  value = "{x_value}"
  tags  = {{ {tags} }}
}}

resource "aws_ssm_parameter" "y" {{
  name  = "/flow/y"
  type  = "String"
  value = "{y_value}"
}}
"""


S0 = {"x_value": "0", "x_tags": {}, "y_value": "0"}
A = {**S0, "x_tags": {"owner": "team-a"}}  # A tags x
B = {**S0, "x_value": "1"}  # B changes x's value
C = {**S0, "y_value": "1"}  # C changes y only


class Environment:
    """One working copy of the environment against the emulator, with a local state file."""

    def __init__(self, root: Path, endpoint: str) -> None:
        self.dir = root / "env"
        self.dir.mkdir()
        self.state = root / "state" / "terraform.tfstate"
        self.env = emulator.terraform_environment(endpoint, REGION)
        self.runs = root / "runs"

    def check_out(self, code: Mapping[str, Any]) -> None:
        (self.dir / "main.tf").write_text(configuration(**code))
        (self.dir / "backend_override.tf").write_text(
            f'terraform {{\n  backend "local" {{\n    path = "{self.state}"\n  }}\n}}\n'
        )
        terraform.run(
            ["init", "-input=false", "-no-color"], self.dir, capture=True, extra_env=self.env
        )

    def review(self, code: Mapping[str, Any], name: str) -> Path:
        """What a merge request's plan job saves: the plan JSON, planned without the lock."""
        self.check_out(code)
        plan_file = self.runs / f"{name}.tfplan"
        self.runs.mkdir(exist_ok=True)
        terraform.run(
            ["plan", "-input=false", "-lock=false", "-no-color", f"-out={plan_file}"],
            self.dir,
            capture=True,
            extra_env=self.env,
        )
        shown = terraform.run(
            ["show", "-json", str(plan_file)], self.dir, capture=True, extra_env=self.env
        )
        reviewed = self.runs / f"{name}.json"
        reviewed.write_text(shown.stdout)
        return reviewed

    def apply(self, code: Mapping[str, Any], reviewed: Path, name: str) -> tuple[int, str]:
        """The apply job on the merge commit whose code is ``code``."""
        self.check_out(code)
        complaints: list[str] = []
        status = apply_reviewed(
            self.dir,
            reviewed,
            self.runs / name,
            lock_timeout="30s",
            plan_args=["-no-color"],
            extra_env=self.env,
            say=lambda _: None,
            complain=complaints.append,
        )
        return status, "\n".join(complaints)


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[Environment]:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH (see snowplow-infra doctor)")
    with emulator.start(tmp_path / "emulator") as server:
        env = Environment(tmp_path, server.endpoint)
        env.check_out(S0)
        terraform.run(
            ["apply", "-input=false", "-auto-approve", "-no-color"],
            env.dir,
            capture=True,
            extra_env=env.env,
        )
        yield env


def parameter(environment: Environment, name: str) -> tuple[str, dict[str, str]]:
    client = boto3.client(
        "ssm",
        endpoint_url=environment.env["AWS_ENDPOINT_URL"],
        region_name=REGION,
        aws_access_key_id=environment.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment.env["AWS_SECRET_ACCESS_KEY"],
    )
    value = client.get_parameter(Name=name)["Parameter"]["Value"]
    tags = client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    return str(value), {t["Key"]: t["Value"] for t in tags}


@pytest.mark.terraform
@pytest.mark.slow
def test_two_changes_reviewed_against_one_state_the_second_is_refused_until_reviewed_again(
    environment: Environment,
) -> None:
    reviewed_a = environment.review(A, "a")
    reviewed_b = environment.review(B, "b")
    reviewed_c = environment.review(C, "c")

    # A is merged and applied: its plan now is its review.
    status, complaints = environment.apply(A, reviewed_a, "apply-a")
    assert status == 0, complaints
    assert parameter(environment, "/flow/x") == ("0", {"owner": "team-a"})

    # C, merged after A, changes only y: what it applies is still exactly its review.
    merged_ac = {**A, "y_value": "1"}
    status, complaints = environment.apply(merged_ac, reviewed_c, "apply-c")
    assert status == 0, complaints
    assert parameter(environment, "/flow/y")[0] == "1"

    # B, merged after A and C, changes x, which A changed since B's review: refused.
    merged_abc = {**merged_ac, "x_value": "1"}
    status, complaints = environment.apply(merged_abc, reviewed_b, "apply-b")
    assert status == 1
    assert "refused, nothing applied" in complaints
    assert "aws_ssm_parameter.x: before.tags.owner" in complaints
    assert "aws_ssm_parameter.x: after.tags.owner" in complaints
    assert "get a fresh review" in complaints
    assert parameter(environment, "/flow/x")[0] == "0"

    # A fresh review of the merged code against the current state, then its apply.
    fresh = environment.review(merged_abc, "fresh")
    status, complaints = environment.apply(merged_abc, fresh, "apply-fresh")
    assert status == 0, complaints
    assert parameter(environment, "/flow/x") == ("1", {"owner": "team-a"})


# --- the same logic without Terraform ---------------------------------------------------------


class FakeTerraform:
    """Stands in for terraform.run: ``plan`` writes a plan file, ``show`` prints a given JSON."""

    def __init__(self, shown: str, plan_status: int = 0) -> None:
        self.shown = shown
        self.plan_status = plan_status
        self.calls: list[list[str]] = []

    def __call__(
        self, args: Sequence[str], cwd: Path, **_: Any
    ) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        status, out = 0, ""
        if args[0] == "plan":
            status = self.plan_status
        elif args[0] == "show":
            out = self.shown
        return subprocess.CompletedProcess(list(args), status, out, "")


REAL = SHARED_PLANS / "tfcompliance_test_issue_522.plan.out.json"


def run_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeTerraform, reviewed: Path = REAL
) -> tuple[int, list[str]]:
    monkeypatch.setattr(terraform, "run", fake)
    complaints: list[str] = []
    status = apply_reviewed(
        tmp_path, reviewed, tmp_path / "work", say=lambda _: None, complain=complaints.append
    )
    return status, complaints


def test_a_matching_plan_is_applied_from_its_file_with_the_lock_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTerraform(REAL.read_text())
    status, complaints = run_job(tmp_path, monkeypatch, fake)
    assert status == 0, complaints
    plan_file = str(tmp_path / "work" / "candidate.tfplan")
    assert fake.calls[0][:3] == ["plan", "-input=false", "-lock-timeout=10m"]
    assert fake.calls[-1] == ["apply", "-input=false", "-lock-timeout=10m", plan_file]
    assert not [c for c in fake.calls if "-auto-approve" in c]


def test_a_different_plan_is_never_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(REAL.read_text())
    document["resource_changes"] = document["resource_changes"][1:]
    fake = FakeTerraform(json.dumps(document))
    status, complaints = run_job(tmp_path, monkeypatch, fake)
    assert status == job.EXIT_REFUSED
    assert [c[0] for c in fake.calls] == ["plan", "show"]
    assert any("delete in the review, not in this plan" in line for line in complaints)


def test_a_failed_plan_or_an_unreadable_review_applies_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = FakeTerraform(REAL.read_text(), plan_status=1)
    status, _ = run_job(tmp_path, monkeypatch, failed)
    assert status == 1 and [c[0] for c in failed.calls] == ["plan"]
    untouched = FakeTerraform(REAL.read_text())
    status, complaints = run_job(tmp_path, monkeypatch, untouched, tmp_path / "missing.json")
    assert status == job.EXIT_BAD_INPUT and not untouched.calls
    assert "missing.json does not exist" in complaints[0]
