"""`snowplow-infra plan`: the local backend helper, the emulator's lifetime, and the data path as
the production plan of aws-snowplow shows it (one plan per session, the `environment_plan`
fixture in conftest.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snowplow_infra import emulator, pipeline, terraform
from snowplow_infra.cli import main
from snowplow_infra.local_backend import (
    OVERRIDE_FILE_NAME,
    LocalBackendError,
    local_backend,
    override_text,
)
from snowplow_infra.paths import REPO_ROOT, environment_dir
from snowplow_infra.plan import PlanResult

ENVIRONMENT = pipeline.DEFAULT_ENVIRONMENT
# Firehose's processor parameter defaults: a parameter set to one of them diffs on every plan.
PROCESSOR_DEFAULTS = {
    "BufferSizeInMBs": "1",
    "BufferIntervalInSeconds": "60",
    "NumberOfRetries": "3",
}
PROCESSING_FAILED = "processing-failed/"


# --- the local backend override -------------------------------------------------------------------


def test_override_holds_a_local_backend_only_while_the_run_lasts(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    with local_backend(env_dir, tmp_path / "work") as backend:
        text = (env_dir / OVERRIDE_FILE_NAME).read_text()
        assert 'backend "local"' in text
        assert f'path = "{backend.state_path}"' in text
        assert backend.state_path.is_relative_to((tmp_path / "work").resolve())
    assert not (env_dir / OVERRIDE_FILE_NAME).exists()


def test_a_second_local_run_waits_and_gives_up_with_a_message(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    with local_backend(env_dir, tmp_path / "first") as first:
        started = time.monotonic()
        with (
            pytest.raises(LocalBackendError, match="Another local run"),
            local_backend(env_dir, tmp_path / "second", wait_seconds=1),
        ):
            pass
        assert time.monotonic() - started >= 1
        assert str(first.state_path) in (env_dir / OVERRIDE_FILE_NAME).read_text()


def test_a_waiting_run_proceeds_when_the_first_ends(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    holding = threading.Event()

    def first_run() -> None:
        with local_backend(env_dir, tmp_path / "first"):
            holding.set()
            time.sleep(1)

    thread = threading.Thread(target=first_run)
    thread.start()
    assert holding.wait(10)
    with local_backend(env_dir, tmp_path / "second", wait_seconds=30) as second:
        assert not thread.is_alive()
        assert str(second.state_path) in (env_dir / OVERRIDE_FILE_NAME).read_text()
    thread.join()


def test_a_killed_run_leaves_nothing_that_blocks_the_next(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from snowplow_infra.local_backend import local_backend; "
            "cm = local_backend(Path(sys.argv[1]), Path(sys.argv[2])); cm.__enter__(); "
            "print('held', flush=True); time.sleep(60)",
            str(env_dir),
            str(tmp_path / "killed"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
    finally:
        holder.kill()
        holder.wait()
    assert (env_dir / OVERRIDE_FILE_NAME).exists()  # what a killed run leaves behind
    with local_backend(env_dir, tmp_path / "next", wait_seconds=0) as backend:
        assert str(backend.state_path) in (env_dir / OVERRIDE_FILE_NAME).read_text()
    assert not (env_dir / OVERRIDE_FILE_NAME).exists()


def test_override_is_removed_when_the_run_fails(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    with pytest.raises(RuntimeError, match="boom"), local_backend(env_dir, tmp_path / "work"):
        raise RuntimeError("boom")
    assert not (env_dir / OVERRIDE_FILE_NAME).exists()


def test_terraform_sees_the_emulator_and_not_the_users_aws_identity(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    server = emulator.Endpoint(port=4566)
    with local_backend(env_dir, tmp_path / "work") as backend:
        env = backend.environment(server, "eu-west-1")
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["TF_DATA_DIR"] == str(backend.data_dir)
    assert all(env[name] == "" for name in emulator.CLEARED_VARIABLES)
    # The project's CLI configuration (terraform.environment) must not be overridden.
    assert "TF_CLI_CONFIG_FILE" not in env


@pytest.mark.terraform
@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
def test_override_is_formatted_as_terraform_fmt_writes_it(tmp_path: Path) -> None:
    """check-terraform runs `fmt -check` on the whole tree, also while a local run holds it."""
    text = override_text(tmp_path / 'odd "dir"' / "terraform.tfstate")
    formatted = subprocess.run(
        ["terraform", "fmt", "-"], input=text, capture_output=True, text=True, check=True
    )
    assert formatted.stdout == text


# --- the emulator lives exactly as long as the plan -------------------------------------------


@pytest.fixture
def started_emulators(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[emulator.Emulator]]:
    started: list[emulator.Emulator] = []
    real_start = emulator.start

    def recording_start(state_dir: Path, port: int | None = None) -> emulator.Emulator:
        server = real_start(state_dir, port)
        started.append(server)
        return server

    monkeypatch.setattr(emulator, "start", recording_start)
    yield started
    for server in started:
        server.stop()


@pytest.mark.parametrize(
    "case",
    [
        (terraform.TerraformError("`terraform init` failed"), 1, "no plan was saved"),
        (KeyboardInterrupt(), 130, "interrupted; the emulator was stopped"),
    ],
    ids=["terraform-fails", "ctrl-c"],
)
def test_a_failed_or_interrupted_plan_stops_the_emulator_and_removes_the_override(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    started_emulators: list[emulator.Emulator],
    case: tuple[BaseException, int, str],
) -> None:
    failure, exit_code, message = case
    calls: list[list[str]] = []

    def failing_run(args: list[str], *_: Any, **__: Any) -> None:
        calls.append(list(args))
        raise failure

    monkeypatch.setattr(terraform, "run", failing_run)
    stale = tmp_path / "tfplan"
    stale.write_text("an older plan")

    assert main(["plan", "--env", ENVIRONMENT, "--output", str(tmp_path), "--quiet"]) == exit_code

    assert calls and calls[0][0] == "init"
    assert message in capsys.readouterr().err
    assert len(started_emulators) == 1
    assert started_emulators[0].process.poll() is not None
    assert not emulator.is_up(started_emulators[0].endpoint)
    assert not (environment_dir(ENVIRONMENT) / OVERRIDE_FILE_NAME).exists()
    assert not stale.exists()


def test_an_unknown_environment_is_named_in_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--env", "no-such-env", "--quiet"]) == 1
    assert "no-such-env" in capsys.readouterr().err


# --- the plan of aws-snowplow -----------------------------------------------------------------


def changes(result: PlanResult, resource_type: str) -> dict[str, dict[str, Any]]:
    """Planned resource changes of one type, by address."""
    return {
        c["address"]: c["change"]
        for c in result.plan["resource_changes"]
        if c["type"] == resource_type and c["mode"] == "managed"
    }


def only(result: PlanResult, resource_type: str, address_part: str) -> dict[str, Any]:
    """The one planned change of ``resource_type`` whose address contains ``address_part``."""
    found = [c for a, c in changes(result, resource_type).items() if address_part in a]
    assert len(found) == 1, (resource_type, address_part, found)
    return found[0]


@pytest.fixture(scope="module")
def values() -> pipeline.Pipeline:
    return pipeline.load(ENVIRONMENT)


@pytest.mark.terraform
@pytest.mark.slow
def test_plan_saves_the_plan_and_its_json(environment_plan: PlanResult) -> None:
    assert environment_plan.tfplan.stat().st_size > 0
    assert json.loads(environment_plan.json_path.read_text()) == environment_plan.plan
    assert environment_plan.plan["errored"] is False
    assert environment_plan.plan["applyable"] is True
    assert not (environment_dir(ENVIRONMENT) / OVERRIDE_FILE_NAME).exists()


@pytest.mark.terraform
@pytest.mark.slow
def test_each_delivery_stream_reads_its_stream_through_the_function_for_its_records(
    environment_plan: PlanResult, values: pipeline.Pipeline
) -> None:
    functions = {
        change["after"]["function_name"]: change["after"]
        for change in changes(environment_plan, "aws_lambda_function").values()
    }
    assert set(functions) == set(values.pseudonymization.functions.values())
    for role, delivery in values.delivery.items():
        stream = only(environment_plan, "aws_kinesis_firehose_delivery_stream", f'["{role}"]')
        after = stream["after"]
        assert after["name"] == delivery.name
        source = after["kinesis_source_configuration"][0]["kinesis_stream_arn"]
        assert source.endswith(f":stream/{values.streams[delivery.source].name}")
        processor = after["extended_s3_configuration"][0]["processing_configuration"][0]
        assert processor["enabled"] is True
        assert [p["type"] for p in processor["processors"]] == ["Lambda"]
        parameters = {
            p["parameter_name"]: p["parameter_value"]
            for p in processor["processors"][0]["parameters"]
        }
        function_name = parameters["LambdaArn"].rsplit(":function:", 1)[1]
        assert function_name == values.pseudonymization.functions[delivery.record_format]
        environment = functions[function_name]["environment"][0]["variables"]
        # The enriched function alone writes salt link records (docs/salt-rotation.md).
        links = {
            "LINKS_BUCKET_NAME": values.buckets["events"],
            "LINKS_PREFIX": "salt-links/",
            "LINK_WINDOW_SECONDS": "86400",
        }
        assert environment == {
            "RECORD_FORMAT": delivery.record_format,
            "SALT_SECRET_ID": values.pseudonymization.salt_secret_name,
            "METRICS_NAMESPACE": values.pseudonymization.metrics_namespace,
            "SALT_VERSION_PARTITION_KEY_NAME": "salt_version",
            **(links if delivery.record_format == "enriched" else {}),
        }
        s3 = after["extended_s3_configuration"][0]
        assert s3["prefix"].startswith(
            f"{delivery.prefix}salt_version=!{{partitionKeyFromLambda:salt_version}}/"
        )
        assert s3["dynamic_partitioning_configuration"][0]["enabled"] is True


@pytest.mark.terraform
@pytest.mark.slow
def test_processor_buffers_follow_the_size_arithmetic_and_are_never_defaults(
    environment_plan: PlanResult,
) -> None:
    for change in changes(environment_plan, "aws_kinesis_firehose_delivery_stream").values():
        processor = change["after"]["extended_s3_configuration"][0]["processing_configuration"][0]
        parameters = {
            p["parameter_name"]: p["parameter_value"]
            for p in processor["processors"][0]["parameters"]
        }
        # docs/pseudonymization.md: 0.5 MB keeps the 6 MB response for up to 8.6x growth.
        assert parameters["BufferSizeInMBs"] == "0.5"
        assert parameters["BufferIntervalInSeconds"] == "30"
        assert not {k: v for k, v in parameters.items() if PROCESSOR_DEFAULTS.get(k) == v}


@pytest.mark.terraform
@pytest.mark.slow
def test_prefixes_use_the_timestamp_namespace_and_errors_go_to_processing_failed(
    environment_plan: PlanResult, values: pipeline.Pipeline
) -> None:
    events_arn = f"arn:aws:s3:::{values.buckets['events']}"
    delivered = [d.prefix for d in values.delivery.values()]
    for role, delivery in values.delivery.items():
        stream = only(environment_plan, "aws_kinesis_firehose_delivery_stream", f'["{role}"]')
        s3 = stream["after"]["extended_s3_configuration"][0]
        assert s3["bucket_arn"] == events_arn
        assert s3["prefix"] == (
            f"{delivery.prefix}salt_version=!{{partitionKeyFromLambda:salt_version}}/"
            "!{timestamp:yyyy/MM/dd/HH}/"
        )
        assert s3["error_output_prefix"] == (
            f"{PROCESSING_FAILED}{delivery.prefix}"
            "!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
        )
        assert not any(s3["error_output_prefix"].startswith(p) for p in delivered)
        assert s3["compression_format"] == "GZIP"
        logging = s3["cloudwatch_logging_options"][0]
        assert logging["enabled"] is True
        assert logging["log_group_name"] == f"/aws/kinesisfirehose/{delivery.name}"


@pytest.mark.terraform
@pytest.mark.slow
def test_processing_failed_records_expire_first(environment_plan: PlanResult) -> None:
    """Who may read them is in the events bucket's policy, which pins the storage key's ARN and is
    therefore known only once the key exists: the demo's end-to-end test reads it from the
    emulator (test_demo_e2e.py), the s3-bucket module's tests check its statements."""
    bucket_policy = only(environment_plan, "aws_s3_bucket_policy", '["events"]')
    assert bucket_policy["after_unknown"].get("policy") is True, (
        "the events bucket's policy is known before its key exists: is the key still pinned?"
    )
    rules = only(environment_plan, "aws_s3_bucket_lifecycle_configuration", '["events"]')
    by_prefix = {r["filter"][0]["prefix"]: r for r in rules["after"]["rule"]}
    failed = by_prefix[PROCESSING_FAILED]
    assert failed["status"] == "Enabled"
    assert failed["expiration"][0]["days"] == 7
    assert failed["noncurrent_version_expiration"][0]["noncurrent_days"] == 1
    every_expiry = [
        e["days"]
        for change in changes(environment_plan, "aws_s3_bucket_lifecycle_configuration").values()
        for rule in change["after"]["rule"]
        for e in rule["expiration"]
    ]
    assert failed["expiration"][0]["days"] == min(every_expiry)


@pytest.mark.terraform
@pytest.mark.slow
def test_the_replay_role_is_assumed_from_break_glass_and_scoped_to_the_pipeline(
    environment_plan: PlanResult,
) -> None:
    """Its policy's statements are checked with known ARNs by the module's own tests
    (terraform/modules/replay-role/tests); here: who may assume it, and what it is given."""
    role = only(environment_plan, "aws_iam_role", "module.replay_role")["after"]
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert len(trust) == 1 and trust[0]["Action"] == "sts:AssumeRole"
    principal = trust[0]["Principal"]["AWS"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/snowplow-break-glass", principal)
    calls = environment_plan.plan["configuration"]["root_module"]["module_calls"]
    arguments = calls["replay_role"]["expressions"]

    def refers(argument: str) -> set[str]:
        return set(arguments[argument]["references"])

    assert "module.delivery" in refers("error_prefixes")
    assert "local.replay_manifest_prefix" in refers("manifest_prefix")
    assert "module.stream" in refers("source_stream_arns")
    assert "module.delivery" in refers("delivery_stream_arns")
    assert "module.pseudonymization.function_arns" in refers("function_arns")
    assert 'module.kms_key["storage"].arn' in refers("storage_kms_key_arn")
    assert 'module.kms_key["streams"].arn' in refers("streams_kms_key_arn")


@pytest.mark.terraform
@pytest.mark.slow
def test_everything_is_encrypted_with_its_customer_managed_key(
    environment_plan: PlanResult, values: pipeline.Pipeline
) -> None:
    calls = environment_plan.plan["configuration"]["root_module"]["module_calls"]

    def keys_of(call: str, argument: str) -> set[str]:
        """The module.kms_key instances an argument of a module call refers to."""
        references = calls[call]["expressions"][argument]["references"]
        return {m for r in references for m in re.findall(r'^module\.kms_key\["(\w+)"\]', r)}

    assert keys_of("stream", "kms_key_arn") == {"streams"}
    assert keys_of("delivery", "source_kms_key_arn") == {"streams"}
    assert keys_of("delivery", "kms_key_arn") == {"storage"}
    assert keys_of("delivery", "logs_kms_key_arn") == {"logs"}
    assert keys_of("pseudonymization", "secrets_kms_key_arn") == {"secrets"}
    assert keys_of("pseudonymization", "logs_kms_key_arn") == {"logs"}

    for change in changes(environment_plan, "aws_kinesis_stream").values():
        assert change["after"]["encryption_type"] == "KMS"
        assert change["after_unknown"]["kms_key_id"] is True  # a key created in this plan
    for resource_type in ("aws_cloudwatch_log_group", "aws_secretsmanager_secret"):
        for address, change in changes(environment_plan, resource_type).items():
            assert change["after_unknown"].get("kms_key_id") is True, address
    for change in changes(environment_plan, "aws_kinesis_firehose_delivery_stream").values():
        assert change["after_unknown"]["extended_s3_configuration"][0]["kms_key_arn"] is True
    for change in changes(environment_plan, "aws_kms_key").values():
        assert change["after"]["enable_key_rotation"] is True

    encryption = {
        address.split('"]')[0].split('["')[1]: change
        for address, change in changes(
            environment_plan, "aws_s3_bucket_server_side_encryption_configuration"
        ).items()
    }
    assert set(encryption) == {"events", "access_logs"}
    events = encryption["events"]["after"]["rule"][0]
    assert events["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    assert events["bucket_key_enabled"] is True
    assert encryption["events"]["after_unknown"]["rule"][0][
        "apply_server_side_encryption_by_default"
    ][0]["kms_master_key_id"]
    # The documented exception: AWS log delivery writes only SSE-S3.
    logs = encryption["access_logs"]["after"]["rule"][0]
    assert logs["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "AES256"


@pytest.mark.terraform
@pytest.mark.slow
def test_no_secret_value_enters_the_plan(environment_plan: PlanResult) -> None:
    types = {c["type"] for c in environment_plan.plan["resource_changes"]}
    assert "aws_secretsmanager_secret_version" not in types
    assert changes(environment_plan, "aws_secretsmanager_secret")
    text = environment_plan.json_path.read_text()
    for attribute in ("secret_string", "secret_binary", "SecretString"):
        assert attribute not in text
    for change in changes(environment_plan, "aws_lambda_function").values():
        # names, prefixes and numbers only (the link settings on the enriched function alone)
        links = {"LINKS_BUCKET_NAME", "LINKS_PREFIX", "LINK_WINDOW_SECONDS"}
        variables = set(change["after"]["environment"][0]["variables"])
        assert variables - links == {
            "RECORD_FORMAT",
            "SALT_SECRET_ID",
            "METRICS_NAMESPACE",
            "SALT_VERSION_PARTITION_KEY_NAME",
        }


@pytest.mark.terraform
@pytest.mark.slow
def test_streams_come_from_pipeline_yaml(
    environment_plan: PlanResult, values: pipeline.Pipeline
) -> None:
    planned = {
        c["after"]["name"]: c["after"]
        for c in changes(environment_plan, "aws_kinesis_stream").values()
    }
    assert set(planned) == {s.name for s in values.streams.values()}
    for stream in values.streams.values():
        after = planned[stream.name]
        assert after["retention_period"] == stream.retention_hours
        assert after["stream_mode_details"] == [{"stream_mode": "ON_DEMAND"}]
        assert "IteratorAgeMilliseconds" in after["shard_level_metrics"]
    assert planned[values.streams["raw_good"].name]["retention_period"] == 48


@pytest.mark.terraform
@pytest.mark.slow
def test_stateful_resources_are_guarded_against_destruction(
    environment_plan: PlanResult, values: pipeline.Pipeline
) -> None:
    guards = {
        address.removesuffix(".terraform_data.prevent_destroy[0]")
        for address in changes(environment_plan, "terraform_data")
        if address.endswith(".terraform_data.prevent_destroy[0]")
    }
    stateful = {
        address.rsplit(".aws_", 1)[0]
        for resource_type in (
            "aws_kms_key",
            "aws_kinesis_stream",
            "aws_s3_bucket",
            "aws_secretsmanager_secret",
        )
        for address in changes(environment_plan, resource_type)
    }
    data_path = {
        *(f'module.kms_key["{k}"]' for k in ("streams", "storage", "secrets", "logs")),
        *(f'module.stream["{role}"]' for role in values.streams),
        'module.bucket["events"]',
        'module.bucket["access_logs"]',
        "module.pseudonymization",
    }
    assert data_path <= stateful
    assert stateful <= guards


@pytest.mark.terraform
@pytest.mark.slow
def test_tags_come_only_from_the_providers_default_tags(
    environment_plan: PlanResult, values: pipeline.Pipeline
) -> None:
    tagged = [
        c
        for c in environment_plan.plan["resource_changes"]
        if c["mode"] == "managed" and "tags_all" in (c["change"]["after"] or {})
    ]
    assert tagged
    for change in tagged:
        assert change["change"]["after"]["tags_all"] == dict(values.tags), change["address"]
        assert not change["change"]["after"].get("tags"), change["address"]


def data_sources(result: PlanResult, data_type: str) -> list[dict[str, Any]]:
    """Values of the data sources of one type that Terraform read while planning."""
    found: list[dict[str, Any]] = []
    modules = [result.plan["prior_state"]["values"]["root_module"]]
    while modules:
        module = modules.pop()
        found += [
            r["values"]
            for r in module.get("resources", [])
            if r["mode"] == "data" and r["type"] == data_type
        ]
        modules += module.get("child_modules", [])
    return found


@pytest.mark.terraform
@pytest.mark.slow
def test_no_account_id_or_region_is_typed(
    environment_plan: PlanResult, values: pipeline.Pipeline
) -> None:
    """Every account id in a planned ARN is the caller's (the emulator's here) or the regional
    Elastic Load Balancing account, both read from data sources, and every region in an ARN is
    pipeline.yaml's."""
    arns = set(
        re.findall(
            r"arn:aws:[a-z0-9-]+:([a-z0-9-]*):(\d{12})?:", environment_plan.json_path.read_text()
        )
    )
    assert arns
    callers = {v["account_id"] for v in data_sources(environment_plan, "aws_caller_identity")}
    elb = {
        v["arn"].split(":")[4] for v in data_sources(environment_plan, "aws_elb_service_account")
    }
    assert len(callers) == 1
    assert len(elb) == 1
    assert {account for _, account in arns if account} <= callers | elb
    assert {region for region, _ in arns if region} == {values.region}


# --- alarms: one alarm per failure, each named with its priority and in the runbook ---------------

ALARMS_RUNBOOK = REPO_ROOT / "docs" / "alarms.md"
PRIORITY_SUFFIX = re.compile(r"_(P[123])$")
# Alarms that watch one series on purpose: an escalation, each rung with its own priority and
# threshold. Any other pair of alarms on one series raises two alarms for one failure.
ESCALATIONS = [["snowplow-enrichment-lagging_P2", "snowplow-enrichment-stalled_P1"]]
# What each pseudonymization function must have, alarmed by its own module.
LAMBDA_ALARM_METRICS = ("Errors", "Throttles", "Duration")


def planned_alarms(result: PlanResult) -> dict[str, dict[str, Any]]:
    """Every planned CloudWatch metric alarm, by alarm name."""
    return {
        change["after"]["alarm_name"]: change["after"]
        for change in changes(result, "aws_cloudwatch_metric_alarm").values()
    }


def watched_series(alarm: dict[str, Any]) -> tuple[Any, ...]:
    """What an alarm watches, whatever its period or threshold: one metric (namespace, name,
    dimensions, statistic), set at the top level or as its only metric query, or else the
    metric-math expression it returns with the metrics it reads. Dimensions known only after
    apply (the collector's load balancer) compare as equal, so a doubt counts as a duplicate."""

    def metric(namespace: str, name: str, dimensions: Any, statistic: str) -> tuple[str, ...]:
        return (namespace, name, json.dumps(dimensions, sort_keys=True), statistic)

    queries = alarm["metric_query"]
    if not queries:
        statistic = alarm["statistic"] or alarm["extended_statistic"]
        return metric(alarm["namespace"], alarm["metric_name"], alarm.get("dimensions"), statistic)
    inputs = sorted(
        metric(m["namespace"], m["metric_name"], m.get("dimensions"), m["stat"])
        for query in queries
        for m in query["metric"]
    )
    expressions = sorted(q["expression"] for q in queries if q["return_data"] and q["expression"])
    if not expressions and len(inputs) == 1:
        return inputs[0]
    return ("expression", *expressions, *inputs)


@pytest.mark.terraform
@pytest.mark.slow
def test_no_failure_raises_two_alarms(
    environment_plan: PlanResult, values: pipeline.Pipeline
) -> None:
    alarms = planned_alarms(environment_plan)
    by_series: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for name, alarm in alarms.items():
        by_series[watched_series(alarm)].append(name)
    shared = sorted(sorted(names) for names in by_series.values() if len(names) > 1)
    assert shared == sorted(sorted(rungs) for rungs in ESCALATIONS), (
        "alarms that watch the same metric with the same statistic page twice for one failure"
    )
    for rungs in ESCALATIONS:
        assert len({PRIORITY_SUFFIX.search(name)[1] for name in rungs}) == len(rungs)  # type: ignore[index]
        assert len({alarms[name]["threshold"] for name in rungs}) == len(rungs)

    # Every function has exactly one Errors, one Throttles and one Duration alarm.
    for function in values.pseudonymization.functions.values():
        for metric_name in LAMBDA_ALARM_METRICS:
            watching = [
                name
                for name, alarm in alarms.items()
                if watched_series(alarm)[:3]
                == ("AWS/Lambda", metric_name, json.dumps({"FunctionName": function}))
            ]
            assert len(watching) == 1, (function, metric_name, watching)


def runbook() -> tuple[dict[re.Pattern[str], str], set[str]]:
    """docs/alarms.md: its table's alarm-name patterns (``<delivery>``, ``<format>``... stand for
    a name part) with their priority column, and the anchors of its sections."""
    text = ALARMS_RUNBOOK.read_text(encoding="utf-8")
    rows = {
        re.compile(re.sub(r"<[a-z]+>", "[a-z0-9-]+", re.escape(name))): priority
        for name, priority in re.findall(r"^\| `([^`]+)` \| (P[123]) \|", text, re.MULTILINE)
    }
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^## (.+)$", text, re.MULTILINE)
    }
    return rows, anchors


@pytest.mark.terraform
@pytest.mark.slow
def test_every_alarm_ends_in_its_priority_and_has_its_runbook_section(
    environment_plan: PlanResult,
) -> None:
    rows, anchors = runbook()
    # CI plans with TF_VAR_runbook_base_url (.gitlab-ci.yml), so the test job's plan links there.
    runbook_base = re.escape(os.environ.get("TF_VAR_runbook_base_url") or "docs/alarms.md")  # noqa: SIM112
    alarms = planned_alarms(environment_plan)
    assert rows
    for name, alarm in alarms.items():
        suffix = PRIORITY_SUFFIX.search(name)
        assert suffix, f"{name} does not end in _P1, _P2 or _P3"
        assert [p for pattern, p in rows.items() if pattern.fullmatch(name)] == [suffix[1]], (
            f"{name} is not listed once, under its priority, in {ALARMS_RUNBOOK.name}'s table"
        )
        assert alarm["alarm_description"].startswith(f"{suffix[1]}: "), name
        section = re.search(f" Runbook: {runbook_base}#([a-z0-9-]+)$", alarm["alarm_description"])
        assert section, f"{name}'s description does not end with its runbook section"
        assert section[1] in anchors, f"{name}: docs/alarms.md has no section #{section[1]}"
    for pattern in rows:
        assert any(pattern.fullmatch(name) for name in alarms), (
            f"{ALARMS_RUNBOOK.name} lists {pattern.pattern}, which no planned alarm matches"
        )


@pytest.mark.terraform
@pytest.mark.slow
def test_alarms_read_the_metrics_namespace_the_functions_write_to(
    environment_plan: PlanResult, values: pipeline.Pipeline
) -> None:
    """pipeline.yaml names the namespace once; the functions write there, the alarms read there."""
    namespace = values.pseudonymization.metrics_namespace
    for change in changes(environment_plan, "aws_lambda_function").values():
        assert change["after"]["environment"][0]["variables"]["METRICS_NAMESPACE"] == namespace
    custom = {
        m["namespace"]
        for alarm in planned_alarms(environment_plan).values()
        for query in alarm["metric_query"]
        for m in query["metric"]
        if not m["namespace"].startswith("AWS/")
    }
    assert custom == {namespace}
    monitoring = environment_plan.plan["configuration"]["root_module"]["module_calls"]["monitoring"]
    read = monitoring["expressions"]["pseudonymization_metrics"]["references"]
    assert "module.pseudonymization.metrics_namespace" in read


@pytest.mark.terraform
@pytest.mark.slow
def test_the_dashboard_lists_the_pseudonymization_alarms(environment_plan: PlanResult) -> None:
    """The dashboard's body is known only once the load balancer exists; the wiring is not."""
    monitoring = environment_plan.plan["configuration"]["root_module"]["module_calls"]["monitoring"]
    listed = monitoring["expressions"]["additional_alarm_names"]["references"]
    assert "module.pseudonymization.alarm_names" in listed
