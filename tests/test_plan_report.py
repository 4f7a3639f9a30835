"""`snowplow-infra plan-report`: widget counts, the Markdown review, the protection gate."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snowplow_infra.plan import PlanResult
from snowplow_infra.plan_report import iam
from snowplow_infra.plan_report.entries import code, review_of
from snowplow_infra.plan_report.jsonstream import JSONStreamError, ObjectStream
from snowplow_infra.plan_report.markdown import MINIMUM_LIMIT, render_review
from snowplow_infra.plan_report.plan import PlanError, load_plan, module_of, parse_plan
from snowplow_infra.plan_report.protection import PROTECTED_TYPES, evaluate
from snowplow_infra.plan_report.values import attribute_changes, format_path
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
    top: dict[str, Any] = {
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
    assert result.returncode in (0, 1), result.stderr  # 1: it destroys a protected resource
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
        result = run_cli(plan, "--gitlab-report", report, "--allow-destroy", STREAM)
        assert result.returncode in (0, 1), result.stderr
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
    "multi-line-secret",
    "set-element-secret",
    "output-secret",
    "action-secret",
)
LONG_SECRET = "\n".join(f"multi-line-secret line {n}" for n in range(50))


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
        # Long strings and lists are diffed by their content: the content must stay hidden.
        resource_change(
            "aws_launch_template.collector",
            ["update"],
            {"user_data": LONG_SECRET, "ids": ["a", "set-element-secret-1", "c"]},
            {"user_data": LONG_SECRET + "\nmore", "ids": ["a", "c", "set-element-secret-2"]},
            before_sensitive={"user_data": True, "ids": [False, True, False]},
            after_sensitive={"user_data": True, "ids": [False, False, True]},
        ),
        resource_change(
            "aws_ssm_parameter.created",
            ["create"],
            None,
            {"value": LONG_SECRET, "tags": {"k": "set-element-secret-3"}, "name": "p"},
            after_sensitive={"value": True, "tags": {"k": True}},
        ),
        output_changes={
            "salt": {
                "actions": ["update"],
                "before": "output-secret-1",
                "after": "output-secret-2",
                "before_sensitive": True,
                "after_sensitive": True,
                "after_unknown": False,
            }
        },
        action_invocations=[
            {
                "address": "action.aws_lambda_invoke.rotate",
                "type": "aws_lambda_invoke",
                "config_values": {"payload": "action-secret", "function_name": "rotate"},
                "config_sensitive": {"payload": True},
                "config_unknown": {},
                "invoke_action_trigger": {},
            }
        ],
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
    assert "| `user_data` | `(sensitive)` | `(sensitive)` |" in text
    assert "| `ids[1] (removed)` | `(sensitive)` | — |" in text
    assert "| `ids[2] (added)` | — | `(sensitive)` |" in text
    assert "| `tags.k` | `(sensitive)` |" in text
    assert "| `salt` | update | `(sensitive)` | `(sensitive)` |" in text
    assert "| `payload` | `(sensitive)` |" in text


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


# --- reading large plans as a stream ----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    document=st.dictionaries(st.text(), json_values, max_size=6),
    chunk=st.integers(min_value=1, max_value=40),
    indent=st.sampled_from([None, 0, 2]),
    read=st.lists(st.sampled_from(["value", "skip", "stream"]), min_size=6, max_size=6),
)
def test_the_stream_reader_reads_what_json_loads_reads_at_any_chunk_size(
    document: dict[str, Any], chunk: int, indent: int | None, read: list[str]
) -> None:
    text = json.dumps(document, indent=indent, ensure_ascii=chunk % 2 == 0)
    stream = ObjectStream(io.StringIO(text), chunk=chunk)
    seen: dict[str, Any] = {}
    for number, name in enumerate(stream.names()):
        how, kind = read[number % len(read)], stream.kind()
        if how == "value":
            seen[name] = stream.value()
        elif how == "stream" and kind == "array":
            seen[name] = list(stream.elements())
        elif how == "stream" and kind == "object":
            seen[name] = dict(stream.members())
        else:
            seen[name] = document[name]  # skipped without being decoded
    assert seen == document


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('{"a": [1, 2', "line 1, column 12"),
        ('{\n  "a": 1,\n  "b": {"c": [1, }\n}', "line 3"),
        ('{"a": 1} trailing', "line 1, column 10"),
        ('{"a": "unterminated', "line 1"),
    ],
)
def test_the_stream_reader_names_where_the_json_breaks(text: str, position: str) -> None:
    with pytest.raises(JSONStreamError, match=position):
        stream = ObjectStream(io.StringIO(text), chunk=3)
        for _ in stream.names():
            stream.value()


def test_a_plan_read_as_a_stream_keeps_only_what_it_is_told_to(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, plan_document(REPLACE_STREAM, prior_state={"values": {"x": 1}}))
    kept = load_plan(plan, lambda change: change.without_values())
    assert kept.resource_changes[0].before is None
    assert kept.resource_changes[0].kind == "replace"


# --- diffing values -----------------------------------------------------------------------------


def test_a_changed_rule_in_a_list_of_blocks_is_diffed_attribute_by_attribute() -> None:
    rule = {"from_port": 80, "to_port": 80, "cidr_blocks": ["10.0.0.0/8"], "protocol": "tcp"}
    changes = attribute_changes(
        {"ingress": [rule]}, {"ingress": [{**rule, "from_port": 8080}]}, {}, {}, {}
    )
    assert [(format_path(c.path), c.before, c.after) for c in changes] == [
        ("ingress[0].from_port", 80, 8080)
    ]


def test_an_unrelated_object_replacing_another_is_one_removed_and_one_added() -> None:
    old = {"from_port": 22, "to_port": 22, "cidr_blocks": ["10.0.0.0/8"], "protocol": "tcp"}
    new = {"from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"], "protocol": "udp"}
    kept = {"from_port": 80, "to_port": 80, "cidr_blocks": [], "protocol": "tcp"}
    changes = attribute_changes({"x": [kept, old]}, {"x": [kept, new, dict(kept)]}, {}, {}, {})
    assert sorted(c.kind for c in changes) == ["added", "added", "removed"]


def test_iam_reads_arrays_as_sets_and_one_value_as_its_one_element_array() -> None:
    before = json.loads(policy({**READ, "Action": ["s3:GetObject", "s3:ListBucket"]}))
    after = json.loads(policy({**READ, "Action": ["s3:ListBucket", "s3:GetObject"]}))
    assert iam.diff(before, after).changes == ()
    single = json.loads(policy({**READ, "Action": ["s3:GetObject"]}))
    assert iam.diff(json.loads(policy(READ)), single).changes == ()


def test_a_long_line_is_cut_around_what_changed_with_the_counts_left_out() -> None:
    before = "a" * 3_000 + "OLD" + "z" * 3_000
    after = "a" * 3_000 + "NEW" + "z" * 3_000
    (change,) = attribute_changes({"v": before}, {"v": after}, {}, {}, {})
    removed, added = (line for line in change.lines if line[0] in "-+")
    assert "OLD" in removed
    assert "NEW" in added
    assert "[…2940 unchanged characters…]" in removed
    assert len(added) < 300


def test_base64_user_data_is_decoded_for_the_diff() -> None:
    script = "#!/bin/bash\necho one\necho two\n"
    encoded = {"user_data": base64.b64encode(script.encode()).decode()}
    changed = {"user_data": base64.b64encode(script.replace("two", "2").encode()).decode()}
    (change,) = attribute_changes(encoded, changed, {}, {}, {})
    assert change.note == "base64-decoded"
    assert "-echo two" in change.lines
    assert "+echo 2" in change.lines


# --- bounding the review ------------------------------------------------------------------------


def test_a_shortened_review_keeps_protected_destroys_then_iam_then_security_groups() -> None:
    filler = "x" * 400
    changes = [
        resource_change(f"aws_sns_topic.t{i}", ["update"], {"d": "a"}, {"d": filler})
        for i in range(60)
    ]
    changes += [
        resource_change("aws_security_group.sg", ["update"], {"d": "a"}, {"d": filler + "sg"}),
        resource_change("aws_iam_role.r", ["update"], {"d": "a"}, {"d": filler + "iam"}),
        REPLACE_STREAM,
    ]
    text = review_text(plan_document(*changes), gate=True, limit=MINIMUM_LIMIT)
    assert len(text) <= MINIMUM_LIMIT
    assert '"snowplow-raw-good-v2"' in text  # the protected replacement's detail
    assert filler + "iam" in text
    assert filler + "sg" in text
    assert "**This review is shortened to fit 10,000 characters**" in text
    assert "### Left out of this review" in text


@pytest.mark.parametrize("value", ["9999", "1000001", "lots"])
def test_max_chars_outside_what_gitlab_takes_is_refused(tmp_path: Path, value: str) -> None:
    result = run_cli(write_plan(tmp_path, plan_document()), "--max-chars", value)
    assert result.returncode == 2
    assert "must be a whole number from 10,000 to 1,000,000" in result.stderr
