"""The review on real plans: every change visible, nothing hidden, and bounded.

Two kinds of real plan: public ones (tests/fixtures/plans, sources in SOURCES.md), and plans that
Terraform itself makes here from a small configuration of built-in ``terraform_data`` resources
(no provider, no network): applied once, then changed the way real changes are (line 40 of a
user-data script, a security-group list that gains one id and loses another, one widget of a JSON
dashboard, a `moved` and a `removed` block, a new resource, an output). Each test goes through the
command line, as CI does, and fails on a review that hides what it checks.
"""

from __future__ import annotations

import codecs
import json
import re
import shutil
from pathlib import Path

import pytest

from snowplow_infra import terraform
from snowplow_infra.plan_report.protection import PROTECTED_TYPES
from tests import plan_generator
from tests.test_plan_report import SHARED_PLANS, plan_document, resource_change, run_cli

USER_DATA_LINES = 60
CHANGED_LINE = 40


def user_data(edited: bool) -> str:
    lines = ["#!/bin/bash", "set -euo pipefail"]
    lines += [f"echo 'configuring step {n}' >> /var/log/boot.log" for n in range(3, 61)]
    if edited:
        lines[CHANGED_LINE - 1] = "systemctl restart snowplow-collector  # edited on line 40"
    return "\n".join(lines) + "\n"


def dashboard(renamed: bool) -> str:
    titles = [f"widget {i}" for i in range(8)]
    if renamed:
        titles[5] = "widget 5: iterator age"
    metric = '[["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", "raw-good"]]'
    widgets = ", ".join(
        f'{{ type = "metric", x = 0, y = {6 * i}, properties = {{ title = "{title}", '
        f"metrics = {metric} }} }}"
        for i, title in enumerate(titles)
    )
    return f"jsonencode({{ widgets = [{widgets}] }})"


BEFORE = """
resource "terraform_data" "user_data" {
  input = file("${path.module}/user-data.sh")
}
resource "terraform_data" "security_group_ids" {
  input = ["sg-0a1", "sg-0b2", "sg-0c3", "sg-0d4"]
}
resource "terraform_data" "dashboard" {
  input = DASHBOARD
}
resource "terraform_data" "old_name" {
  input = "renamed by a moved block"
}
resource "terraform_data" "retired" {
  input = "leaves the state, stays in AWS"
}
output "stream_names" {
  value = ["snowplow-raw-good"]
}
"""

AFTER = """
resource "terraform_data" "user_data" {
  input = file("${path.module}/user-data.sh")
}
resource "terraform_data" "security_group_ids" {
  input = ["sg-0a1", "sg-0c3", "sg-0d4", "sg-0e5"]
}
resource "terraform_data" "dashboard" {
  input = DASHBOARD
}
resource "terraform_data" "new_name" {
  input = "renamed by a moved block"
}
moved {
  from = terraform_data.old_name
  to   = terraform_data.new_name
}
removed {
  from = terraform_data.retired
  lifecycle {
    destroy = false
  }
}
resource "terraform_data" "stream" {
  input = { name = "snowplow-enriched-good", shard_count = 4, retention_hours = 24 }
}
output "stream_names" {
  value = ["snowplow-raw-good", "snowplow-enriched-good"]
}
"""


@pytest.fixture(scope="module")
def terraform_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real plan, saved by Terraform (``tfplan``) and shown as JSON (``tfplan.json``)."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH; these plans are made by it")
    folder = tmp_path_factory.mktemp("terraform-plan")
    (folder / "user-data.sh").write_text(user_data(edited=False))
    (folder / "main.tf").write_text(BEFORE.replace("DASHBOARD", dashboard(renamed=False)))
    terraform.run(["init", "-input=false", "-no-color"], folder, capture=True)
    terraform.run(["apply", "-input=false", "-auto-approve", "-no-color"], folder, capture=True)
    (folder / "user-data.sh").write_text(user_data(edited=True))
    (folder / "main.tf").write_text(AFTER.replace("DASHBOARD", dashboard(renamed=True)))
    terraform.run(["plan", "-input=false", "-no-color", "-out=tfplan"], folder, capture=True)
    shown = terraform.run(["show", "-json", "tfplan"], folder, capture=True)
    (folder / "tfplan.json").write_text(shown.stdout)
    return folder


def review(tmp_path: Path, plan: Path, *options: str, status: int = 0) -> str:
    markdown = tmp_path / "review.md"
    result = run_cli(plan, "--markdown", markdown, *options)
    assert result.returncode == status, result.stderr
    return markdown.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text of one ``### heading`` section of a review."""
    match = re.search(rf"^### {re.escape(heading)}.*?(?=^### |\Z)", text, re.M | re.S)
    assert match, f"no section {heading!r} in the review"
    return match.group(0)


# --- Terraform's own plans ----------------------------------------------------------------------


@pytest.mark.terraform
def test_a_change_on_line_40_of_a_long_string_is_shown_as_a_line_diff(
    terraform_plan: Path, tmp_path: Path
) -> None:
    text = review(tmp_path, terraform_plan / "tfplan.json")
    update = section(text, "Update in place")
    assert "`input`" in update
    assert "-echo 'configuring step 40' >> /var/log/boot.log" in update
    assert "+systemctl restart snowplow-collector  # edited on line 40" in update
    assert f"@@ -{CHANGED_LINE - 3},7 +{CHANGED_LINE - 3},7 @@" in update
    # Only the hunk around the change, not the whole script.
    assert "configuring step 10'" not in update


@pytest.mark.terraform
def test_a_list_that_gains_one_element_and_loses_one_shows_exactly_that(
    terraform_plan: Path, tmp_path: Path
) -> None:
    update = section(review(tmp_path, terraform_plan / "tfplan.json"), "Update in place")
    assert '| `input[1] (removed)` | `"sg-0b2"` | — |' in update
    assert '| `input[3] (added)` | — | `"sg-0e5"` |' in update
    # The ids that only moved up one position are not changes (`output`, terraform_data's copy
    # of the input, is known only after apply and shows the whole old list).
    rows = [line for line in update.splitlines() if line.startswith("| `input")]
    assert not [row for row in rows if "sg-0c3" in row or "sg-0d4" in row]


@pytest.mark.terraform
def test_a_json_string_shows_what_changed_inside_it(terraform_plan: Path, tmp_path: Path) -> None:
    update = section(review(tmp_path, terraform_plan / "tfplan.json"), "Update in place")
    assert "JSON, pretty-printed with sorted keys" in update
    assert '-        "title": "widget 5"' in update
    assert '+        "title": "widget 5: iterator age"' in update


@pytest.mark.terraform
def test_moves_forgets_creates_and_outputs_each_have_their_section(
    terraform_plan: Path, tmp_path: Path
) -> None:
    text = review(tmp_path, terraform_plan / "tfplan.json")
    assert "| `terraform_data.old_name` | `terraform_data.new_name` | no other change |" in (
        section(text, "Move")
    )
    assert "`terraform_data.retired`" in section(text, "Forget")
    create = section(text, "Create")
    assert "| `input.shard_count` | `4` |" in create
    assert '| `input.name` | `"snowplow-enriched-good"` |' in create
    outputs = section(text, "Output changes")
    assert '| `stream_names` | update | `["snowplow-raw-good"]` |' in outputs
    assert "No changes" not in text


@pytest.mark.terraform
def test_a_binary_saved_plan_is_answered_with_the_command_that_shows_it(
    terraform_plan: Path,
) -> None:
    saved = terraform_plan / "tfplan"
    result = run_cli(saved)
    assert result.returncode == 2
    assert f"terraform show -json {saved} > {saved}.json" in result.stderr
    assert "saved plan file" in result.stderr


# --- public plans -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "heading", "expected"),
    [
        (
            "terraformjson_actions.plan.json",
            "Action invocations",
            "| `action.bufo_print.success` | `bufo_print` | invoked from the command line",
        ),
        (
            "terraformjson_moved_block.plan.json",
            "Move",
            "| `random_id.test` | `random_id.test2` | no other change |",
        ),
        (
            "terraformjson_identity.plan.json",
            "Import",
            '| `corner_user_identity.user` | `{"email": "a@example.com"}` |',
        ),
        ("tfcompliance_test_issue_242.plan.out.json", "Output changes", "| `emails` | create |"),
        (
            "infracost_instance_with_attachment_after_deploy.json",
            "Drift: changed outside Terraform",
            "| `aws_instance.ec2` | update | `ebs_block_device`, `root_block_device`, `tags` |",
        ),
    ],
)
def test_a_plan_that_changes_no_resource_is_not_called_no_changes(
    tmp_path: Path, name: str, heading: str, expected: str
) -> None:
    text = review(tmp_path, SHARED_PLANS / name)
    assert "No changes" not in text
    assert expected in section(text, heading)


def test_created_resources_show_their_planned_attributes(tmp_path: Path) -> None:
    create = section(review(tmp_path, SHARED_PLANS / "checkov_runner_plan.tfplan.json"), "Create")
    assert '| `engine` | `"mysql"` |' in create
    assert '| `instance_class` | `"db.t3.micro"` |' in create
    assert "Known after apply: `address`, `arn`," in create


def test_a_created_json_string_is_shown_pretty_printed(tmp_path: Path) -> None:
    create = section(review(tmp_path, SHARED_PLANS / "checkov_batch.tfplan.json"), "Create")
    assert "`container_properties` (JSON, pretty-printed with sorted keys):" in create
    assert '  "image": "busybox",' in create


@pytest.mark.parametrize(
    ("codec", "mark", "name"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16 LE with a byte order mark"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16 BE with a byte order mark"),
        ("utf-8", codecs.BOM_UTF8, "UTF-8 with a byte order mark"),
        ("utf-16-le", b"", "UTF-16 LE"),
    ],
)
def test_utf16_and_bom_plans_are_read_and_named(
    tmp_path: Path, codec: str, mark: bytes, name: str
) -> None:
    """What PowerShell writes: `>` gives UTF-16 LE with a mark, Out-File -Encoding utf8 a BOM."""
    original = (SHARED_PLANS / "checkov_plan_with_iam_data_block.tfplan.json").read_text()
    plan = tmp_path / "tfplan.json"
    plan.write_bytes(mark + original.encode(codec))
    report = tmp_path / "gitlab.json"
    text = review(tmp_path, plan, "--gitlab-report", str(report))
    assert json.loads(report.read_text()) == {"create": 2, "update": 0, "delete": 0}
    assert f"read as {name}." in text
    assert "`aws_s3_bucket.example`" in text


def test_text_in_another_encoding_is_named_with_the_command_to_run(tmp_path: Path) -> None:
    plan = tmp_path / "tfplan.json"
    plan.write_bytes(b'{"format_version": "1.2", "x": "\xff\xfe\xfa"}')
    result = run_cli(plan)
    assert result.returncode == 2
    assert f"{plan} is not UTF-8 text" in result.stderr
    assert "terraform show -json" in result.stderr


# --- bounded ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 changes made from checkov_runner_plan's resources (tests/plan_generator.py)."""
    folder = tmp_path_factory.mktemp("big-plan")
    return plan_generator.write(plan_generator.scaled_plan(2_000), folder / "tfplan.json")


@pytest.mark.parametrize("limit", [None, "100000"])
def test_a_2000_change_review_stays_under_the_limit_and_names_what_it_left_out(
    big_plan: Path, tmp_path: Path, limit: str | None
) -> None:
    options = ["--max-chars", limit] if limit else []
    full = tmp_path / "full.md"
    text = review(
        tmp_path,
        big_plan,
        *options,
        "--full-markdown",
        str(full),
        "--full-review-url",
        "https://gitlab.example.com/-/jobs/1/artifacts/file/build/plan/full.md",
        status=1,  # it replaces and deletes buckets
    )
    assert len(text) <= int(limit or 250_000)
    assert "**This review is shortened to fit" in text.split("###")[0]  # said before any section
    left_out = section(text, "Left out of this review")
    assert "[`full.md`](https://gitlab.example.com/-/jobs/1/artifacts/file/build/plan/full.md)" in (
        left_out
    )
    notice = re.search(r"(\d[\d,]*) changes? (?:is|are) not listed and (\d[\d,]*) change", text)
    assert notice, text[:2000]
    unlisted = int(notice.group(1).replace(",", ""))
    counted = re.findall(r"(\d[\d,]*) `[a-z0-9_]+`", left_out.split("Listed without")[0])
    named = re.findall(r"`module\.scale\[", left_out.split("Listed without")[0])
    assert unlisted == sum(int(n.replace(",", "")) for n in counted) or unlisted == len(named)
    # The protected resources the plan destroys come first, with their detail.
    first = text.index("### ")
    assert text[first:].startswith("### Delete") or text[first:].startswith("### Replace")
    # The full review holds every change, each section complete.
    full_text = full.read_text()
    assert "Left out" not in full_text
    assert "listed here" not in full_text
    last = json.loads(big_plan.read_text())["resource_changes"][-1]
    assert f"#### `{last['module_address']}`" in full_text


def test_no_protected_type_reason_speaks_of_the_salt() -> None:
    """A gate reason must be true for every resource of its type, whatever it holds."""
    assert not [t for t, reason in PROTECTED_TYPES.items() if "salt" in reason]


def test_deleting_any_secret_names_what_is_lost_without_calling_it_the_salt(
    tmp_path: Path,
) -> None:
    document = plan_document(
        resource_change(
            "aws_secretsmanager_secret.iglu_api_key", ["delete"], {"name": "iglu"}, None
        ),
        resource_change("aws_secretsmanager_secret_version.iglu_api_key", ["delete"], {}, None),
    )
    plan = tmp_path / "tfplan.json"
    plan.write_text(json.dumps(document))
    result = run_cli(plan)
    assert result.returncode == 1
    assert (
        "aws_secretsmanager_secret.iglu_api_key is deleted: the secret's value and all its "
        "versions are lost once the recovery window ends." in result.stderr
    )
    assert "this version of the secret's value is lost" in result.stderr
    assert "salt" not in result.stderr
