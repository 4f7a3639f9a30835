"""`snowplow-infra plan-report`: widget counts, the Markdown review, the protection gate."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from snowplow_infra.plan import PlanResult
from snowplow_infra.plan_report import iam
from snowplow_infra.plan_report.entries import code, review_of
from snowplow_infra.plan_report.markdown import render_review
from snowplow_infra.plan_report.plan import PlanError, module_of, parse_plan
from snowplow_infra.plan_report.protection import PROTECTED_TYPES, evaluate
from tests.conftest import cli_path

# Real plans from public projects, copied unchanged with their sources (SOURCES.md).
SHARED_PLANS = Path(__file__).resolve().parent / "fixtures" / "plans"
GITLAB_JQ = (
    '([.resource_changes[]?.change.actions?]|flatten)|{"create":(map(select(.=="create"))|length),'
    '"update":(map(select(.=="update"))|length),"delete":(map(select(.=="delete"))|length)}'
)
STREAM = 'module.stream["raw_good"].aws_kinesis_stream.this'


def shared_plan_counts() -> list[tuple[str, dict[str, int]]]:
    """(file, widget counts) for each plan SOURCES.md lists, read from its table."""
    sources = SHARED_PLANS / "SOURCES.md"
    rows = []
    for line in sources.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"(\d+)/(\d+)/(\d+)", cells[-1]) if len(cells) > 1 else None
        if match and cells[0].endswith(".json"):
            create, update, delete = (int(n) for n in match.groups())
            rows.append((cells[0], {"create": create, "update": update, "delete": delete}))
    return rows


def resource_change(
    address: str,
    actions: list[str],
    before: Any = None,
    after: Any = None,
    **change: Any,
) -> dict[str, Any]:
    """A resource_changes entry as `terraform show -json` writes it."""
    module = module_of(address)
    local = address[len(module) + 1 :] if module else address
    mode = "data" if local.startswith("data.") else "managed"
    resource_type, name = local.removeprefix("data.").split("[")[0].split(".")
    top = {
        k: change.pop(k) for k in ("action_reason", "deposed", "previous_address") if k in change
    }
    entry: dict[str, Any] = {
        **top,
        "address": address,
        "mode": mode,
        "type": resource_type,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": change.pop("after_unknown", {}),
            "before_sensitive": change.pop("before_sensitive", {} if before is not None else False),
            "after_sensitive": change.pop("after_sensitive", {} if after is not None else False),
            **change,
        },
    }
    if module:
        entry["module_address"] = module
    return entry


def plan_document(*changes: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {}},
        "resource_changes": list(changes),
        **top,
    }


def write_plan(tmp_path: Path, document: Any, name: str = "tfplan.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def review_text(document: dict[str, Any], *, gate: bool = False, **options: Any) -> str:
    """The Markdown review of a plan document (with the protection gate when ``gate``)."""
    review = review_of(document)
    return render_review(review, evaluate(review.plan) if gate else None, **options)


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cli_path()), "plan-report", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


REPLACE_STREAM = resource_change(
    STREAM,
    ["delete", "create"],
    before={"name": "snowplow-raw-good", "shard_count": 1, "arn": "arn:aws:kinesis:1"},
    after={"name": "snowplow-raw-good-v2", "shard_count": 1},
    after_unknown={"arn": True},
    replace_paths=[["name"]],
    action_reason="replace_because_cannot_update",
)


# --- widget counts --------------------------------------------------------------------------


def test_sources_md_lists_the_shared_plans() -> None:
    assert len(shared_plan_counts()) >= 2


@pytest.mark.parametrize(("name", "expected"), shared_plan_counts())
def test_widget_counts_of_real_plans_match_sources_md(
    tmp_path: Path, name: str, expected: dict[str, int]
) -> None:
    report = tmp_path / "gitlab.json"
    result = run_cli(SHARED_PLANS / name, "--gitlab-report", report)
    assert result.returncode == 0, result.stderr
    assert report.read_text() == json.dumps(expected) + "\n"
    assert all(type(n) is int for n in json.loads(report.read_text()).values())


def test_a_replace_counts_one_create_and_one_delete_and_read_noop_forget_count_nothing(
    tmp_path: Path,
) -> None:
    document = plan_document(
        resource_change("aws_iam_role.a", ["delete", "create"], {}, {}),
        resource_change("aws_iam_role.b", ["create", "delete"], {}, {}),
        resource_change("aws_iam_role.c", ["create"], None, {}),
        resource_change("aws_iam_role.d", ["update"], {}, {}),
        resource_change("aws_iam_role.e", ["delete"], {}, None),
        resource_change("aws_iam_role.f", ["no-op"], {}, {}),
        resource_change("aws_iam_role.g", ["forget"], {}, None),
        resource_change("aws_iam_role.h", ["create", "forget"], {}, {}),
        resource_change("data.aws_region.current", ["read"], None, {}),
        resource_drift=[resource_change("aws_iam_role.d", ["update"], {}, {})],
    )
    report = tmp_path / "gitlab.json"
    assert run_cli(write_plan(tmp_path, document), "--gitlab-report", report).returncode == 0
    assert json.loads(report.read_text()) == {"create": 4, "update": 1, "delete": 3}


def test_a_plan_without_resource_changes_counts_zero(tmp_path: Path) -> None:
    document = plan_document()
    del document["resource_changes"]
    report = tmp_path / "gitlab.json"
    assert run_cli(write_plan(tmp_path, document), "--gitlab-report", report).returncode == 0
    assert json.loads(report.read_text()) == {"create": 0, "update": 0, "delete": 0}


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_counts_equal_gitlab_documented_jq(tmp_path: Path) -> None:
    plans = [SHARED_PLANS / name for name, _ in shared_plan_counts()]
    plans.append(write_plan(tmp_path, plan_document(REPLACE_STREAM), "synthetic.json"))
    for plan in plans:
        report = tmp_path / f"{plan.stem}.gitlab.json"
        assert run_cli(plan, "--gitlab-report", report, "--allow-destroy", STREAM).returncode == 0
        jq = subprocess.run(["jq", "-c", GITLAB_JQ, str(plan)], capture_output=True, check=True)
        assert json.loads(report.read_text()) == json.loads(jq.stdout), plan.name


@pytest.mark.terraform
@pytest.mark.slow
def test_the_project_plan_creates_every_resource_and_passes_the_gate(
    environment_plan: PlanResult, tmp_path: Path
) -> None:
    """aws-snowplow planned on an empty state: every managed resource is a create, nothing else."""
    report, review = tmp_path / "gitlab.json", tmp_path / "review.md"
    result = run_cli(environment_plan.json_path, "--gitlab-report", report, "--markdown", review)
    assert result.returncode == 0, result.stderr
    managed = [c for c in environment_plan.plan["resource_changes"] if c["mode"] == "managed"]
    assert len(managed) > 50
    assert json.loads(report.read_text()) == {"create": len(managed), "update": 0, "delete": 0}
    text = review.read_text()
    assert f"**Plan: {len(managed)} to create, 0 to update, 0 to delete.**" in text
    assert "Protection gate: passed" in text
    assert '`module.delivery["raw_bad"]`' in text or "module.delivery[&quot;raw_bad&quot;]" in text


# --- reading the input ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.1", "0.2", "1.0", "1.1", "1.2", "1.7"])
def test_reads_every_format_version_of_major_0_and_1(version: str) -> None:
    plan = parse_plan(plan_document(REPLACE_STREAM, format_version=version))
    assert plan.resource_changes[0].kind == "replace"


def test_reads_terraform_1_0_drift_entries_that_have_no_address() -> None:
    drift = resource_change('module.a["x"].aws_sqs_queue.q', ["update"], {"n": 1}, {"n": 2})
    del drift["address"]
    plan = parse_plan(plan_document(resource_drift=[drift], format_version="0.1"))
    assert plan.resource_drift[0].address == 'module.a["x"].aws_sqs_queue.q'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format_version": "1.2", "resource_changes": [', "is not valid JSON: Expecting"),
        ("", "is empty"),
        ("[1, 2]", "holds a JSON array, not a Terraform plan"),
        ('{"terraform_version": "1.11.4"}', "has no format_version"),
        ('{"format_version": 1.2, "planned_values": {}}', 'expected a string like "1.2"'),
        ('{"format_version": "2.0", "planned_values": {}}', "a major version this tool does"),
        ('{"format_version": "1.0", "values": {"root_module": {}}}', "is a Terraform state"),
        ('{"format_version": "1.2", "variables": {}}', "neither planned_values nor"),
        ('{"format_version": "1.2", "planned_values": {}, "errored": true}', "errored plan"),
        ('{"format_version": "1.2", "resource_changes": {}}', "resource_changes is a JSON object"),
    ],
)
def test_input_that_is_not_a_plan_exits_2_saying_what_is_wrong(
    tmp_path: Path, content: str, message: str
) -> None:
    plan = write_plan(tmp_path, content)
    result = run_cli(plan, "--gitlab-report", tmp_path / "report.json")
    assert result.returncode == 2
    assert str(plan) in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "report.json").exists()


def test_a_broken_entry_is_named_by_its_address(tmp_path: Path) -> None:
    entry = resource_change("aws_s3_bucket.logs", ["update"], {}, {})
    entry["change"]["actions"] = None
    result = run_cli(write_plan(tmp_path, plan_document(entry)))
    assert result.returncode == 2
    assert "resource_changes[0] (aws_s3_bucket.logs) has change.actions null" in result.stderr


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "absent.json")
    assert result.returncode == 2
    assert f"{tmp_path / 'absent.json'} does not exist." in result.stderr


def test_module_of_handles_keys_with_dots_and_brackets() -> None:
    address = 'module.a["x.y[0]"].module.b[2].aws_s3_bucket.this["k"]'
    assert module_of(address) == 'module.a["x.y[0]"].module.b[2]'
    assert module_of("aws_s3_bucket.this") == ""


# --- the protection gate ----------------------------------------------------------------------


def test_replacing_a_kinesis_stream_exits_1_naming_it(tmp_path: Path) -> None:
    report, review = tmp_path / "gitlab.json", tmp_path / "review.md"
    result = run_cli(
        write_plan(tmp_path, plan_document(REPLACE_STREAM)),
        "--gitlab-report",
        report,
        "--markdown",
        review,
    )
    assert result.returncode == 1
    assert f"{STREAM} is replaced" in result.stderr
    assert "--allow-destroy" in result.stderr
    # The reports are still written: the merge request must show what is blocked.
    assert json.loads(report.read_text()) == {"create": 1, "update": 0, "delete": 1}
    assert "Protection gate: blocked" in review.read_text()


@pytest.mark.parametrize("allowance", [STREAM, "aws_kinesis_stream"])
def test_allow_destroy_by_address_or_type_passes(tmp_path: Path, allowance: str) -> None:
    result = run_cli(
        write_plan(tmp_path, plan_document(REPLACE_STREAM)), "--allow-destroy", allowance
    )
    assert result.returncode == 0, result.stderr
    assert f"allowed: {STREAM} is replaced" in result.stdout


def test_each_blocked_address_is_listed_and_an_unused_allowance_is_noted(tmp_path: Path) -> None:
    document = plan_document(
        REPLACE_STREAM,
        resource_change('module.bucket["events"].aws_s3_bucket.this', ["delete"], {}, None),
        resource_change("aws_dynamodb_table.leases", ["delete"], {}, None, deposed="abc123"),
        resource_change("aws_iam_role.unprotected", ["delete"], {}, None),
        resource_change("aws_kms_key.kept", ["update"], {}, {}),
    )
    result = run_cli(write_plan(tmp_path, document), "--allow-destroy", "aws_sqs_queue")
    assert result.returncode == 1
    assert f"{STREAM} is replaced" in result.stderr
    assert 'module.bucket["events"].aws_s3_bucket.this is deleted' in result.stderr
    assert "aws_dynamodb_table.leases (deposed object abc123) is deleted" in result.stderr
    assert "aws_iam_role.unprotected" not in result.stderr
    assert "aws_kms_key.kept" not in result.stderr
    assert "--allow-destroy aws_sqs_queue matches no protected resource" in result.stderr


def test_forgetting_a_protected_resource_is_not_a_destroy() -> None:
    plan = parse_plan(plan_document(resource_change("aws_s3_bucket.a", ["forget"], {}, None)))
    assert evaluate(plan).ok


def test_the_pipeline_stateful_types_are_protected() -> None:
    stateful = {
        "aws_kinesis_stream",
        "aws_s3_bucket",
        "aws_dynamodb_table",
        "aws_kms_key",
        "aws_secretsmanager_secret",
        "aws_kinesis_firehose_delivery_stream",
    }
    assert stateful <= PROTECTED_TYPES.keys()


# --- the Markdown review ----------------------------------------------------------------------

SECRETS = (
    "salt-0123456789abcdef",
    "hunter2-password",
    "token-in-a-list",
    "whole-attribute-secret",
    "drifted-secret",
    "created-secret",
    "policy-sid-secret",
    "old-salt-value",
)


def sensitive_plan() -> dict[str, Any]:
    """A plan with sensitive values planted at every depth the format allows."""
    lambda_before = {
        "function_name": "pseudonymize",
        "environment": [{"variables": {"SALT": "old-salt-value", "LOG_LEVEL": "INFO"}}],
        "tags": {"owner": "data"},
    }
    lambda_after = {
        "function_name": "pseudonymize",
        "environment": [{"variables": {"SALT": "salt-0123456789abcdef", "LOG_LEVEL": "DEBUG"}}],
        "tags": {"owner": "data", "extra": "hunter2-password"},
        "tokens": ["public", "token-in-a-list"],
        "secret_blob": "whole-attribute-secret",
    }
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Sid": "policy-sid-secret", "Effect": "Allow", "Action": "*"}],
        }
    )
    return plan_document(
        resource_change(
            "aws_lambda_function.pseudonymize",
            ["update"],
            lambda_before,
            lambda_after,
            before_sensitive={"environment": [{"variables": {"SALT": True}}]},
            after_sensitive={
                "environment": [{"variables": {"SALT": True}}],
                "tags": {"extra": True},
                "tokens": [False, True],
                "secret_blob": True,
            },
        ),
        resource_change(
            "aws_iam_role_policy.secret",
            ["update"],
            {"policy": "{}"},
            {"policy": policy},
            after_sensitive={"policy": True},
        ),
        resource_change(
            "aws_secretsmanager_secret_version.salt",
            ["create"],
            None,
            {"secret_string": "created-secret", "policy": policy},
            after_sensitive=True,
        ),
        resource_change(
            "aws_secretsmanager_secret_version.other",
            ["delete", "create"],
            {"secret_string": "drifted-secret"},
            {"secret_string": "created-secret"},
            before_sensitive={"secret_string": True},
            after_sensitive={"secret_string": True},
            replace_paths=[["secret_string"]],
        ),
        resource_drift=[
            resource_change(
                "aws_ssm_parameter.salt",
                ["update"],
                {"value": "old-salt-value"},
                {"value": "drifted-secret"},
                before_sensitive={"value": True},
                after_sensitive={"value": True},
            )
        ],
    )


def test_sensitive_values_never_appear_in_the_markdown_or_the_output(tmp_path: Path) -> None:
    review = tmp_path / "review.md"
    result = run_cli(
        write_plan(tmp_path, sensitive_plan()),
        "--markdown",
        review,
        "--allow-destroy",
        "aws_secretsmanager_secret_version",
    )
    assert result.returncode == 0, result.stderr
    text = review.read_text()
    for secret in SECRETS:
        assert secret not in text
        assert secret not in result.stdout + result.stderr
    # The changes are still reported, as sensitive.
    assert "| `environment[0].variables.SALT` | `(sensitive)` | `(sensitive)` |" in text
    assert "| `tags.extra` | `(sensitive)` | `(sensitive)` |" in text
    assert '`["public", (sensitive)]`' in text
    assert '| `environment[0].variables.LOG_LEVEL` | `"INFO"` | `"DEBUG"` |' in text
    assert "| `policy` | `(sensitive)` | `(sensitive)` |" in text
    assert "| `value` | `(sensitive)` | `(sensitive)` |" in text


def test_review_shows_replace_paths_updates_unknowns_and_groups_by_module() -> None:
    long_value = "x" * 500
    document = plan_document(
        REPLACE_STREAM,
        resource_change(
            'module.bucket["events"].aws_s3_bucket.this',
            ["update"],
            {"tags": {"a": "1"}, "description": "old", "id": "b"},
            {"tags": {"a": "2"}, "description": long_value, "id": "b"},
            after_unknown={"arn": True},
        ),
        resource_change(
            'module.bucket["events"].aws_s3_bucket_versioning.this', ["create"], None, {}
        ),
        resource_change("aws_sns_topic.alarms", ["create"], None, {"name": "alarms"}),
        resource_change("aws_sns_topic.same", ["no-op"], {}, {}),
    )
    text = review_text(document, gate=True)
    assert "**Plan: 3 to create, 1 to update, 1 to delete.**" in text
    assert "### Replace (1)" in text
    assert '#### `module.stream["raw_good"]`' in text
    assert "| `aws_kinesis_stream.this` | `name` | replace because cannot update |" in text
    assert '| `name` | `"snowplow-raw-good"` | `"snowplow-raw-good-v2"` |' in text
    assert '| `arn` | `"arn:aws:kinesis:1"` | `(known after apply)` |' in text
    assert '| `tags.a` | `"1"` | `"2"` |' in text
    # A long value is never cut: it leaves the table for a line diff.
    assert '| `description` | `"old"` | 500 characters (diff below) |' in text
    assert "```diff\n@@ -1 +1 @@\n-old\n+" + long_value + "\n```" in text
    assert "| `id` |" not in text  # unchanged attributes are not listed
    assert "<summary><code>module.bucket[&quot;events&quot;]</code>: 1 resource</summary>" in text
    assert "<summary>root module: 1 resource</summary>" in text
    assert text.index("### Replace") < text.index("### Update") < text.index("### Create")
    assert "1 resource unchanged." in text
    assert "Protection gate: blocked" in text


def test_review_of_a_plan_without_changes() -> None:
    text = review_text(plan_document())
    assert "No changes" in text


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


READ = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
WRITE = {"Sid": "Write", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}
NO_SID = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}


def test_policy_documents_are_diffed_statement_by_statement() -> None:
    before = {"policy": policy(READ, WRITE, NO_SID), "name": "r"}
    after = {"policy": policy({**READ, "Resource": "arn:aws:s3:::b/*"}, NO_SID), "name": "r"}
    document = plan_document(
        resource_change("aws_iam_role_policy.firehose", ["update"], before, after),
        resource_change(
            "aws_iam_role.new",
            ["create"],
            None,
            {"assume_role_policy": policy({"Effect": "Allow", "Action": "sts:AssumeRole"})},
        ),
    )
    text = review_text(document)
    assert "Policy `policy`, statements: 1 changed, 1 removed, 1 unchanged:" in text
    assert "- **changed** Sid `Read`" in text
    assert "- **removed** Sid `Write`" in text
    assert '"arn:aws:s3:::b/*"' in text
    assert "| `policy` | policy document, 3 statements (see below) |" in text
    assert "Policy `assume_role_policy`, statement: 1 added:" in text
    assert '"sts:AssumeRole"' in text


def test_a_configured_policy_known_only_after_apply_is_named() -> None:
    configured = resource_change(
        'module.delivery["raw_bad"].aws_iam_role_policy.this',
        ["create"],
        None,
        {"name": "deliver"},
        after_unknown={"policy": True},
    )
    computed = resource_change(
        "aws_secretsmanager_secret.salt", ["create"], None, {}, after_unknown={"policy": True}
    )
    configuration = {
        "root_module": {
            "resources": [{"mode": "managed", "type": "aws_secretsmanager_secret", "name": "salt"}],
            "module_calls": {
                "delivery": {
                    "module": {
                        "resources": [
                            {
                                "mode": "managed",
                                "type": "aws_iam_role_policy",
                                "name": "this",
                                "expressions": {"policy": {"references": ["local.policy"]}},
                            }
                        ]
                    }
                }
            },
        }
    }
    text = review_text(plan_document(configured, computed, configuration=configuration))
    assert "Policy `aws_iam_role_policy.this.policy` is known only after apply." in text
    assert "aws_secretsmanager_secret.salt.policy" not in text


def test_statements_without_sid_match_by_content_in_any_order() -> None:
    before = json.loads(policy(NO_SID, {**NO_SID, "Action": "kms:Encrypt"}))
    after = json.loads(policy({**NO_SID, "Action": "kms:Encrypt"}, NO_SID))
    assert iam.diff(before, after).changes == ()
    changed = json.loads(policy({**NO_SID, "Action": "kms:GenerateDataKey"}))
    kinds = sorted(c.kind for c in iam.diff(before, changed).changes)
    assert kinds == ["added", "removed", "removed"]


def test_drift_is_listed_separately() -> None:
    document = plan_document(
        resource_drift=[
            resource_change("aws_sqs_queue.q", ["update"], {"delay": 0}, {"delay": 5}),
            resource_change("aws_sqs_queue.gone", ["delete"], {"delay": 0}, None),
        ]
    )
    text = review_text(document)
    assert "### Drift: changed outside Terraform (2)" in text
    assert "| `aws_sqs_queue.q` | update | `delay` |" in text
    assert "| `aws_sqs_queue.gone` | delete | — |" in text
    assert "| `delay` | `0` | `5` |" in text
    assert "### Update" not in text


def test_code_spans_survive_pipes_and_backticks() -> None:
    assert code("a|b") == "`a\\|b`"
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"


def test_markdown_and_report_files_are_written_with_their_folders(tmp_path: Path) -> None:
    report, review = tmp_path / "deep" / "gitlab.json", tmp_path / "deeper" / "review.md"
    plan = write_plan(tmp_path, plan_document(REPLACE_STREAM))
    result = run_cli(
        plan, "--gitlab-report", report, "--markdown", review, "--allow-destroy", STREAM
    )
    assert result.returncode == 0
    assert review.read_text().startswith("## Terraform plan review")
    assert f"{plan}: 1 to create, 0 to update, 1 to delete." in result.stdout


def test_help_teaches_the_exit_codes_and_the_protected_types() -> None:
    result = subprocess.run(
        [str(cli_path()), "plan-report", "--help"], capture_output=True, text=True, check=True
    )
    assert "Exit status: 0" in result.stdout
    assert "aws_kinesis_stream" in result.stdout


def test_parse_plan_rejects_non_objects_without_a_file() -> None:
    with pytest.raises(PlanError, match="holds a JSON string"):
        parse_plan("plan")
