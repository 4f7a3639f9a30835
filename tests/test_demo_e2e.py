"""`make demo` end to end: `snowplow-infra local demo` applies aws-snowplow to moto server, sends
generated events through the deployed Lambda zip as Firehose would, and `local down` destroys
the stack and stops the emulator. Also: a second demo reuses the stack, and Ctrl-C leaves nothing
running.

One apply and one destroy for the module (the stack fixture); the commands run as a user runs
them, in subprocesses. The assertions read what the demo wrote back from the emulator.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from snowplow_infra import emulator, pipeline, terraform
from snowplow_infra.aws_constraints.check import check_plan
from snowplow_infra.local import feed, server
from snowplow_infra.local.report import REPORT_FILE_NAME
from snowplow_infra.local.stack import PROVIDER_OVERRIDE_FILE_NAME, TERRAFORM_DIR_NAME
from snowplow_infra.local_backend import local_backend
from snowplow_infra.paths import environment_dir
from snowplow_infra.sample_events import FIELD_NAMES
from tests.conftest import cli_path

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.terraform]

ENVIRONMENT = pipeline.DEFAULT_ENVIRONMENT
EVENTS = 600
SEED = 3
EVENT_ID = FIELD_NAMES.index("event_id")


def local(
    work_dir: Path, *args: str, timeout: float = 900, quiet: bool = True
) -> subprocess.CompletedProcess[str]:
    """`snowplow-infra local ARGS --work-dir WORK_DIR [--quiet]`, as a user runs it."""
    return subprocess.run(
        [
            str(cli_path()),
            "local",
            *args,
            "--work-dir",
            str(work_dir),
            *(["--quiet"] if quiet else []),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def artifacts() -> None:
    """The real build artifacts the environment reads (as `make demo` builds them first)."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH; the demo needs it (see snowplow-infra doctor)")
    for command in (["package-lambda"], ["render-configs", "--env", ENVIRONMENT]):
        built = subprocess.run(
            [str(cli_path()), *command], capture_output=True, text=True, check=False
        )
        assert built.returncode == 0, built.stderr


@dataclass
class Demo:
    """One `local demo` run: its output, its report, and the emulator it left running."""

    result: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    running: server.Server
    seconds: float


@pytest.fixture(scope="module")
def work_dir(artifacts: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo's work folder; `local down` runs at the end whatever happened."""
    path = tmp_path_factory.mktemp("local")
    yield path
    local(path, "down")


def run_demo(work_dir: Path, seed: int) -> Demo:
    started = time.monotonic()
    result = local(work_dir, "demo", "--events", str(EVENTS), "--seed", str(seed))
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr}"
    running = server.find(work_dir)
    assert running is not None, "the demo must leave the emulator running for `local down`"
    report = json.loads((work_dir / REPORT_FILE_NAME).read_text())
    return Demo(result, report, running, seconds)


@pytest.fixture(scope="module")
def first(work_dir: Path) -> Demo:
    return run_demo(work_dir, SEED)


def fed_records(demo: Demo) -> dict[str, list[feed.Record]]:
    """What the run put on the streams, generated again from its recorded inputs."""
    start = datetime.datetime.fromisoformat(demo.report["events_start"])
    return feed.records(demo.report["events"], seed=demo.report["seed"], start=start)


def read(demo: Demo, bucket: str, key: str) -> bytes:
    s3 = demo.running.client("s3", pipeline.load(ENVIRONMENT).region)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert key.endswith(".gz"), f"{key}: the delivery streams compress with GZIP"
    return gzip.decompress(body)


def test_every_event_is_delivered_pseudonymized_and_nothing_planted_survives(first: Demo) -> None:
    fed = fed_records(first)
    planted = {value for records in fed.values() for record in records for value in record.planted}
    assert len(planted) > 100
    assert first.report["planted_found"] == 0
    for role, delivery in first.report["deliveries"].items():
        good = [record for record in fed[role] if not record.malformed]
        assert delivery["records_in"] == len(fed[role]), role
        prefix = pipeline.load(ENVIRONMENT).delivery[role].prefix
        assert delivery["objects"], role
        lines: list[bytes] = []
        for key in delivery["objects"]:
            assert key.startswith(prefix) and f"/{delivery['delivery_stream']}-1-" in key, key
            text = read(first, delivery["bucket"], key)
            found = [value for value in planted if value in text.decode("utf-8")]
            assert not found, f"{key} holds planted personal values: {found[:3]}"
            lines += text.splitlines()
        assert len(lines) == len(good), f"{role}: every event is delivered, once"
        if role == "enriched_good":
            delivered_ids = {line.split(b"\t")[EVENT_ID].decode() for line in lines}
            assert delivered_ids == {record.partition_key for record in good}


def applied(work_dir: Path, resource_type: str, module: str) -> dict[str, Any]:
    """The attributes of ``module``'s one ``resource_type`` in the demo's local state."""
    state = json.loads((work_dir / TERRAFORM_DIR_NAME / "terraform.tfstate").read_text())
    found = [
        instance["attributes"]
        for resource in state["resources"]
        if resource["type"] == resource_type and resource.get("module") == module
        for instance in resource["instances"]
    ]
    assert len(found) == 1, (resource_type, module, len(found))
    attributes: dict[str, Any] = found[0]
    return attributes


def test_the_events_bucket_pins_its_key_and_restricts_failed_records_and_salt_links(
    first: Demo, work_dir: Path
) -> None:
    """The applied policy, which a fresh plan cannot show (it names the storage key's ARN): failed
    records readable by break-glass and the replay role only, salt links by their reader only. Read
    from the state: the demo deletes bucket policies in the emulator, which cannot evaluate them
    (docs/local-demo.md)."""
    module = 'module.bucket["events"]'
    policy = json.loads(applied(work_dir, "aws_s3_bucket_policy", module)["policy"])
    encryption = applied(work_dir, "aws_s3_bucket_server_side_encryption_configuration", module)
    key_arn = encryption["rule"][0]["apply_server_side_encryption_by_default"][0][
        "kms_master_key_id"
    ]
    assert key_arn.startswith("arn:aws:kms:")
    by_sid = {statement["Sid"]: statement for statement in policy["Statement"]}
    assert by_sid["DenyUploadsWithAnotherKmsKey"]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn},
        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
    }
    assert by_sid["DenyKmsUploadsWithoutTheKey"]["Condition"] == {
        "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"},
    }
    bucket = pipeline.load(ENVIRONMENT).buckets["events"]
    replay_role = applied(work_dir, "aws_iam_role", "module.replay_role")["name"]
    expected_readers = {
        "processing-failed/": [r"snowplow-break-glass", re.escape(replay_role)],
        "salt-links/": [r"snowplow-salt-links-reader"],
    }
    for prefix, roles in expected_readers.items():
        restricted = [
            statement
            for statement in policy["Statement"]
            if statement["Effect"] == "Deny"
            and statement["Resource"] == f"arn:aws:s3:::{bucket}/{prefix}*"
        ]
        assert len(restricted) == 1, prefix
        assert restricted[0]["Principal"] == {"AWS": "*"}
        assert restricted[0]["Action"] == "s3:GetObject*"
        readers = restricted[0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
        readers = [readers] if isinstance(readers, str) else readers
        assert len(readers) == len(roles), (prefix, readers)
        for reader, role in zip(readers, roles, strict=True):
            assert re.fullmatch(rf"arn:aws:iam::\d{{12}}:role/{role}", reader), (prefix, reader)


def test_what_the_demo_applied_keeps_to_awss_constraints(first: Demo, work_dir: Path) -> None:
    """The demo's configuration (its own variable file: a Snowflake integration, a Snowpipe queue)
    as the emulator applied it, every value known, through the check CI runs on the plan."""
    state = json.loads((work_dir / TERRAFORM_DIR_NAME / "terraform.tfstate").read_text())
    as_plan = {
        "resource_changes": [
            {
                "address": ".".join(
                    part
                    for part in (
                        resource.get("module"),
                        f"{resource['type']}.{resource['name']}",
                    )
                    if part
                )
                + ("" if "index_key" not in instance else json.dumps([instance["index_key"]])),
                "mode": resource["mode"],
                "type": resource["type"],
                "change": {"actions": ["create"], "after": instance["attributes"]},
            }
            for resource in state["resources"]
            for instance in resource["instances"]
        ]
    }
    assert len(as_plan["resource_changes"]) > 100
    violations = check_plan(as_plan)
    assert not violations, "\n".join(str(v) for v in violations)


def test_malformed_records_sit_only_under_the_error_prefix(first: Demo) -> None:
    fed = fed_records(first)
    for role, delivery in first.report["deliveries"].items():
        malformed = sorted(record.data for record in fed[role] if record.malformed)
        assert malformed, f"{role}: the demo feeds malformed records"
        error_prefix = f"processing-failed/{pipeline.load(ENVIRONMENT).delivery[role].prefix}"
        raw: list[bytes] = []
        for key in delivery["error_objects"]:
            assert key.startswith(f"{error_prefix}processing-failed/"), key
            for line in read(first, delivery["bucket"], key).splitlines():
                document = json.loads(line)
                assert document["errorCode"] == "Lambda.ProcessingFailedStatus"
                assert document["lambdaArn"].endswith(
                    ":function:"
                    + pipeline.load(ENVIRONMENT).pseudonymization.functions[
                        pipeline.load(ENVIRONMENT).delivery[role].record_format
                    ]
                )
                raw.append(base64.b64decode(document["rawData"]))
        assert sorted(raw) == malformed, f"{role}: exactly the malformed records failed"
        assert delivery["failed"] == len(malformed)
        nonempty = [data for data in malformed if data]
        for key in delivery["objects"]:
            text = read(first, delivery["bucket"], key)
            assert not any(data in text for data in nonempty), f"{key} holds a malformed record"


def test_the_summary_shows_the_counts_and_one_event_before_and_after(first: Demo) -> None:
    out = first.result.stdout
    assert "snowplow-enriched-good-to-s3" in out and "to processing-failed/" in out
    assert "hashed (HMAC-SHA256 verified)" in out and "kept" in out
    assert "CHANGED, NOT BY THE RULE" not in out
    assert "Planted personal values found in the delivered objects: 0 of" in out


def test_a_second_demo_reuses_the_stack_and_delivers_only_the_new_records(
    first: Demo, work_dir: Path
) -> None:
    second = run_demo(work_dir, SEED + 1)
    assert "reusing the stack applied in the emulator" in second.result.stdout
    assert "terraform apply" not in second.result.stdout
    assert second.running == first.running
    fed = fed_records(second)
    for role, delivery in second.report["deliveries"].items():
        assert delivery["records_in"] == len(fed[role]), role
        assert not set(delivery["objects"]) & set(first.report["deliveries"][role]["objects"])


def test_down_destroys_the_stack_and_stops_the_emulator(first: Demo, work_dir: Path) -> None:
    started = time.monotonic()
    result = local(work_dir, "down", quiet=False)  # as `make down` runs it
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert len(lines) <= 8, "down prints a short summary; terraform's output goes to its log"
    assert re.search(r"emptied \d+ buckets \(\d+ object versions\)", result.stdout), lines
    assert re.search(r"terraform destroy of \S+: \d+ resources; terraform's output", result.stdout)
    print(f"local down: {time.monotonic() - started:.0f} s; first demo: {first.seconds:.0f} s")
    destroy_log = (work_dir / TERRAFORM_DIR_NAME / "destroy.log").read_text()
    assert "Destroy complete!" in destroy_log
    with pytest.raises(ProcessLookupError):
        os.kill(first.running.pid, 0)
    assert not emulator.is_up(first.running.endpoint)
    assert server.find(work_dir) is None and not server.record_path(work_dir).exists()
    assert not list((work_dir / TERRAFORM_DIR_NAME).glob("terraform.tfstate"))
    assert_no_override_left(work_dir)


def assert_no_override_left(work_dir: Path) -> None:
    """The run removed its provider override. Checked while holding the environment's lock, so
    that no other local run (make plan, a test) can be writing its own at that moment."""
    env_dir = environment_dir(ENVIRONMENT)
    with local_backend(env_dir, work_dir / "override-check"):
        assert not (env_dir / PROVIDER_OVERRIDE_FILE_NAME).exists()


def _processes() -> list[tuple[int, int, str]]:
    """(parent pid, process group, full command line) of every process (ps, Linux and macOS;
    -ww: not cut to the terminal width that COLUMNS may set)."""
    listing = subprocess.run(
        ["ps", "-ww", "-A", "-o", "ppid=,pgid=,args="], capture_output=True, text=True, check=False
    )
    rows = (line.strip().split(None, 2) for line in listing.stdout.splitlines())
    return [(int(row[0]), int(row[1]), row[2]) for row in rows if len(row) == 3]


def _wait_for(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_during_apply_leaves_nothing_running(artifacts: None, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [str(cli_path()), "local", "up", "--work-dir", str(tmp_path), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )

    def applying() -> bool:
        """terraform apply runs, with its AWS provider (the process that must not be
        orphaned)."""
        assert process.poll() is None, process.communicate()
        group = [args for _, pgid, args in _processes() if pgid == process.pid]
        return any("terraform apply" in args for args in group) and any(
            "terraform-provider-aws" in args for args in group
        )

    _wait_for(applying, "terraform apply started its provider", timeout=300)
    recorded = server.find(tmp_path)
    assert recorded is not None
    iam = recorded.client("iam", pipeline.load(ENVIRONMENT).region)
    _wait_for(lambda: bool(iam.list_roles()["Roles"]), "the apply created a role", timeout=120)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    # terraform is given a minute to stop gracefully before it is killed
    _, stderr = process.communicate(timeout=terraform.INTERRUPT_GRACE_SECONDS + 60)
    assert process.returncode == 130, stderr
    assert "nothing is left running" in stderr
    # no terraform, provider or function process is left in the command's process group
    _wait_for(lambda: not _group_alive(process.pid), "the process group emptied", timeout=10)
    with pytest.raises(ProcessLookupError):
        os.kill(recorded.pid, 0)  # the emulator (its own session) is stopped too
    assert not server.record_path(tmp_path).exists()
    assert_no_override_left(tmp_path)
