"""``snowplow-infra plan-seal``: the plan JSON leaves the plan job only encrypted, and only the
key that sealed it opens it; a changed file is refused, and the key is never printed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cryptography.fernet import Fernet

from tests.conftest import cli_path
from tests.test_plan_report import SHARED_PLANS

PLAN = SHARED_PLANS / "tfcompliance_test_issue_522.plan.out.json"


def run(*args: str | Path, key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PLAN_ENCRYPTION_KEY"}
    if key is not None:
        env["PLAN_ENCRYPTION_KEY"] = key
    return subprocess.run(
        [str(cli_path()), "plan-seal", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_a_sealed_plan_opens_with_its_key_only(tmp_path: Path) -> None:
    key = run("new-key", key=None).stdout.strip()
    Fernet(key.encode())  # a valid key
    sealed, opened = tmp_path / "plan.sealed", tmp_path / "plan.json"
    assert run("seal", PLAN, sealed, key=key).returncode == 0
    text = sealed.read_bytes()
    assert b"lambda_sg_id" not in text and b"resource_changes" not in text
    result = run("unseal", sealed, opened, key=key)
    assert result.returncode == 0, result.stderr
    assert opened.read_bytes() == PLAN.read_bytes()
    assert key not in result.stdout + result.stderr
    other = run("unseal", sealed, tmp_path / "other.json", key=Fernet.generate_key().decode())
    assert other.returncode == 1
    assert "was not sealed with the key in PLAN_ENCRYPTION_KEY" in other.stderr
    assert not (tmp_path / "other.json").exists()


def test_a_changed_sealed_file_is_refused(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    sealed = tmp_path / "plan.sealed"
    run("seal", PLAN, sealed, key=key)
    token = bytearray(sealed.read_bytes())
    token[len(token) // 2] ^= 0x01
    sealed.write_bytes(bytes(token))
    result = run("unseal", sealed, tmp_path / "plan.json", key=key)
    assert result.returncode == 1
    assert not (tmp_path / "plan.json").exists()


def test_a_missing_or_malformed_key_names_the_variable(tmp_path: Path) -> None:
    missing = run("seal", PLAN, tmp_path / "x", key=None)
    assert missing.returncode == 2
    assert "PLAN_ENCRYPTION_KEY is not set" in missing.stderr
    malformed = run("seal", PLAN, tmp_path / "x", key="not-a-key")
    assert malformed.returncode == 2
    assert "does not hold a Fernet key" in malformed.stderr
    assert "not-a-key" not in malformed.stderr
    absent = run(
        "seal", tmp_path / "absent.json", tmp_path / "x", key=Fernet.generate_key().decode()
    )
    assert absent.returncode == 2
    assert "absent.json does not exist" in absent.stderr
