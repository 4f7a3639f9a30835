"""``snowplow-infra salt status|rotate|prune``: the rules, and the commands against the emulator."""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snowplow_infra import cli, pipeline, salt_rotation
from snowplow_infra.local import server
from snowplow_infra.salt_versions_file import lambda_salt_versions

UTC = datetime.UTC
NOW = datetime.datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
PLAIN = "a plain salt of 32 bytes or more, 7d2f09"
SECRET_ID = "snowplow/pseudonymization-salt"
HOUR = datetime.timedelta(hours=1)
VALUES = pipeline.load()


def salts_of(document: str) -> list[str]:
    return [item["salt"] for item in json.loads(document)["versions"]]


# --- the rules ------------------------------------------------------------------------------------


def test_rotating_a_plain_salt_keeps_it_as_version_0() -> None:
    at = NOW + 2 * HOUR
    document, new_id = salt_rotation.rotated(PLAIN, SECRET_ID, at, NOW, ttl_seconds=900)
    items = json.loads(document)["versions"]
    assert new_id == "1"
    assert [(i["id"], i["active_from"]) for i in items] == [
        ("0", "1970-01-01T00:00:00Z"),
        ("1", "2027-02-01T14:00:00Z"),
    ]
    assert items[0]["salt"] == PLAIN, "old pseudonyms stay what they were"
    assert re.fullmatch(r"[0-9a-f]{64}", items[1]["salt"]), "32 random bytes from secrets"
    versions = lambda_salt_versions().parse_salt_secret(document, SECRET_ID)
    assert versions.for_arrival(salt_rotation.epoch_ms(at) - 1, 1).id == "0"
    assert versions.for_arrival(salt_rotation.epoch_ms(at), 1).id == "1"


def test_two_rotations_never_share_a_salt() -> None:
    first, _ = salt_rotation.rotated(PLAIN, SECRET_ID, NOW + HOUR, NOW, 900)
    second, new_id = salt_rotation.rotated(first, SECRET_ID, NOW + 3 * HOUR, NOW, 900)
    assert new_id == "2"
    assert len(set(salts_of(second))) == 3


def test_a_rotation_sooner_than_twice_the_ttl_is_refused() -> None:
    ttl = 900.0
    earliest = NOW + datetime.timedelta(seconds=2 * ttl)
    salt_rotation.rotated(PLAIN, SECRET_ID, earliest, NOW, ttl)  # exactly 2 x TTL: accepted
    with pytest.raises(salt_rotation.RotationError, match="sooner than 2 x") as raised:
        salt_rotation.rotated(
            PLAIN, SECRET_ID, earliest - datetime.timedelta(milliseconds=1), NOW, ttl
        )
    assert "2027-02-01T12:30:00Z" in str(raised.value), "the earliest time allowed is named"
    assert PLAIN not in str(raised.value)


def test_a_new_version_must_be_the_newest() -> None:
    document, _ = salt_rotation.rotated(PLAIN, SECRET_ID, NOW + 5 * HOUR, NOW, 900)
    with pytest.raises(salt_rotation.RotationError, match="must be the newest"):
        salt_rotation.rotated(document, SECRET_ID, NOW + 4 * HOUR, NOW, 900)
    with pytest.raises(salt_rotation.RotationError, match="must be the newest"):
        salt_rotation.rotated(document, SECRET_ID, NOW + 5 * HOUR, NOW, 900)


def test_an_invalid_secret_is_not_rotated() -> None:
    with pytest.raises(RuntimeError, match="shorter than 32 bytes"):
        salt_rotation.rotated("short", SECRET_ID, NOW + HOUR, NOW, 900)
    with pytest.raises(RuntimeError, match="same id"):
        salt_rotation.rotated(PLAIN, SECRET_ID, NOW + HOUR, NOW, 900, version_id="0")


def test_prune_keeps_a_version_until_its_successor_has_been_active_long_enough() -> None:
    document, _ = salt_rotation.rotated(PLAIN, SECRET_ID, NOW + HOUR, NOW, 900)
    document, _ = salt_rotation.rotated(document, SECRET_ID, NOW + 10 * HOUR, NOW, 900)
    keep_for = datetime.timedelta(days=16)
    activation_1 = NOW + HOUR
    assert salt_rotation.prunable(document, SECRET_ID, activation_1 + keep_for, keep_for) == ["0"]
    before = activation_1 + keep_for - datetime.timedelta(milliseconds=1)
    assert salt_rotation.prunable(document, SECRET_ID, before, keep_for) == []
    much_later = NOW + datetime.timedelta(days=400)
    assert salt_rotation.prunable(document, SECRET_ID, much_later, keep_for) == ["0", "1"]
    remaining = salt_rotation.pruned(document, SECRET_ID, ["0", "1"])
    assert [item["id"] for item in json.loads(remaining)["versions"]] == ["2"]
    assert salt_rotation.status(remaining, SECRET_ID, much_later)[0].state == "active"


def test_status_names_the_active_version() -> None:
    document, _ = salt_rotation.rotated(PLAIN, SECRET_ID, NOW + HOUR, NOW, 900)
    rows = salt_rotation.status(document, SECRET_ID, NOW)
    assert [(r.id, r.state) for r in rows] == [("0", "active"), ("1", "scheduled")]
    rows = salt_rotation.status(document, SECRET_ID, NOW + HOUR)
    assert [(r.id, r.state) for r in rows] == [("0", "previous"), ("1", "active")]
    assert rows[1].active_from == "2027-02-01T13:00:00.000Z"


# --- the commands against the emulator ------------------------------------------------------------


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[tuple[Path, Any]]:
    """A moto server recorded under a work dir (as `local up` leaves it) with the salt secret."""
    work = tmp_path / "work"
    running = server.start(work)
    try:
        secrets = running.client("secretsmanager", VALUES.region)
        secrets.create_secret(Name=VALUES.pseudonymization.salt_secret_name, SecretString=PLAIN)
        yield work, running
    finally:
        server.stop(work)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["salt", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def current(running: Any) -> str:
    client = running.client("secretsmanager", VALUES.region)
    value: str = client.get_secret_value(
        SecretId=VALUES.pseudonymization.salt_secret_name, VersionStage="AWSCURRENT"
    )["SecretString"]
    return value


def deploy_functions(running: Any, ttl: str | None) -> None:
    """The functions that read the salt, as Terraform creates them (their environment only)."""
    iam = running.client("iam", VALUES.region)
    role = iam.create_role(
        RoleName="fn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as bundle:
        bundle.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    functions = running.client("lambda", VALUES.region)
    for name in VALUES.pseudonymization.functions.values():
        variables = {"SALT_SECRET_ID": VALUES.pseudonymization.salt_secret_name}
        if ttl is not None and name.endswith("enriched"):
            variables["SALT_TTL_SECONDS"] = ttl
        functions.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": package.getvalue()},
            Environment={"Variables": variables},
        )


def test_status_rotate_prune_against_the_emulator(
    emulator: tuple[Path, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    work, running = emulator
    local = ["--local", "--work-dir", str(work)]
    code, out, _ = run(capsys, "status", *local)
    assert code == 0
    assert re.search(r"^  0 +always +active$", out, re.MULTILINE), out

    deploy_functions(running, ttl="1800")
    now = datetime.datetime.now(UTC)
    too_soon = salt_rotation.utc(now + datetime.timedelta(minutes=59))
    code, _, err = run(capsys, "rotate", *local, "--at", too_soon)
    assert code == 1
    assert "sooner than 2 x the functions' salt TTL (1800 s)" in err, "the largest TTL counts"
    assert current(running) == PLAIN, "nothing written"

    at = (now + datetime.timedelta(hours=2)).replace(microsecond=0)
    code, out, _ = run(capsys, "rotate", *local, "--at", salt_rotation.utc(at))
    assert code == 0, out
    document = current(running)
    assert [item["id"] for item in json.loads(document)["versions"]] == ["0", "1"]
    for salt in salts_of(document):
        assert salt not in out, "a salt is never printed"
    rollback = re.search(r"--move-to-version-id (\S+) --remove-from-version-id (\S+)", out)
    assert rollback is not None

    code, out, _ = run(capsys, "status", *local)
    assert re.search(r"^  1 +\S+ +scheduled$", out, re.MULTILINE), out
    code, out, _ = run(capsys, "prune", *local)
    assert code == 0 and out.startswith("Nothing to prune: a version is kept until its successor")
    assert "stream retention 48 h + error prefix expiry 7 d + replay 7 d" in out

    # the rollback the command printed restores the previous value
    client = running.client("secretsmanager", VALUES.region)
    client.update_secret_version_stage(
        SecretId=VALUES.pseudonymization.salt_secret_name,
        VersionStage="AWSCURRENT",
        MoveToVersionId=rollback.group(1),
        RemoveFromVersionId=rollback.group(2),
    )
    assert current(running) == PLAIN


def test_prune_against_the_emulator_removes_what_no_record_needs(
    emulator: tuple[Path, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    work, running = emulator
    old = {
        "versions": [
            {"id": "1", "salt": PLAIN, "active_from": "2020-01-01T00:00:00Z"},
            {"id": "2", "salt": PLAIN + "2", "active_from": "2020-06-01T00:00:00Z"},
            {"id": "3", "salt": PLAIN + "3", "active_from": "2099-01-01T00:00:00Z"},
        ]
    }
    client = running.client("secretsmanager", VALUES.region)
    client.put_secret_value(
        SecretId=VALUES.pseudonymization.salt_secret_name, SecretString=json.dumps(old)
    )
    local = ["--local", "--work-dir", str(work)]
    code, out, _ = run(capsys, "prune", *local, "--dry-run")
    assert code == 0 and out.startswith("Would remove salt versions 1 (")
    assert json.loads(current(running)) == old
    code, out, _ = run(capsys, "prune", *local)
    assert code == 0 and out.startswith("Removed salt versions 1 (")
    assert [item["id"] for item in json.loads(current(running))["versions"]] == ["2", "3"]
    assert PLAIN not in out


def test_without_an_emulator_or_a_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status", "--local", "--work-dir", str(tmp_path))
    assert code == 1 and "No local emulator is running" in err


def test_rotate_needs_a_valid_time(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["salt", "rotate", "--local", "--at", "tomorrow"])
    assert '"active_from" must be a UTC time' in capsys.readouterr().err
