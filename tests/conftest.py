"""Shared test helpers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snowplow_infra import pipeline, plan
from snowplow_infra.paths import REPO_ROOT
from snowplow_infra.plan import PlanResult

VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


def cli_path() -> Path:
    """The installed ``snowplow-infra`` console script of the running virtualenv."""
    return VENV_BIN / "snowplow-infra"


# --- the aws-snowplow plan: planned once per session, shared by every test reading it ---


@pytest.fixture(scope="session")
def environment_plan(tmp_path_factory: pytest.TempPathFactory) -> PlanResult:
    """aws-snowplow planned against the emulator, as `make plan` does: the real build artifacts
    are built first (`package-lambda`, `render-configs`), then `snowplow-infra plan`'s code plans
    into a temporary folder. ``.plan`` is the parsed `terraform show -json`; ``.tfplan`` and
    ``.json_path`` are the files. Mark tests that use it `terraform` and `slow`."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH; the plan needs it (see snowplow-infra doctor)")
    for command in (["package-lambda"], ["render-configs", "--env", pipeline.DEFAULT_ENVIRONMENT]):
        built = subprocess.run(
            [str(cli_path()), *command], capture_output=True, text=True, check=False
        )
        if built.returncode != 0:
            pytest.fail(f"snowplow-infra {' '.join(command)} failed:\n{built.stderr}")
    return plan.plan_environment(pipeline.DEFAULT_ENVIRONMENT, tmp_path_factory.mktemp("plan"))
