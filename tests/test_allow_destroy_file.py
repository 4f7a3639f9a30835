"""``plan-report --allow-destroy-file``: destroys approved in a reviewed file of the change.

The plan job passes terraform/environments/aws-snowplow/allow-destroy.txt: a line allows the
change to delete or replace that protected resource; a line the plan does not use fails the gate,
so the next change empties the file; the committed file is empty.
"""

from __future__ import annotations

from pathlib import Path

from snowplow_infra.paths import ENVIRONMENTS_DIR
from tests.test_plan_report import REPLACE_STREAM, STREAM, plan_document, run_cli, write_plan

COMMITTED = ENVIRONMENTS_DIR / "aws-snowplow" / "allow-destroy.txt"


def allow_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "allow-destroy.txt"
    path.write_text("# reviewed destroys\n\n" + "\n".join(lines) + "\n")
    return path


def test_a_listed_destroy_passes_the_gate(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, plan_document(REPLACE_STREAM))
    result = run_cli(plan, "--allow-destroy-file", allow_file(tmp_path, f"{STREAM}  # replaced"))
    assert result.returncode == 0, result.stderr
    assert f"allowed: {STREAM} is replaced" in result.stdout


def test_an_unlisted_destroy_is_blocked_and_names_the_file_to_edit(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, plan_document(REPLACE_STREAM))
    result = run_cli(plan, "--allow-destroy-file", allow_file(tmp_path))
    assert result.returncode == 1
    assert "terraform/environments/aws-snowplow/allow-destroy.txt" in result.stderr
    assert STREAM in result.stderr


def test_a_line_the_plan_does_not_use_fails_so_the_next_change_empties_the_file(
    tmp_path: Path,
) -> None:
    plan = write_plan(tmp_path, plan_document())
    listed = allow_file(tmp_path, STREAM)
    result = run_cli(plan, "--allow-destroy-file", listed)
    assert result.returncode == 1
    assert f"error: {listed} allows destroying {STREAM}, which this plan does not destroy" in (
        result.stderr
    )
    assert run_cli(plan, "--allow-destroy-file", allow_file(tmp_path)).returncode == 0


def test_a_missing_file_is_unreadable_input(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, plan_document())
    result = run_cli(plan, "--allow-destroy-file", tmp_path / "absent.txt")
    assert result.returncode == 2
    assert "absent.txt (the allow-destroy file) does not exist" in result.stderr


def test_the_committed_file_allows_nothing(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, plan_document())
    assert run_cli(plan, "--allow-destroy-file", COMMITTED).returncode == 0
    assert all(
        line.startswith("#") or not line.strip() for line in COMMITTED.read_text().splitlines()
    )
