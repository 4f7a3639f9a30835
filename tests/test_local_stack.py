"""The local stack's pieces that need no Terraform: the emulator's lifetime across commands, the
seeded account, the deployed Lambda zip run in its own process, the summary, emptying the
buckets for destroy, and the command's defaults and clear refusals. The whole flow is
tests/test_demo_e2e.py."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from snowplow_infra import sample_events, terraform
from snowplow_infra.cli import build_parser, main
from snowplow_infra.local import buckets, firehose, lifecycle, seed, server, summary
from snowplow_infra.local.lambda_runtime import (
    FunctionConfiguration,
    LambdaRuntimeError,
    LocalFunction,
)
from snowplow_infra.local.stack import Stack
from snowplow_infra.package_lambda import base64sha256, package
from snowplow_infra.paths import LAMBDA_SOURCE_DIR

REGION = "us-east-1"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[server.Server]:
    started = server.start(tmp_path / "work")
    yield started
    server.stop(tmp_path / "work")


# --- the emulator across commands -----------------------------------------------------------------


def test_a_started_emulator_is_found_by_the_next_command_and_stopped_by_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A narrow terminal (or CI runner) must not hide the port: ps cuts its lines at COLUMNS.
    monkeypatch.setenv("COLUMNS", "20")
    work = tmp_path / "work"
    started = server.start(work)
    try:
        assert server.find(work) == started
        assert json.loads(server.record_path(work).read_text()) == {
            "pid": started.pid,
            "port": started.port,
        }
        assert server.stop(work) is True
        assert server.find(work) is None
        assert not server.record_path(work).exists()
        with pytest.raises(ProcessLookupError):
            os.kill(started.pid, 0)
    finally:  # a failed assertion must not leave the server running
        with contextlib.suppress(ProcessLookupError):
            os.kill(started.pid, signal.SIGTERM)


def test_a_record_naming_another_process_is_never_signalled(tmp_path: Path) -> None:
    server.record_path(tmp_path).write_text(json.dumps({"pid": os.getpid(), "port": 1}))
    assert server.find(tmp_path) is None
    assert server.stop(tmp_path) is False  # this test process is still alive to assert it
    assert not server.record_path(tmp_path).exists()


# --- the seeded account ---------------------------------------------------------------------------


def test_seeding_creates_what_the_environment_expects_to_exist(
    running: server.Server, tmp_path: Path
) -> None:
    settings = seed.seed(running, REGION)
    settings.write(seed.var_file(tmp_path))
    variables = json.loads(seed.var_file(tmp_path).read_text())
    assert variables == dict(settings.variables)
    assert variables["prevent_destroy"] is False
    assert variables["iam_propagation_seconds"] == 0
    ec2 = running.client("ec2", REGION)
    subnets = ec2.describe_subnets(
        SubnetIds=variables["public_subnet_ids"] + variables["private_subnet_ids"]
    )["Subnets"]
    assert {s["VpcId"] for s in subnets} == {variables["vpc_id"]}
    assert len({s["AvailabilityZone"] for s in subnets}) == seed.ZONE_COUNT
    certificate = running.client("acm", REGION).describe_certificate(
        CertificateArn=variables["certificate_arn"]
    )["Certificate"]
    assert certificate["DomainName"] == seed.COLLECTOR_HOST_NAME
    assert variables["snowflake_storage_integration"]["iam_user_arn"].endswith(
        f":user/{seed.SNOWFLAKE_USER_NAME}"
    )
    assert variables["snowpipe_sqs_queue_arn"].endswith(f":{seed.SNOWPIPE_QUEUE_NAME}")
    assert "PRIVATE KEY" not in seed.var_file(tmp_path).read_text()
    assert seed.is_seeded(running, REGION, settings)
    assert seed.LocalSettings.read(tmp_path / "missing.json") is None


# --- the deployed function, run locally -----------------------------------------------------------


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package(LAMBDA_SOURCE_DIR, tmp_path_factory.mktemp("lambda") / "fn.zip").zip_path


def configuration(zip_path: Path, **changes: object) -> FunctionConfiguration:
    values: dict[str, object] = {
        "name": "snowplow-pseudonymize-enriched",
        "arn": f"arn:aws:lambda:{REGION}:123456789012:function:snowplow-pseudonymize-enriched",
        "handler": "handler.lambda_handler",
        "runtime": "python3.12",
        "memory_mb": 512,
        "timeout_seconds": 60,
        "code_sha256": base64sha256(zip_path.read_bytes()),
        "variables": {"SALT_SECRET_ID": "snowplow/salt", "RECORD_FORMAT": "enriched"},
    }
    return FunctionConfiguration(**(values | changes))  # type: ignore[arg-type]


def test_the_deployed_zip_pseudonymizes_with_the_salt_from_the_emulator(
    running: server.Server, built_zip: Path, tmp_path: Path
) -> None:
    salt = "demo salt for this test, 32 bytes or more"
    running.client("secretsmanager", REGION).create_secret(Name="snowplow/salt", SecretString=salt)
    samples = sample_events.enriched_events(20)
    event = sample_events.firehose_event(sample_events.samples_text(samples))
    client_env = running.client_environment(REGION)
    with LocalFunction(configuration(built_zip), built_zip, client_env, tmp_path) as function:
        outcome = function.invoke(event)
    assert outcome.error is None
    outputs = sample_events.decoded_outputs(outcome.response)  # type: ignore[arg-type]
    assert len(outputs) == 20
    ip_address = sample_events.FIELD_NAMES.index("user_ipaddress")
    first_ip = samples[0].text.split("\t")[ip_address]
    assert outputs[0].split("\t")[ip_address] == summary.pseudonym(salt.encode(), first_ip)
    log = (tmp_path / "snowplow-pseudonymize-enriched.log").read_text()
    assert '"RecordsOk":20' in log
    assert not any(value in log for sample in samples for value in sample.planted)


def test_code_other_than_the_deployed_code_is_refused(built_zip: Path, tmp_path: Path) -> None:
    stale = configuration(built_zip, code_sha256=base64.b64encode(b"0" * 32).decode())
    with (
        pytest.raises(LambdaRuntimeError, match="not the code deployed"),
        LocalFunction(stale, built_zip, {}, tmp_path),
    ):
        pass


def handler_zip(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "handler.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("handler.py", source)
    return path


def test_a_function_error_and_a_timeout_are_firehoses_error_codes(tmp_path: Path) -> None:
    source = (
        "import time\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('sleep'):\n"
        "        time.sleep(event['sleep'])\n"
        "    if event.get('fail'):\n"
        "        raise ValueError('no')\n"
        "    return {'records': [], 'isolated': __import__('importlib.util').util.find_spec("
        "'snowplow_infra') is None}\n"
    )
    zip_path = handler_zip(tmp_path, source)
    config = configuration(zip_path, timeout_seconds=1)
    with LocalFunction(config, zip_path, {}, tmp_path / "logs") as function:
        assert function.invoke({}).response == {"records": [], "isolated": True}
        assert function.invoke({"fail": True}).error == firehose.FUNCTION_ERROR
        assert function.invoke({"sleep": 5}).error == firehose.FUNCTION_TIMED_OUT
        assert function.invoke({}).error is None  # a new process after the timeout
        assert function.errors == 2
    assert "[ERROR] ValueError: no" in (tmp_path / "logs" / f"{config.name}.log").read_text()


# --- the summary ----------------------------------------------------------------------------------


def test_the_event_comparison_verifies_every_hashed_field_against_the_salt() -> None:
    salt = b"salt"
    (sample,) = sample_events.enriched_events(1)
    fields = sample.text.split("\t")
    names = sample_events.FIELD_NAMES
    hashed = dict.fromkeys(("user_ipaddress", "useragent", "page_url"))
    after = [
        summary.pseudonym(salt, value) if name in hashed and value else value
        for name, value in zip(names, fields, strict=True)
    ]
    after[names.index("page_title")] = "something else"
    contexts = json.loads(fields[names.index("contexts")])
    web_page = contexts["data"][0]["data"]
    web_page["id"] = summary.pseudonym(salt, web_page["id"])
    after[names.index("contexts")] = json.dumps(contexts)
    changes = {c.name: c.mark for c in summary.compare_event(sample.text, "\t".join(after), salt)}
    assert changes["user_ipaddress"] == "hashed (HMAC-SHA256 verified)"
    assert changes["app_id"] == "kept"
    assert changes["page_title"] == "CHANGED, NOT BY THE RULE"
    assert changes["contexts"].startswith("JSON: 1 values hashed (verified), ")
    assert "CHANGED" not in changes["contexts"]
    assert changes["derived_contexts"] == "kept"


# --- the command ----------------------------------------------------------------------------------


def test_a_missing_terraform_is_named_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["local", "up", "--work-dir", str(tmp_path / "work")]) == 1
    error = capsys.readouterr().err
    assert "terraform: not found on PATH" in error
    assert "Fix: install Terraform" in error
    assert not server.record_path(tmp_path / "work").exists()


def test_down_without_a_stack_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "down", "--work-dir", str(tmp_path)]) == 0
    assert "nothing to tear down" in capsys.readouterr().out


def test_down_after_the_emulator_died_discards_the_stale_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = lifecycle.LocalRun("aws-snowplow", tmp_path, REGION, quiet=True)
    run.stack.terraform_dir.mkdir(parents=True)
    run.stack.state_path.write_text(json.dumps({"resources": [{"type": "aws_kms_key"}]}))
    server.record_path(tmp_path).write_text(json.dumps({"pid": 2**22 + 1, "port": 1}))
    assert main(["local", "down", "--work-dir", str(tmp_path)]) == 0
    assert "discarding the stale local Terraform state" in capsys.readouterr().out
    assert not run.stack.state_path.exists() and not run.leftovers()


def _stack_with_resources(monkeypatch: pytest.MonkeyPatch, destroys: list[bool]) -> list[int]:
    """A stack whose state holds resources until a destroy succeeds; each destroy fails or
    succeeds as ``destroys`` says, in order. Returns the list the destroys are counted in."""
    state = {"resources": True}
    calls: list[int] = []

    def destroy(_self: Stack, _server: server.Server, _var_file: Path, *, capture: bool) -> None:
        calls.append(1)
        if not destroys[len(calls) - 1]:
            raise terraform.TerraformError("`terraform destroy` of aws-snowplow failed (exit 1).")
        state["resources"] = False

    monkeypatch.setattr(Stack, "has_state", lambda _self: state["resources"])
    monkeypatch.setattr(Stack, "outputs", lambda _self, _server: {"bucket_names": {}})
    monkeypatch.setattr(Stack, "resource_count", lambda _self: 3)
    monkeypatch.setattr(Stack, "destroy", destroy)
    return calls


def test_down_runs_destroy_once_more_after_a_failure(
    running: server.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls = _stack_with_resources(monkeypatch, [False, True])
    lifecycle.tear_down(lifecycle.LocalRun("aws-snowplow", tmp_path / "work", REGION, quiet=True))
    out = capsys.readouterr().out
    assert len(calls) == 2
    assert "failed (exit 1). Running terraform destroy once more" in out
    assert "destroyed in" in out
    assert server.find(tmp_path / "work") is None


def test_down_fails_when_destroy_fails_twice(
    running: server.Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _stack_with_resources(monkeypatch, [False, False])
    run = lifecycle.LocalRun("aws-snowplow", tmp_path / "work", REGION, quiet=True)
    with pytest.raises(terraform.TerraformError, match="destroy` of aws-snowplow failed"):
        lifecycle.tear_down(run)
    assert len(calls) == 2
    assert server.find(tmp_path / "work") is None  # the emulator is stopped all the same


@pytest.mark.parametrize(
    ("argv", "quiet"),
    [
        (["local", "down"], True),
        (["local", "down", "-v"], False),
        (["local", "down", "--verbose"], False),
        (["local", "demo"], False),
        (["local", "demo", "--quiet"], True),
        (["local", "up"], False),
    ],
)
def test_down_keeps_terraforms_output_in_its_log_unless_verbose(
    argv: list[str], quiet: bool
) -> None:
    assert build_parser().parse_args(argv).quiet is quiet


def test_quiet_and_verbose_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["local", "down", "--quiet", "-v"])
    assert "not allowed with argument" in capsys.readouterr().err


# --- emptying the buckets for destroy -------------------------------------------------------------

EVENTS_BUCKET = "gitlab-com-snowplow-events"
LOG_BUCKET = "gitlab-com-snowplow-access-logs"
DENY_INSECURE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{EVENTS_BUCKET}", f"arn:aws:s3:::{EVENTS_BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


LOG_DELIVERY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{LOG_BUCKET}/*",
        }
    ],
}


def _versions(s3: Any, bucket: str) -> int:
    return sum(
        len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
    )


def test_emptying_deletes_every_version_and_marker_so_the_buckets_can_be_deleted() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for name in (EVENTS_BUCKET, LOG_BUCKET):
            s3.create_bucket(Bucket=name)
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_policy(Bucket=LOG_BUCKET, Policy=json.dumps(LOG_DELIVERY))
        s3.put_bucket_logging(
            Bucket=EVENTS_BUCKET,
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": LOG_BUCKET, "TargetPrefix": "s3/"}
            },
        )
        for number in range(1005):  # more than one DeleteObjects request can take
            s3.put_object(Bucket=EVENTS_BUCKET, Key=f"output/{number % 3}", Body=b"x")
        s3.delete_object(Bucket=EVENTS_BUCKET, Key="output/0")  # a delete marker
        s3.put_bucket_policy(Bucket=EVENTS_BUCKET, Policy=json.dumps(DENY_INSECURE))
        held = _versions(s3, EVENTS_BUCKET) + _versions(s3, LOG_BUCKET)
        assert held >= 1006
        # at least what was there: moto logs the listing requests above into the log bucket
        assert buckets.empty(s3, [EVENTS_BUCKET, LOG_BUCKET]) >= held
        assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=EVENTS_BUCKET)
        for name in (EVENTS_BUCKET, LOG_BUCKET):
            s3.delete_bucket(Bucket=name)
        assert s3.list_buckets()["Buckets"] == []
