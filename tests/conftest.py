"""Shared test helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from snowplow_infra.paths import REPO_ROOT

VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


def cli_path() -> Path:
    """The installed ``snowplow-infra`` console script of the running virtualenv."""
    return VENV_BIN / "snowplow-infra"
