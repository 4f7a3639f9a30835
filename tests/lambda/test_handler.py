"""handler.lambda_handler end to end, with the salt in moto's Secrets Manager."""

from __future__ import annotations

import base64
import json
import logging
import re
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from errors import ConfigurationError, ResponseTooLargeError, SaltUnavailableError
from event_fields import FIELD_NAMES

from snowplow_infra import sample_events
from snowplow_infra.paths import LAMBDA_SOURCE_DIR
from snowplow_infra.sample_events import (
    bad_rows,
    decoded_outputs,
    enriched_events,
    enriched_line,
    malformed_records,
)

from .conftest import SALT_TEXT, SECRET_NAME, Invoke, assert_absent, b64, reference_pseudonym

P = reference_pseudonym
HEX64 = re.compile(r"[0-9a-f]{64}")
ROTATED = "rotated salt, 32 bytes or more: 6c1e0a"
METRICS = (
    "RecordsIn",
    "RecordsOk",
    "RecordsProcessingFailed",
    "Lines",
    "ValuesPseudonymized",
    "UnparsableJsonFields",
    "Duration",
    "ResponseBytes",
    "ProcessingFailedMalformedBase64",
    "ProcessingFailedMalformedUtf8",
    "ProcessingFailedWrongFieldCount",
    "ProcessingFailedUnparsableBadRow",
)


def emf_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if '"_aws"' in line]


def test_the_handler_string_is_handler_dot_lambda_handler(handler: ModuleType) -> None:
    assert (LAMBDA_SOURCE_DIR / "handler.py").is_file()
    assert callable(handler.lambda_handler)


def test_output_shape_one_result_per_record_in_order(invoke: Invoke) -> None:
    events = enriched_events(30, seed=5)
    response = invoke([sample.text.encode() for sample in events])
    assert list(response) == ["records"]
    records = response["records"]
    ids = [record["recordId"] for record in sample_events.firehose_event([b""] * 30)["records"]]
    assert [record["recordId"] for record in records] == ids
    assert all(set(record) == {"recordId", "result", "data"} for record in records)
    assert {record["result"] for record in records} == {"Ok"}
    for sample, output in zip(events, decoded_outputs(response), strict=True):
        assert output.endswith("\n") and output.count("\n") == 1
        assert len(output[:-1].split("\t")) == len(FIELD_NAMES)
        assert_absent(sample.planted, output)


def test_ok_records_hold_no_clear_value_outside_the_allowlist(
    invoke: Invoke, handler: ModuleType
) -> None:
    events = enriched_events(60, seed=8)
    response = invoke([sample.text.encode() for sample in events])
    keep = handler.ALLOWLIST.keep_fields
    for output in decoded_outputs(response):
        fields = dict(zip(FIELD_NAMES, output[:-1].split("\t"), strict=True))
        for name, value in fields.items():
            if value and name not in keep and not value.startswith("{"):
                assert HEX64.fullmatch(value), name


def test_the_default_record_format_is_enriched(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = enriched_line({"user_id": "planted-user@example.org"})
    default = invoke([line.encode()])
    monkeypatch.setenv("RECORD_FORMAT", "enriched")
    assert invoke([line.encode()]) == default
    assert decoded_outputs(default)[0].split("\t")[12] == P("planted-user@example.org")


def test_bad_rows_format(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECORD_FORMAT", "bad_rows")
    samples = bad_rows(seed=4)
    response = invoke([sample.text.encode() for sample in samples.values()])
    assert [record["result"] for record in response["records"]] == ["Ok"] * len(samples)
    for sample, output in zip(samples.values(), decoded_outputs(response), strict=True):
        assert json.loads(output)["schema"] == json.loads(sample.text)["schema"]
        assert_absent(sample.planted, output)


def test_an_unknown_record_format_is_a_configuration_error(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORD_FORMAT", "tsv")
    with pytest.raises(ConfigurationError, match="RECORD_FORMAT is 'tsv'"):
        invoke([b"x"])


@pytest.mark.parametrize("ttl", ["-1", "soon", "nan"])
def test_an_invalid_ttl_is_a_configuration_error(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, ttl: str
) -> None:
    monkeypatch.setenv("SALT_TTL_SECONDS", ttl)
    with pytest.raises(ConfigurationError, match="SALT_TTL_SECONDS"):
        invoke([b"x"])


def test_malformed_records_never_fail_the_batch(invoke: Invoke) -> None:
    malformed = malformed_records()
    cases = [name for name in malformed if name != "bad_row_not_json"]
    good = enriched_line({"app_id": "gitlab"}).encode()
    datas: list[bytes | str] = [good]
    for name in cases:
        datas += [malformed[name], good]
    response = invoke(datas)
    results = [record["result"] for record in response["records"]]
    assert results == ["Ok"] + ["ProcessingFailed", "Ok"] * len(cases)
    echoed = [record["data"] for record in response["records"][1::2]]
    assert echoed == [malformed[name] for name in cases]


def test_the_salt_comes_from_secrets_manager(invoke: Invoke) -> None:
    response = invoke([enriched_line({"user_ipaddress": "198.51.100.7"}).encode()])
    assert decoded_outputs(response)[0].split("\t")[13] == P("198.51.100.7")


@pytest.mark.parametrize("problem", ["unset", "missing", "no value", "short", "whitespace"])
def test_no_salt_fails_the_invocation(
    handler: ModuleType,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    problem: str,
) -> None:
    if problem == "unset":
        monkeypatch.delenv("SALT_SECRET_ID", raising=False)
    else:
        monkeypatch.setenv("SALT_SECRET_ID", SECRET_NAME)
    if problem == "no value":
        aws.create_secret(Name=SECRET_NAME)
    if problem in ("short", "whitespace"):
        secret = "x" * 31 if problem == "short" else " \t\n" * 20
        aws.create_secret(Name=SECRET_NAME, SecretString=secret)
    event = sample_events.firehose_event([enriched_line({"user_id": "planted-x"}).encode()])
    with pytest.raises(SaltUnavailableError) as raised:
        handler.lambda_handler(event, None)
    assert "planted-x" not in str(raised.value)
    assert "planted-x" not in capsys.readouterr().out


def test_a_new_salt_is_used_after_the_ttl(
    invoke: Invoke, aws: Any, salt_secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALT_TTL_SECONDS", "0")
    line = enriched_line({"user_id": "someone"}).encode()
    before = decoded_outputs(invoke([line]))[0].split("\t")[12]
    aws.put_secret_value(SecretId=salt_secret, SecretString=ROTATED)
    after = decoded_outputs(invoke([line]))[0].split("\t")[12]
    assert before == P("someone")
    assert after == P("someone", ROTATED.encode())


def test_one_emf_log_line_per_invocation(
    invoke: Invoke, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    contexts = (
        '{"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1", "data": []}'
    )
    lines = [
        enriched_line({"user_id": "a", "useragent": "b", "contexts": contexts}),
        enriched_line({"user_id": "c", "derived_contexts": "{broken"}),
    ]
    capsys.readouterr()
    invoke(
        [
            "\n".join(lines).encode(),
            malformed_records()["invalid_base64"],
            enriched_line({"app_id": "x"}).encode(),
        ],
        SimpleNamespace(function_name="snowplow-pseudonymize-enriched"),
    )
    stdout = capsys.readouterr().out
    assert len(stdout.splitlines()) == 1
    (line,) = emf_lines(stdout)
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "SnowplowPseudonymization"
    assert directive["Dimensions"] == [["FunctionName"]]
    assert [metric["Name"] for metric in directive["Metrics"]] == list(METRICS)
    assert isinstance(line["_aws"]["Timestamp"], int)
    assert line["FunctionName"] == "snowplow-pseudonymize-enriched"
    assert line["RecordFormat"] == "enriched"
    counts = {name: line[name] for name in METRICS[:6]}
    assert counts == {
        "RecordsIn": 3,
        "RecordsOk": 2,
        "RecordsProcessingFailed": 1,
        "Lines": 3,
        "ValuesPseudonymized": 4,  # a, b, c and the unparsable derived_contexts
        "UnparsableJsonFields": 1,
    }
    assert line["Duration"] >= 0 and line["ResponseBytes"] > 0
    reasons = {name: line[name] for name in METRICS[8:]}
    assert reasons == {
        "ProcessingFailedMalformedBase64": 1,
        "ProcessingFailedMalformedUtf8": 0,
        "ProcessingFailedWrongFieldCount": 0,
        "ProcessingFailedUnparsableBadRow": 0,
    }

    monkeypatch.setenv("METRICS_NAMESPACE", "Custom/Namespace")
    invoke([enriched_line({"app_id": "x"}).encode()])
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Custom/Namespace"
    assert line["FunctionName"] == "local"


def test_a_response_over_6_mib_fails_naming_the_buffer_size(
    invoke: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    # The worst case of atomic fields: one-character values grow to 64 characters each.
    line = "\t".join(["x"] * len(FIELD_NAMES))
    with pytest.raises(ResponseTooLargeError, match="BufferSizeInMBs") as raised:
        invoke([line.encode()] * 1300)
    assert "6291456" in str(raised.value)
    (metrics,) = emf_lines(capsys.readouterr().out)
    assert metrics["ResponseBytes"] > 6 * 1024 * 1024


def test_a_response_just_under_6_mib_passes(invoke: Invoke) -> None:
    line = "\t".join(["x"] * len(FIELD_NAMES))
    response = invoke([line.encode()] * 1150)
    size = len(json.dumps(response))
    assert 5 * 1024 * 1024 < size <= 6 * 1024 * 1024
    assert {record["result"] for record in response["records"]} == {"Ok"}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "no records"),
        ({"records": "x"}, "no records"),
        ({"records": [{"data": ""}]}, "Record number 1 .* no recordId"),
    ],
)
def test_an_event_that_is_not_from_firehose_is_refused(
    invoke: Invoke, handler: ModuleType, event: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        handler.lambda_handler(event, None)


def test_no_value_or_salt_reaches_logs_or_exceptions(
    invoke: Invoke,
    handler: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    events = enriched_events(50, seed=9)
    rows = bad_rows(seed=9)
    planted = [value for sample in (*events, *rows.values()) for value in sample.planted]
    planted += ["planted-user@example.org"]
    messages: list[str] = []

    invoke([sample.text.encode() for sample in events] + list(malformed_records().values()))
    monkeypatch.setenv("RECORD_FORMAT", "bad_rows")
    invoke([sample.text.encode() for sample in rows.values()])
    huge = "\t".join(["planted-user@example.org"] + ["x"] * (len(FIELD_NAMES) - 1))
    monkeypatch.setenv("RECORD_FORMAT", "enriched")
    with pytest.raises(ResponseTooLargeError) as too_large:
        invoke([huge.encode()] * 1300)
    messages.append(repr(too_large.value))
    monkeypatch.setenv("SALT_SECRET_ID", "missing/secret")
    with pytest.raises(SaltUnavailableError) as no_salt:
        invoke([huge.encode()])
    messages.append(repr(no_salt.value))
    monkeypatch.setenv("RECORD_FORMAT", "bad")
    with pytest.raises(ConfigurationError) as bad_config:
        invoke([b64(huge)])
    messages.append(repr(bad_config.value))

    captured = capsys.readouterr()
    logs = [record.getMessage() for record in caplog.records]
    assert_absent(planted, captured.out, captured.err, *logs, *messages)
    assert len(emf_lines(captured.out)) == 3


def test_output_data_is_valid_base64(invoke: Invoke) -> None:
    response = invoke([enriched_line({"app_id": "gitlab"}).encode()])
    data = response["records"][0]["data"]
    assert base64.b64encode(base64.b64decode(data, validate=True)).decode() == data
    assert SALT_TEXT not in base64.b64decode(data).decode()
