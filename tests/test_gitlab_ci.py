"""The GitLab pipeline definition: it parses, its apply job applies only what was reviewed, and
its scripts quote what they expand, lock only to apply, and keep sensitive values out of
artifacts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from snowplow_infra import terraform
from snowplow_infra.paths import ENVIRONMENTS_DIR, REPO_ROOT
from tests.test_plan_report import SHARED_PLANS

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


def test_gitlab_ci_local_lists_apply_as_manual_on_the_default_branch_only() -> None:
    on_main = gitlab_ci_local(
        "--list", "--variable", "CI_COMMIT_BRANCH=main", "--variable", "CI_DEFAULT_BRANCH=main"
    )
    assert on_main.returncode == 0, on_main.stderr + on_main.stdout
    rows = {line.split()[0]: line.split() for line in on_main.stdout.splitlines()[1:] if line}
    assert rows["apply"][2] == "manual" and rows["apply"][3] == "false"
    assert "destroy" not in rows
    on_branch = gitlab_ci_local(
        "--list", "--variable", "CI_COMMIT_BRANCH=topic", "--variable", "CI_DEFAULT_BRANCH=main"
    )
    assert on_branch.returncode == 0, on_branch.stderr + on_branch.stdout
    assert "apply" not in {line.split()[0] for line in on_branch.stdout.splitlines()[1:] if line}


def test_stages_run_in_review_order(pipeline: dict[str, Any]) -> None:
    assert pipeline["stages"] == ["build", "test", "policy", "plan", "apply"]


def jobs(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: job
        for name, job in pipeline.items()
        if isinstance(job, dict) and name not in ("workflow", "variables", "default")
    }


def script_lines(job: dict[str, Any]) -> list[str]:
    return [str(line) for key in ("before_script", "script") for line in job.get(key, [])]


def test_apply_is_manual_default_branch_only_and_serialized(pipeline: dict[str, Any]) -> None:
    apply = pipeline["apply"]
    assert apply["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "when": "manual"}]
    assert apply["resource_group"] == "$TF_STATE_NAME"
    assert apply["interruptible"] is False
    variables = pipeline["variables"]
    assert variables["TF_STATE_NAME"] == "$ENVIRONMENT"
    assert (ENVIRONMENTS_DIR / variables["ENVIRONMENT"] / "versions.tf").is_file()
    assert apply["environment"]["name"] == "$ENVIRONMENT"
    needs = {need["job"]: need.get("artifacts", True) for need in apply["needs"]}
    assert needs == {"build": True, "test": False, "policy": False, "plan": False}


def test_apply_applies_only_a_plan_proven_equal_to_the_merge_requests_review(
    pipeline: dict[str, Any],
) -> None:
    script = pipeline["apply"]["script"]
    steps = [line.split()[1] for line in script if line.startswith(".venv/bin/snowplow-infra")]
    assert steps == ["tf", "reviewed-plan", "plan-seal", "apply-reviewed"]
    text = " ".join(script)
    assert "-- init -input=false" in text
    assert "-- apply" not in text and "-- plan" not in text and "auto-approve" not in text
    assert '--lock-timeout "$TF_LOCK_TIMEOUT"' in text
    assert re.fullmatch(r"\d+m", pipeline["variables"]["TF_LOCK_TIMEOUT"])


def test_merge_request_plans_take_no_lock_and_only_apply_writes_state(
    pipeline: dict[str, Any],
) -> None:
    plan = pipeline["plan"]
    planning = [line for line in plan["script"] if "-- plan " in line]
    assert planning and all("-lock=false" in line for line in planning)
    assert plan["interruptible"] is True
    writers = [
        name
        for name, job in jobs(pipeline).items()
        if any(
            re.search(r"-- (apply|destroy|import|state)|apply-reviewed", line)
            for line in script_lines(job)
        )
    ]
    assert writers == ["apply"]
    for name in writers:
        assert pipeline[name]["resource_group"] == "$TF_STATE_NAME"
        assert pipeline[name]["interruptible"] is False


def test_no_destroy_job_and_nothing_allowed_to_fail(pipeline: dict[str, Any]) -> None:
    assert "destroy" not in pipeline
    assert "allow_failure" not in CI_FILE.read_text()


def unquoted_expansions(line: str) -> list[str]:
    """Each `$...` of a shell line outside double quotes (single quotes expand nothing)."""
    found, quote, index = [], "", 0
    while index < len(line):
        char = line[index]
        if char == "\\" and quote != "'":
            index += 2
            continue
        if char in "'\"" and quote in ("", char):
            quote = "" if quote == char else char
        elif char == "$" and quote == "" and index + 1 < len(line):
            found.append(line[index : index + 12])
        index += 1
    return found


@pytest.mark.parametrize(
    ("line", "unquoted"),
    [
        ('echo "$A" "${B:-x}"', []),
        ("echo '$A'", []),
        ("echo $A", ["$A"]),
        ('echo "$A"$B', ["$B"]),
        ('gate="$?" || exit "${gate:-0}"', []),
        (r"echo \$A", []),
    ],
)
def test_the_unquoted_expansion_finder(line: str, unquoted: list[str]) -> None:
    assert unquoted_expansions(line) == unquoted


def test_no_script_expands_a_variable_unquoted(pipeline: dict[str, Any]) -> None:
    unquoted = {
        name: found
        for name, job in jobs(pipeline).items()
        if (found := [u for line in script_lines(job) for u in unquoted_expansions(line)])
    }
    assert not unquoted, f"unquoted expansions (word splitting, globbing): {unquoted}"


def test_destroys_are_approved_in_a_reviewed_file_not_a_pipeline_variable(
    pipeline: dict[str, Any],
) -> None:
    text = CI_FILE.read_text()
    assert "ALLOW_DESTROY " not in text and "ALLOW_DESTROY:-" not in text
    allow_file = pipeline["variables"]["ALLOW_DESTROY_FILE"]
    assert allow_file == "terraform/environments/${ENVIRONMENT}/allow-destroy.txt"
    path = REPO_ROOT / allow_file.replace("${ENVIRONMENT}", pipeline["variables"]["ENVIRONMENT"])
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert not "".join(lines).strip(), f"{path} must be empty on the default branch"
    assert '--allow-destroy-file "$ALLOW_DESTROY_FILE"' in " ".join(pipeline["plan"]["script"])


def test_state_is_configured_by_environment_never_frozen_into_the_plan(
    pipeline: dict[str, Any],
) -> None:
    scripts = [line for job in jobs(pipeline).values() for line in script_lines(job)]
    assert scripts and not [line for line in scripts if "-backend-config" in line]
    assert pipeline["variables"]["TF_HTTP_PASSWORD"] == "${CI_JOB_TOKEN}"


def test_aws_access_is_oidc_only(pipeline: dict[str, Any]) -> None:
    text = CI_FILE.read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    aws = pipeline[".aws"]
    assert "aud" in aws["id_tokens"]["AWS_ID_TOKEN"]
    assert "AWS_WEB_IDENTITY_TOKEN_FILE" in aws["variables"]
    for job in ("plan", "apply"):
        assert pipeline[job]["extends"] == ".aws"
        assert pipeline[job]["variables"]["AWS_ROLE_ARN"].startswith("$AWS_")


def test_plan_artifacts_hold_no_sensitive_value_in_clear(pipeline: dict[str, Any]) -> None:
    plan = pipeline["plan"]
    artifacts = plan["artifacts"]
    assert artifacts["access"] == "developer"
    assert artifacts["reports"]["terraform"] == "build/plan/gitlab-report.json"
    assert artifacts["paths"] == [
        "build/plan/",
        "build/reports/plan_results_junitxml.xml",
        "build/reports/plan_results_gitlab_sast.json",
    ]
    variables = pipeline["variables"]
    assert variables["PLAN_DIR"] == "$CI_PROJECT_DIR/build/plan"
    assert variables["PLAN_PRIVATE_DIR"] == "$CI_PROJECT_DIR/build/plan-private"
    text = " ".join(plan["script"])
    # The binary plan and its full JSON are written only outside the artifacts...
    assert not re.search(r'PLAN_DIR/tfplan(\.json)?"', text)
    assert '-out="$PLAN_PRIVATE_DIR/tfplan"' in text
    assert '> "$PLAN_PRIVATE_DIR/tfplan.json"' in text
    # ...and the JSON reaches them only sealed.
    assert 'plan-seal seal "$PLAN_PRIVATE_DIR/tfplan.json" "$PLAN_DIR/tfplan.json.sealed"' in text
    cached = [p for entry in pipeline["default"]["cache"] for p in entry["paths"]]
    assert not [p for p in cached if p.startswith("build/plan") or p.startswith("build/apply")]
    assert "artifacts" not in pipeline["apply"]


def test_the_reviewed_plan_outlives_the_wait_for_its_apply(pipeline: dict[str, Any]) -> None:
    expiry = pipeline["plan"]["artifacts"]["expire_in"]
    assert expiry == "30 days"
    # apply plans from the build job's artifacts of its own pipeline: they must last as long.
    assert pipeline["build"]["artifacts"]["expire_in"] == expiry
    assert "30 days" in (REPO_ROOT / "docs" / "ci.md").read_text()


def test_the_image_is_pinned_by_digest(pipeline: dict[str, Any]) -> None:
    images = [pipeline["default"]["image"]] + [
        job["image"] for job in jobs(pipeline).values() if "image" in job
    ]
    for image in images:
        assert re.fullmatch(r"[a-z0-9./-]+:\d+\.\d+\.\d+[a-z0-9.-]*@sha256:[0-9a-f]{64}", image), (
            f"{image} is not pinned to a version and a digest"
        )
    assert pipeline["variables"]["TERRAFORM_VERSION"].startswith("1.11.")


def test_terraforms_apt_key_is_checked_by_fingerprint() -> None:
    prepare = (REPO_ROOT / ".ci" / "gitlab-prepare").read_text()
    assert "HASHICORP_KEY_FINGERPRINT=798AEC654E5C15428C8E42EEAA16FCBCA621E701" in prepare
    download = prepare.index("https://apt.releases.hashicorp.com/gpg")
    check = prepare.index('.ci/check-key-fingerprint "$key" "$HASHICORP_KEY_FINGERPRINT"')
    trust = prepare.index("/usr/share/keyrings/hashicorp.gpg")
    assert download < check < trust


def test_no_ci_script_can_die_of_sigpipe() -> None:
    files = [CI_FILE, *sorted((REPO_ROOT / ".ci").iterdir())]
    for path in files:
        code = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
        piped = [line for line in code if re.search(r"\|\s*head\b", line)]
        assert not piped, f"{path} pipes into head: {piped}"


@pytest.fixture
def gnupg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    return home


def make_key(name: str, gnupg_home: Path, output: Path) -> str:
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            f"{name} <{name}@example.com>",
            "ed25519",
            "sign",
            "never",
        ],
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        ["gpg", "--with-colons", "--list-keys", f"{name}@example.com"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr")
    )
    exported = subprocess.run(
        ["gpg", "--armor", "--export", f"{name}@example.com"], check=True, capture_output=True
    ).stdout
    output.write_bytes(exported)
    return fingerprint


def check_key(key: Path, fingerprint: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO_ROOT / ".ci" / "check-key-fingerprint"), str(key), fingerprint],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_key_is_trusted_only_with_its_exact_fingerprint(gnupg_home: Path, tmp_path: Path) -> None:
    key = tmp_path / "key.asc"
    fingerprint = make_key("signer", gnupg_home, key)
    spaced = " ".join(fingerprint[i : i + 4] for i in range(0, 40, 4)).lower()
    assert check_key(key, spaced).returncode == 0
    other = check_key(key, "798AEC654E5C15428C8E42EEAA16FCBCA621E701")
    assert other.returncode == 1 and fingerprint in other.stderr
    two = tmp_path / "two.asc"
    make_key("intruder", gnupg_home, tmp_path / "intruder.asc")
    two.write_bytes(key.read_bytes() + (tmp_path / "intruder.asc").read_bytes())
    assert check_key(two, fingerprint).returncode == 1
    junk = tmp_path / "junk"
    junk.write_text("not a key")
    assert "not an OpenPGP key" in check_key(junk, fingerprint).stderr


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


CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.mark.slow
@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov is not installed (make setup)")
def test_the_plan_jobs_policy_reports_carry_no_planned_value(
    pipeline: dict[str, Any], tmp_path: Path
) -> None:
    """checkov's JSON report copies each resource's planned values (sensitive ones included), so
    the plan job uploads only the JUnit and SAST reports; this proves both halves."""
    marker = "sensitive-marker-4e1f9b"
    document = json.loads((SHARED_PLANS / "tfcompliance_test_issue_522.plan.out.json").read_text())
    planned = document["planned_values"]["root_module"]["resources"]
    values = [c["change"]["after"] for c in document["resource_changes"]] + [
        r.get("values") for r in planned
    ]
    for value in values:
        if (
            value
            and value.get("function_name") == "metrics-lambda-primary-lambda"
            and ("environment" in value)
        ):
            value["environment"][0]["variables"]["EVENT_BUS_ARN"] = marker
    plan = tmp_path / "tfplan.json"
    plan.write_text(json.dumps(document))
    reports = tmp_path / "reports"
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "policy",
            "POLICY_DIR=",
            f"POLICY_PLAN={plan}",
            f"POLICY_REPORTS={reports}",
            f"POLICY_PLAN_ROOT={tmp_path}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert marker in (reports / "plan_results_json.json").read_text()
    uploaded = [p for p in pipeline["plan"]["artifacts"]["paths"] if p.startswith("build/reports/")]
    assert uploaded
    for path in uploaded:
        report = reports / Path(path).name
        assert report.is_file(), f"make policy wrote no {report.name}"
        assert marker not in report.read_text(), f"{path} carries a planned value"
