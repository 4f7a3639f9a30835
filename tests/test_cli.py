"""The command line: help that teaches, and a Makefile whose setup is idempotent."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from snowplow_infra.cli import build_parser
from snowplow_infra.paths import REPO_ROOT
from tests.conftest import cli_path


def test_help_lists_every_command() -> None:
    result = subprocess.run([str(cli_path()), "--help"], capture_output=True, text=True, check=True)
    for command in ("doctor", "check-terraform"):
        assert command in result.stdout
    assert "snowplow-infra COMMAND --help" in result.stdout


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args([])
    assert raised.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_setup_is_up_to_date_after_setup() -> None:
    """`make -q` exits 0 only when the target needs no work: setup ran, so a rerun does none."""
    result = subprocess.run(["make", "-q", "setup"], cwd=REPO_ROOT, check=False)
    assert result.returncode == 0


def _would_run(*targets: str) -> str:
    """The commands make would run for the targets from a fresh clone (-B: as if nothing were
    built yet; -n: print them, run nothing)."""
    result = subprocess.run(
        ["make", "-n", "-B", *targets], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_demo_installs_only_the_project_virtualenv() -> None:
    commands = _would_run("demo")
    assert "-m venv .venv\n" in commands
    assert ".venv-checkov" not in commands
    assert "npm" not in commands


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_policy_installs_checkov_and_not_the_node_tools() -> None:
    commands = _would_run("policy")
    assert "-m venv .venv-checkov" in commands
    assert "npm" not in commands


@pytest.mark.terraform
def test_tf_passes_terraform_exit_codes_through() -> None:
    ok = subprocess.run(
        [str(cli_path()), "tf", "aws-snowplow", "--", "fmt", "-check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [str(cli_path()), "tf", "aws-snowplow", "--", "no-such-subcommand"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1


def test_tf_names_an_unknown_environment() -> None:
    result = subprocess.run(
        [str(cli_path()), "tf", "no-such-env", "--", "plan"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "There is no Terraform environment named 'no-such-env'" in result.stderr
