"""`snowplow-infra plan --baseline`: the working tree planned against an applied git revision.

The end-to-end test works on a scratch copy of this repository (the working tree's files, so the
code under test is this checkout's), committed as the baseline with one provisioned stream, then
changed the way a merge request would: that stream's shard count, and another stream's name in
pipeline.yaml. The plan must show the first as an update and the second as a replacement that
the protection gate blocks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snowplow_infra import baseline
from snowplow_infra.paths import REPO_ROOT
from tests.test_plan_report import plan_document, resource_change

ENVIRONMENT = "aws-snowplow"
RAW_GOOD = 'module.stream["raw_good"].aws_kinesis_stream.this'
RAW_BAD = 'module.stream["raw_bad"].aws_kinesis_stream.this'


def test_a_revision_that_does_not_exist_is_named() -> None:
    with pytest.raises(baseline.BaselineError, match="'no-such-revision' is not a git revision"):
        baseline.resolve_revision("no-such-revision")


def test_head_resolves_to_its_commit() -> None:
    commit, described = baseline.resolve_revision("HEAD")
    assert len(commit) == 40
    assert described == f"HEAD ({commit[:12]})"


def test_only_changes_the_unchanged_baseline_also_makes_are_the_emulators(
    tmp_path: Path,
) -> None:
    noise = resource_change(
        "aws_autoscaling_group.this",
        ["update"],
        {"warmup": 0, "size": 1},
        {"warmup": 300, "size": 1},
    )
    mixed = resource_change(
        "aws_autoscaling_group.this",
        ["update"],
        {"warmup": 0, "size": 1},
        {"warmup": 300, "size": 2},
    )
    real = resource_change("aws_kinesis_stream.s", ["update"], {"shards": 1}, {"shards": 2})
    unchanged, changed = tmp_path / "unchanged.json", tmp_path / "changed.json"
    unchanged.write_text(json.dumps(plan_document(noise)))
    changed.write_text(json.dumps(plan_document(mixed, real)))
    assert baseline.emulator_differences(unchanged, changed) == [
        ("aws_autoscaling_group.this", ["warmup"])
    ]


def scratch_repository(destination: Path) -> Path:
    """The working tree's files (tracked and not ignored) as a new repository with one commit."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file() and not source.is_symlink():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def git(repository: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=repository,
        check=True,
        capture_output=True,
    )


def cli(repository: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The copy's own snowplow-infra (its code, its paths)."""
    return subprocess.run(
        [sys.executable, "-m", "snowplow_infra.cli", *args],
        cwd=repository,
        env={**os.environ, "PYTHONPATH": str(repository / "scripts")},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.e2e
@pytest.mark.terraform
@pytest.mark.slow
def test_a_shard_count_change_is_an_update_and_a_stream_rename_a_blocked_replacement(
    tmp_path: Path,
) -> None:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH; the baseline is applied with it")
    repository = scratch_repository(tmp_path / "repository")
    env_dir = repository / "terraform" / "environments" / ENVIRONMENT
    tfvars = env_dir / "terraform.tfvars"
    provisioned = (
        '\nstream_capacity = {\n  raw_good = { mode = "PROVISIONED", shard_count = 1 }\n}\n'
    )
    tfvars.write_text(tfvars.read_text() + provisioned)
    git(repository, "init", "--quiet", "--initial-branch=main")
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--message=baseline")
    # The merge request's change, in the working tree.
    tfvars.write_text(tfvars.read_text().replace("shard_count = 1", "shard_count = 2"))
    names = env_dir / "pipeline.yaml"
    renamed = names.read_text().replace("name: snowplow-raw-bad\n", "name: snowplow-raw-bad-v2\n")
    assert renamed != names.read_text()
    names.write_text(renamed)
    for command in (["package-lambda"], ["render-configs", "--env", ENVIRONMENT]):
        built = cli(repository, *command)
        assert built.returncode == 0, built.stderr

    result = cli(repository, "plan", "--env", ENVIRONMENT, "--baseline", "--quiet")

    assert result.returncode == 1, result.stdout + result.stderr  # the gate blocks the rename
    assert "baseline: the merge base of HEAD with main" in result.stdout
    output = repository / "build" / "plan"
    review = (output / "plan-review.md").read_text()
    plan = json.loads((output / "tfplan.json").read_text())
    changes = {c["address"]: c for c in plan["resource_changes"]}
    assert changes[RAW_GOOD]["change"]["actions"] == ["update"]
    assert changes[RAW_BAD]["change"]["actions"] in (["delete", "create"], ["create", "delete"])
    assert "| `shard_count` | `1` | `2` |" in review
    assert "| `aws_kinesis_stream.this` | `name` | replace because cannot update |" in review
    assert "**Protection gate: blocked.**" in review
    assert f"{RAW_BAD}` is replaced (the old object is deleted)" in review
    assert f"{RAW_BAD} is replaced" in result.stderr
    assert json.loads((output / "gitlab-report.json").read_text())["delete"] >= 1
    assert (output / "plan-review-full.md").is_file()
    # What moto alone changes is named as such, and the change itself is not among it.
    emulator = review.split("### Local preview: the emulator's own differences", 1)[1]
    assert "`shard_count`" not in emulator
    assert RAW_BAD not in emulator
    # The emulator is gone with the run.
    assert not (output / "baseline" / "emulator.json").exists()
