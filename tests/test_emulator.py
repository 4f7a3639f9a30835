"""The local AWS emulator starts, answers boto3 through the environment alone, and stops."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from snowplow_infra import emulator


def test_emulator_serves_boto3_through_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator.start(tmp_path) as server:
        for key in emulator.CLEARED_VARIABLES:
            monkeypatch.delenv(key, raising=False)
        for key, value in emulator.client_environment(server.endpoint, "eu-west-1").items():
            monkeypatch.setenv(key, value)
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket="emulator-check", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["emulator-check"]
        assert boto3.client("sts").get_caller_identity()["Account"].isdigit()
    assert server.process.poll() is not None
    assert not emulator.is_up(server.endpoint)
    assert (tmp_path / "moto.log").is_file()


def test_a_port_in_use_is_refused_before_starting(tmp_path: Path) -> None:
    error = emulator.EmulatorError
    with emulator.start(tmp_path) as first, pytest.raises(error, match="already in use"):
        emulator.start(tmp_path / "second", port=first.port)
    assert not (tmp_path / "second" / "moto.log").exists()


def test_ctrl_c_while_waiting_for_the_server_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[emulator.Emulator] = []

    def interrupted(server: emulator.Emulator) -> None:
        started.append(server)
        raise KeyboardInterrupt

    monkeypatch.setattr(emulator, "_wait_until_up", interrupted)
    with pytest.raises(KeyboardInterrupt):
        emulator.start(tmp_path)
    assert started and started[0].process.poll() is not None
