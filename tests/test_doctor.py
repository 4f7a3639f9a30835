"""`snowplow-infra doctor` and the provider detection it relies on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from snowplow_infra import doctor, terraform
from tests.conftest import cli_path


def run_doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cli_path()), "doctor"], capture_output=True, text=True, env=env, check=False
    )


def path_without_terraform(tmp_path: Path) -> str:
    """A PATH holding only this virtualenv's python, so terraform cannot be found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    return str(bin_dir)


def test_doctor_fails_with_a_fix_when_terraform_is_missing(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=path_without_terraform(tmp_path))
    result = run_doctor(env)
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.split()[1] == "terraform:")
    assert re.match(r"MISSING +terraform: not found on PATH\. Fix: install Terraform >= 1\.7", line)
    assert "1 required item(s) missing: terraform." in result.stdout


def test_doctor_passes_on_a_machine_set_up_by_make_setup() -> None:
    result = run_doctor(dict(os.environ))
    assert result.returncode == 0, result.stdout
    assert re.search(r"^ok +terraform: ", result.stdout, re.M), result.stdout
    assert re.search(r"^ok +hashicorp/aws provider: ", result.stdout, re.M), result.stdout


def test_doctor_reports_a_plugin_dir_without_the_provider(tmp_path: Path) -> None:
    env = dict(os.environ, TF_PLUGIN_DIR=str(tmp_path))
    result = run_doctor(env)
    assert result.returncode == 1
    assert f"plugin directory {tmp_path} holds no hashicorp/aws version" in result.stdout


def make_mirror(root: Path, *versions: str) -> Path:
    for version in versions:
        (root / terraform.PROVIDER_SOURCE / version / "linux_amd64").mkdir(parents=True)
    return root


def test_plugin_dir_variable_wins(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path, "5.100.0", "5.99.1")
    assert terraform.find_plugin_dir({"TF_PLUGIN_DIR": str(mirror)}) == mirror
    assert terraform.provider_versions(mirror) == ["5.100.0", "5.99.1"]


@pytest.mark.parametrize(
    ("version", "usable"),
    [("5.100.0", True), ("5.101.3", True), ("5.99.9", False), ("6.0.0", False), ("x.y", False)],
)
def test_provider_constraint(version: str, usable: bool) -> None:
    assert doctor._satisfies_constraint(version) is usable


def test_cli_config_uses_the_mirror_for_aws_only(tmp_path: Path) -> None:
    text = terraform.cli_config_text(tmp_path)
    assert f'path    = "{tmp_path}"' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text
    assert "plugin_cache_dir" not in terraform.cli_config_text(tmp_path)
    assert "plugin_cache_dir" in terraform.cli_config_text(None)


@pytest.mark.terraform
def test_terraform_runs_with_the_project_cli_config() -> None:
    assert shutil.which("terraform"), "terraform must be on PATH for `make test`"
    env = terraform.environment()
    assert Path(env["TF_CLI_CONFIG_FILE"]).read_text().startswith("# Written by snowplow-infra")
    assert terraform.version(terraform.require_binary()) >= terraform.MIN_VERSION


def test_extra_environment_cannot_replace_the_project_cli_config() -> None:
    env = terraform.environment({"TF_CLI_CONFIG_FILE": "/elsewhere/.terraformrc", "X_EXTRA": "1"})
    assert env["TF_CLI_CONFIG_FILE"] == str(terraform.CLI_CONFIG_PATH)
    assert env["X_EXTRA"] == "1"
