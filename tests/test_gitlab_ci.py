"""The GitLab pipeline definition: it parses, and its apply job applies only what was reviewed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from snowplow_infra import terraform
from snowplow_infra.paths import ENVIRONMENTS_DIR, REPO_ROOT

CI_FILE = REPO_ROOT / ".gitlab-ci.yml"
GITLAB_CI_LOCAL = REPO_ROOT / "node_modules" / ".bin" / "gitlab-ci-local"
needs_gitlab_ci_local = pytest.mark.skipif(
    not GITLAB_CI_LOCAL.is_file(),
    reason="gitlab-ci-local is not installed: it needs Node.js and npm (make setup installs it "
    "into node_modules when npm is available)",
)


@pytest.fixture(scope="module")
def pipeline() -> dict[str, Any]:
    return dict(yaml.safe_load(CI_FILE.read_text()))


def gitlab_ci_local(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GITLAB_CI_LOCAL), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@needs_gitlab_ci_local
def test_gitlab_ci_local_validates_and_lists_every_job() -> None:
    preview = gitlab_ci_local("--preview")
    assert preview.returncode == 0, preview.stderr + preview.stdout
    listed = gitlab_ci_local("--list", "--variable", "CI_DEFAULT_BRANCH=main")
    assert listed.returncode == 0, listed.stderr + listed.stdout
    assert "json schema validated" in listed.stdout + listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:] if line}
    assert {"build", "test", "policy", "plan"} <= rows.keys()
    assert rows["plan"][1] == "plan"


def test_stages_run_in_review_order(pipeline: dict[str, Any]) -> None:
    assert pipeline["stages"] == ["build", "test", "policy", "plan", "apply", "destroy"]


def test_apply_is_manual_default_branch_only_and_serialized(pipeline: dict[str, Any]) -> None:
    apply = pipeline["apply"]
    assert apply["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "when": "manual"}]
    assert apply["resource_group"] == "$TF_STATE_NAME"
    variables = pipeline["variables"]
    assert variables["TF_STATE_NAME"] == "$ENVIRONMENT"
    assert (ENVIRONMENTS_DIR / variables["ENVIRONMENT"] / "versions.tf").is_file()
    assert apply["environment"]["name"] == "$ENVIRONMENT"
    assert "plan" in apply["needs"]


def test_apply_applies_the_saved_plan_and_never_plans_again(pipeline: dict[str, Any]) -> None:
    script = " ".join(pipeline["apply"]["script"])
    assert re.search(r'-- apply -input=false "\$PLAN_DIR/tfplan"', script)
    assert "-- plan" not in script
    assert "auto-approve" not in script


def test_destroy_is_manual_and_serialized(pipeline: dict[str, Any]) -> None:
    destroy = pipeline["destroy"]
    assert destroy["rules"][0]["when"] == "manual"
    assert destroy["resource_group"] == "$TF_STATE_NAME"
    assert destroy["environment"]["action"] == "stop"


def test_state_is_configured_by_environment_never_frozen_into_the_plan(
    pipeline: dict[str, Any],
) -> None:
    scripts = [
        line
        for job in pipeline.values()
        if isinstance(job, dict)
        for key in ("before_script", "script")
        for line in job.get(key, [])
    ]
    assert scripts and not [line for line in scripts if "-backend-config" in line]
    assert pipeline["variables"]["TF_HTTP_PASSWORD"] == "${CI_JOB_TOKEN}"


def test_aws_access_is_oidc_only(pipeline: dict[str, Any]) -> None:
    text = CI_FILE.read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    aws = pipeline[".aws"]
    assert "aud" in aws["id_tokens"]["AWS_ID_TOKEN"]
    assert "AWS_WEB_IDENTITY_TOKEN_FILE" in aws["variables"]
    for job in ("plan", "apply", "destroy"):
        assert pipeline[job]["extends"] == ".aws"
        assert pipeline[job]["variables"]["AWS_ROLE_ARN"].startswith("$AWS_")


def test_plan_artifacts_are_private_and_feed_the_widget(pipeline: dict[str, Any]) -> None:
    artifacts = pipeline["plan"]["artifacts"]
    assert artifacts["access"] == "developer"
    assert artifacts["reports"]["terraform"] == "build/plan/gitlab-report.json"


def test_images_are_pinned_to_a_version(pipeline: dict[str, Any]) -> None:
    images = [pipeline["default"]["image"]] + [
        job["image"] for job in pipeline.values() if isinstance(job, dict) and "image" in job
    ]
    for image in images:
        tag = str(image).partition(":")[2]
        assert re.match(r"\d+\.\d+\.\d+", tag), f"{image} is not pinned to a version"
    assert pipeline["variables"]["TERRAFORM_VERSION"].startswith("1.11.")


def test_no_duplicate_branch_and_merge_request_pipelines(pipeline: dict[str, Any]) -> None:
    rules = pipeline["workflow"]["rules"]
    assert rules[0] == {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}
    assert rules[1] == {"if": "$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS", "when": "never"}


@pytest.mark.terraform
def test_terraform_refuses_a_saved_plan_when_the_state_moved(tmp_path: Path) -> None:
    """The apply job relies on this: a plan saved before someone else applied is stale."""
    (tmp_path / "main.tf").write_text(
        'variable "v" {\n  type = string\n}\n'
        'resource "terraform_data" "this" {\n  input = var.v\n}\n'
    )
    terraform.run(["init", "-input=false"], tmp_path, capture=True)
    terraform.run(
        ["plan", "-input=false", "-var=v=reviewed", "-out=reviewed.tfplan"], tmp_path, capture=True
    )
    terraform.run(
        ["apply", "-input=false", "-auto-approve", "-var=v=other"], tmp_path, capture=True
    )
    stale = terraform.run(
        ["apply", "-input=false", "reviewed.tfplan"], tmp_path, capture=True, check=False
    )
    assert stale.returncode != 0
    assert "Saved plan is stale" in stale.stderr
