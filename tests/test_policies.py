"""The custom checkov checks in policies/, run the one way the project runs checkov: `make policy`.

Each check has a passing and a failing fixture under tests/policies/fixtures/ (see its README):
scanned as Terraform files, and planned together into one plan JSON that is scanned too. A
resource's name says what each scan must report for it. checkov runs from .venv-checkov in a
subprocess: it cannot be imported into .venv (its vendored hcl2 fork clashes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from snowplow_infra import pipeline, terraform
from snowplow_infra.paths import CHECKOV_BINARY, REPO_ROOT
from snowplow_infra.plan import PlanResult

FIXTURES = REPO_ROOT / "tests" / "policies" / "fixtures"
CHECKS = {
    "privacy": ("CKV_SNOWPLOW_1", "aws_kinesis_firehose_delivery_stream"),
    "error_prefix": ("CKV_SNOWPLOW_2", "aws_kinesis_firehose_delivery_stream"),
    "s3": ("CKV_SNOWPLOW_3", "aws_s3_bucket"),
    "kinesis": ("CKV_SNOWPLOW_4", "aws_kinesis_stream"),
    "lambda": ("CKV_SNOWPLOW_5", "aws_lambda_function"),
    "imdsv2": ("CKV_SNOWPLOW_6", "aws_launch_template"),
}
# Checks that need other resources of the plan and report nothing for .tf files.
PLAN_ONLY = {"CKV_SNOWPLOW_3"}
FOLDERS = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.glob("*/*") if p.is_dir())
PROVIDER = """
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "fixture"
  secret_key                  = "fixture"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}
"""

pytestmark = [
    pytest.mark.skipif(
        not CHECKOV_BINARY.is_file(), reason="checkov is not installed: run make setup"
    ),
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
]


@dataclass(frozen=True)
class Result:
    check_id: str
    address: str
    result: str
    details: tuple[str, ...]
    file_path: str

    @property
    def name(self) -> str:
        """The resource name: the last step of the address, without an instance key."""
        return self.address.rsplit(".", 1)[-1].split("[")[0]


@dataclass(frozen=True)
class PolicyRun:
    returncode: int
    output: str
    reports: Path

    def results(self, prefix: str = "") -> list[Result]:
        """Every record of the JSON report (``prefix`` "plan_" for the plan scan)."""
        document = json.loads((self.reports / f"{prefix}results_json.json").read_text())
        found = []
        for report in document if isinstance(document, list) else [document]:
            for key in ("passed_checks", "failed_checks", "skipped_checks"):
                for record in report["results"].get(key, []):
                    found.append(
                        Result(
                            record["check_id"],
                            record["resource"],
                            record["check_result"]["result"],
                            tuple(record.get("details") or ()),
                            record["file_path"].lstrip("/"),
                        )
                    )
        return found


def make_policy(reports: Path, *, fixture_names: bool = True, **variables: str) -> PolicyRun:
    """`make policy` with POLICY_* overrides and reports in ``reports``; names from the fixtures'
    pipeline.yaml unless ``fixture_names`` is False (then the environments' own)."""
    assignments = [f"POLICY_{k.upper()}={v}" for k, v in variables.items()]
    environment = {k: v for k, v in os.environ.items() if k != "SNOWPLOW_PIPELINE_YAML"}
    if fixture_names:
        environment["SNOWPLOW_PIPELINE_YAML"] = str(FIXTURES / "pipeline.yaml")
    result = subprocess.run(
        ["make", "--no-print-directory", "policy", f"POLICY_REPORTS={reports}", *assignments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    return PolicyRun(result.returncode, result.stdout + result.stderr, reports)


def plan_fixtures(folder: Path) -> Path:
    """Plan every fixture folder as a module of one root (no AWS calls); return the JSON path."""
    calls = "".join(
        f'\nmodule "{name.replace("/", "_")}" {{\n  source = "{FIXTURES / name}"\n}}\n'
        for name in FOLDERS
    )
    (folder / "main.tf").write_text(PROVIDER + calls)
    terraform.init(folder)
    terraform.run(["plan", "-input=false", "-no-color", "-out=tfplan"], folder, capture=True)
    shown = terraform.run(["show", "-json", "tfplan"], folder, capture=True)
    (folder / "tfplan.json").write_text(shown.stdout)
    return folder / "tfplan.json"


@pytest.fixture(scope="session")
def fixture_run(tmp_path_factory: pytest.TempPathFactory) -> PolicyRun:
    """`make policy` over every fixture folder and their plan, custom checks only."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH; the fixture plan needs it")
    root = tmp_path_factory.mktemp("policy-fixtures")
    plan = plan_fixtures(root)
    return make_policy(
        tmp_path_factory.mktemp("reports"),
        dir=str(FIXTURES),
        plan=str(plan),
        plan_root=str(root),
        checks=",".join(check for check, _ in CHECKS.values()),
    )


def declared(folder: str, resource_type: str) -> set[str]:
    """Names of the resources of a type declared in a fixture folder (and its submodules)."""
    pattern = re.compile(rf'^resource "{resource_type}" "(\w+)"', re.MULTILINE)
    return {
        name
        for path in (FIXTURES / folder).rglob("*.tf")
        for name in pattern.findall(path.read_text())
    }


def expected(name: str, scan: str) -> str:
    if name.startswith("skip_"):
        return "SKIPPED"
    if name.startswith("fail_in_plan_"):
        return "FAILED" if scan == "plan" else "PASSED"
    return "FAILED" if name.startswith("fail_") else "PASSED"


def in_folder(results: list[Result], folder: str, scan: str) -> Iterator[Result]:
    """Records of the resources of one fixture folder: by module in the plan, by file otherwise."""
    module = "module." + folder.replace("/", "_") + "."
    for result in results:
        if (
            result.address.startswith(module)
            if scan == "plan"
            else result.file_path.startswith(folder + "/")
        ):
            yield result


# --- the checks pass and fail where they should --------------------------------------------


def test_the_fixtures_cover_every_check_with_a_pass_and_a_fail_folder() -> None:
    for folder, (_, resource_type) in CHECKS.items():
        assert {"pass", "fail"} <= {p.name for p in (FIXTURES / folder).iterdir() if p.is_dir()}
        assert all(n.startswith("pass_") for n in declared(f"{folder}/pass", resource_type))
        assert any(n.startswith("fail_") for n in declared(f"{folder}/fail", resource_type))


@pytest.mark.terraform
@pytest.mark.slow
@pytest.mark.parametrize("scan", ["tf", "plan"])
@pytest.mark.parametrize("folder", FOLDERS)
def test_each_check_reports_what_the_fixture_names_say(
    fixture_run: PolicyRun, folder: str, scan: str
) -> None:
    check_id, resource_type = CHECKS[folder.split("/", maxsplit=1)[0]]
    results = fixture_run.results("plan_" if scan == "plan" else "")
    reported = {
        r.name: r.result
        for r in in_folder(results, folder, scan)
        if r.check_id == check_id and r.address.split(".")[-2].startswith(resource_type)
    }
    names = {
        n for n in declared(folder, resource_type) if n.startswith(("pass_", "fail_", "skip_"))
    }
    if scan == "tf" and check_id in PLAN_ONLY:
        names = {n for n in names if n.startswith("skip_")}
    assert reported == {name: expected(name, scan) for name in names}


@pytest.mark.terraform
@pytest.mark.slow
def test_failing_fixtures_fail_make_policy_and_write_every_report(fixture_run: PolicyRun) -> None:
    assert fixture_run.returncode != 0
    assert "could not evaluate" not in fixture_run.output
    assert "Cannot load external check" not in fixture_run.output
    for prefix in ("", "plan_"):
        junit_path = fixture_run.reports / f"{prefix}results_junitxml.xml"
        junit = ElementTree.parse(junit_path)  # noqa: S314 (written by our own checkov run)
        assert int(junit.getroot().get("failures", "0")) > 0
        sast = json.loads((fixture_run.reports / f"{prefix}results_gitlab_sast.json").read_text())
        found = {i["value"] for v in sast["vulnerabilities"] for i in v["identifiers"]}
        assert {check for check, _ in CHECKS.values()} - PLAN_ONLY <= found | PLAN_ONLY
        assert sast["scan"]["status"] == "success"


def details_of(run: PolicyRun, prefix: str, check_id: str, name: str) -> str:
    matches = [r for r in run.results(prefix) if r.check_id == check_id and r.name == name]
    assert matches, f"no {check_id} result for {name}"
    return " ".join(matches[0].details)


@pytest.mark.terraform
@pytest.mark.slow
def test_failures_say_what_is_wrong(fixture_run: PolicyRun) -> None:
    privacy = "CKV_SNOWPLOW_1"
    text = details_of(fixture_run, "", privacy, "fail_other_function")
    assert "runs fixture-passthrough" in text
    assert "fixture-pseudonymize-bad-rows, fixture-pseudonymize-enriched" in text
    text = details_of(fixture_run, "plan_", privacy, "fail_in_plan_other_function_reference")
    assert (
        "runs fixture-passthrough (via module.privacy_fail.aws_lambda_function.passthrough" in text
    )
    assert "enabled is False, not true" in details_of(fixture_run, "", privacy, "fail_disabled")
    text = details_of(fixture_run, "plan_", privacy, "pass_via_module_variable")
    assert "(via module.privacy_pass.module.delivery.var.lambda_arn" in text
    text = details_of(
        fixture_run, "plan_", "CKV_SNOWPLOW_2", "fail_in_plan_inside_other_stream_prefix"
    )
    assert "'archive/errors/' overlaps 'archive/'" in text
    text = details_of(fixture_run, "plan_", "CKV_SNOWPLOW_3", "fail_partial_public_access_block")
    assert "does not set restrict_public_buckets to true" in text
    text = details_of(fixture_run, "plan_", "CKV_SNOWPLOW_3", "pass_log_sink")
    assert "SSE-S3 accepted" in text
    text = details_of(fixture_run, "", "CKV_SNOWPLOW_5", "fail_literal_salt")
    assert "PSEUDONYMIZATION_SALT hold a literal value" in text
    assert "fixture-not-a-real-salt" not in text
    text = details_of(fixture_run, "plan_", "CKV_SNOWPLOW_5", "fail_in_plan_no_log_group")
    assert "No aws_cloudwatch_log_group named /aws/lambda/fixture-no-log-group" in text


# --- make policy -------------------------------------------------------------------------------


@pytest.mark.slow
def test_make_policy_passes_a_passing_folder_without_a_plan(tmp_path: Path) -> None:
    run = make_policy(
        tmp_path,
        dir=str(FIXTURES / "kinesis" / "pass"),
        plan=str(tmp_path / "absent.json"),
        checks="CKV_SNOWPLOW_4",
    )
    assert run.returncode == 0, run.output
    assert "so the plan is not checked" in run.output
    assert [r.result for r in run.results()] == ["PASSED", "PASSED"]
    assert not (tmp_path / "plan_results_json.json").exists()


@pytest.mark.slow
def test_make_policy_fails_on_a_failed_built_in_check(tmp_path: Path) -> None:
    """Built-in checks run too: an unencrypted stream fails checkov's CKV_AWS_43 as well."""
    run = make_policy(tmp_path, dir=str(FIXTURES / "kinesis" / "fail"), plan="")
    assert run.returncode != 0
    failed = {(r.check_id, r.name) for r in run.results() if r.result == "FAILED"}
    assert ("CKV_AWS_43", "fail_unencrypted") in failed


def test_make_policy_refuses_to_scan_nothing(tmp_path: Path) -> None:
    run = make_policy(tmp_path, dir="", plan=str(tmp_path / "absent.json"))
    assert run.returncode != 0
    assert "nothing to scan" in run.output


# --- the project's own plan ------------------------------------------------------------------


@pytest.mark.terraform
@pytest.mark.slow
def test_the_project_plan_passes_every_policy(environment_plan: PlanResult, tmp_path: Path) -> None:
    """Built-in and custom checks on aws-snowplow's plan, as `make policy` after `make plan`."""
    run = make_policy(tmp_path, fixture_names=False, dir="", plan=str(environment_plan.json_path))
    results = run.results("plan_")
    failed = [
        f"{r.check_id} {r.address}: {' '.join(r.details)}" for r in results if r.result == "FAILED"
    ]
    assert failed == []
    assert run.returncode == 0, run.output[-3000:]
    custom = [r for r in results if r.check_id.startswith("CKV_SNOWPLOW_")]
    assert {r.check_id for r in custom} == {check for check, _ in CHECKS.values()}
    assert all(r.result in ("PASSED", "SKIPPED") for r in custom)
    privacy = [r for r in custom if r.check_id == "CKV_SNOWPLOW_1"]
    assert len(privacy) == 3  # the enriched-good, enriched-bad and raw-bad delivery streams
    for result in privacy:
        assert "The Lambda processor runs snowplow-pseudonymize-" in " ".join(result.details)


# --- the helpers the checks share (plain Python, importable without checkov) -----------------


def support() -> ModuleType:
    """policies/snowplow_policy_support.py, loaded the way checkov loads it (by file)."""
    path = REPO_ROOT / "policies" / "snowplow_policy_support.py"
    spec = importlib.util.spec_from_file_location("snowplow_policy_support", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_names_come_from_every_environment_pipeline_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SNOWPLOW_PIPELINE_YAML", raising=False)
    helpers = support()
    names: Any = helpers.pipeline_names()
    assert (
        REPO_ROOT / "terraform/environments/aws-snowplow/pipeline.yaml"
    ).as_posix() in names.sources
    assert "snowplow-pseudonymize-enriched" in names.pseudonymization_functions
    assert {"output/", "enriched-bad/", "raw-bad/"} <= names.read_prefixes
    assert names.problems == ()


def test_an_unreadable_pipeline_yaml_is_a_problem_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "pipeline.yaml"
    broken.write_text("delivery: [unclosed")
    monkeypatch.setenv("SNOWPLOW_PIPELINE_YAML", str(broken))
    names: Any = support().pipeline_names()
    assert names.pseudonymization_functions == frozenset()
    assert str(broken) in names.problems[0]


def test_a_pipeline_yaml_the_tooling_refuses_is_a_problem_with_the_toolings_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = yaml.safe_load((FIXTURES / "pipeline.yaml").read_text())
    document["pseudonymization"]["functions"]["enriched"] = "not a function name"
    invalid = tmp_path / "pipeline.yaml"
    invalid.write_text(yaml.safe_dump(document))
    monkeypatch.setenv(
        "SNOWPLOW_PIPELINE_YAML", f"{FIXTURES / 'pipeline.yaml'}{os.pathsep}{invalid}"
    )
    names: Any = support().pipeline_names()
    with pytest.raises(pipeline.PipelineError) as raised:
        pipeline.load_file(invalid)
    assert names.problems == (str(raised.value),)
    assert "key `pseudonymization.functions.enriched` must be a Lambda function name" in str(
        raised.value
    )
    assert "fixture-pseudonymize-bad-rows" in names.pseudonymization_functions  # the valid file


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:lambda:us-east-1:123456789012:function:pseudonymize", "pseudonymize"),
        ("arn:aws:lambda:us-east-1:123456789012:function:pseudonymize:$LATEST", "pseudonymize"),
        ("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:prod", "f"),
        ("arn:aws:s3:::bucket", None),
        ("true_after_unknown", None),
    ],
)
def test_lambda_function_name_reads_qualified_and_unqualified_arns(
    arn: str, name: str | None
) -> None:
    assert support().lambda_function_name(arn) == name
