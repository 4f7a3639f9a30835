"""`make demo ROTATE=1` end to end: a salt rotation inside one demo run, checked exactly.

`snowplow-infra local demo --rotate` puts half of each stream's records, adds a salt version active
from a moment after them, and puts the other half. Every delivered event must carry the pseudonyms
of the version of its side, in an object whose key names that version, and the link records must
map the old pseudonym of every identifier of every test user to the new one, and nothing else. The
expected pseudonyms are computed here with the standard library's hmac, from the salts read back
from the emulator, independently of the Lambda.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import hmac
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snowplow_infra import pipeline
from snowplow_infra.local import feed, server
from snowplow_infra.local.report import REPORT_FILE_NAME
from snowplow_infra.sample_events import FIELD_NAMES
from tests.conftest import cli_path

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.terraform]

ENVIRONMENT = pipeline.DEFAULT_ENVIRONMENT
VALUES = pipeline.load(ENVIRONMENT)
EVENTS = 300
SEED = 5
EVENT_ID = FIELD_NAMES.index("event_id")
ATOMIC = ("user_id", "domain_userid", "network_userid", "domain_sessionid")
GITLAB = "iglu:com.gitlab/gitlab_standard/jsonschema/1-"


def hmac_hex(salt: bytes, value: str) -> str:
    return hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()


def local(work_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cli_path()), "local", *args, "--work-dir", str(work_dir), "--quiet"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH; the demo needs it (see snowplow-infra doctor)")
    for command in (["package-lambda"], ["render-configs", "--env", ENVIRONMENT]):
        built = subprocess.run(
            [str(cli_path()), *command], capture_output=True, text=True, check=False
        )
        assert built.returncode == 0, built.stderr
    work_dir = tmp_path_factory.mktemp("rotation")
    try:
        result = local(work_dir, "demo", "--events", str(EVENTS), "--seed", str(SEED), "--rotate")
        assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr}"
        running = server.find(work_dir)
        assert running is not None
        report = json.loads((work_dir / REPORT_FILE_NAME).read_text())
        secrets = running.client("secretsmanager", VALUES.region)
        secret = secrets.get_secret_value(
            SecretId=VALUES.pseudonymization.salt_secret_name, VersionStage="AWSCURRENT"
        )["SecretString"]
        yield {
            "stdout": result.stdout,
            "report": report,
            "s3": running.client("s3", VALUES.region),
            "versions": {v["id"]: v for v in json.loads(secret)["versions"]},
        }
    finally:
        local(work_dir, "down")


def fed(demo: dict[str, Any]) -> dict[str, list[feed.Record]]:
    report = demo["report"]
    start = datetime.datetime.fromisoformat(report["events_start"])
    return feed.records(report["events"], seed=report["seed"], start=start)


def salts(demo: dict[str, Any]) -> tuple[bytes, bytes]:
    rotation = demo["report"]["rotation"]
    versions = demo["versions"]
    old = versions[rotation["from_version"]]["salt"].encode()
    new = versions[rotation["to_version"]]["salt"].encode()
    assert versions[rotation["to_version"]]["active_from"] == rotation["active_from"]
    return old, new


def read_lines(s3: Any, bucket: str, key: str) -> list[str]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return (gzip.decompress(body) if key.endswith(".gz") else body).decode().splitlines()


def test_each_side_of_the_switch_has_its_version_in_its_objects_and_its_pseudonyms(
    demo: dict[str, Any],
) -> None:
    old_salt, new_salt = salts(demo)
    rotation = demo["report"]["rotation"]
    records = fed(demo)["enriched_good"]
    before = {r.partition_key: r for r in records[: len(records) // 2] if not r.malformed}
    after = {r.partition_key: r for r in records[len(records) // 2 :] if not r.malformed}
    assert before and after
    delivery = demo["report"]["deliveries"]["enriched_good"]
    seen: dict[str, str] = {}
    for key in delivery["objects"]:
        version = key.split("/salt_version=", 1)[1].split("/", 1)[0]
        salt = {rotation["from_version"]: old_salt, rotation["to_version"]: new_salt}[version]
        for line in read_lines(demo["s3"], delivery["bucket"], key):
            fields = line.split("\t")
            event_id = fields[EVENT_ID]
            seen[event_id] = version
            clear = (before.get(event_id) or after[event_id]).data.decode().split("\t")
            for name in ATOMIC:
                index = FIELD_NAMES.index(name)
                if clear[index]:
                    assert fields[index] == hmac_hex(salt, clear[index]), (key, name)
    assert seen == {
        **dict.fromkeys(before, rotation["from_version"]),
        **dict.fromkeys(after, rotation["to_version"]),
    }, "every event delivered once, under the version of its side of the switch"
    summary = rotation["objects"]["enriched_good"]
    assert summary[rotation["from_version"]]["lines"] == len(before)
    assert summary[rotation["to_version"]]["lines"] == len(after)


def expected_links(records: list[feed.Record], old: bytes, new: bytes) -> set[tuple[str, str, str]]:
    links = set()
    for record in records:
        if record.malformed:
            continue
        fields = record.data.decode().split("\t")
        values = [(name, fields[FIELD_NAMES.index(name)]) for name in ATOMIC]
        contexts = fields[FIELD_NAMES.index("contexts")]
        if contexts:
            document = json.loads(contexts, parse_int=str, parse_float=str)
            for entity in document.get("data", []):
                if str(entity.get("schema", "")).startswith(GITLAB):
                    for key in ("user_id", "project_id", "namespace_id"):
                        value = entity["data"].get(key)
                        if isinstance(value, str):
                            values.append((f"contexts.gitlab_standard.{key}", value))
        for name, value in values:
            if value:
                links.add((name, hmac_hex(old, value), hmac_hex(new, value)))
    return links


def test_the_links_map_every_identifier_from_the_old_pseudonym_to_the_new_one(
    demo: dict[str, Any],
) -> None:
    old_salt, new_salt = salts(demo)
    rotation = demo["report"]["rotation"]
    s3 = demo["s3"]
    prefix = (
        f"salt-links/from_version={rotation['from_version']}/to_version={rotation['to_version']}/"
    )
    found = []
    listed = s3.list_objects_v2(Bucket=VALUES.buckets["events"], Prefix="salt-links/")
    for item in listed.get("Contents", []):
        assert item["Key"].startswith(prefix), item["Key"]
        found += [
            json.loads(line) for line in read_lines(s3, VALUES.buckets["events"], item["Key"])
        ]
    assert {link["from_version"] for link in found} == {rotation["from_version"]}
    assert {link["to_version"] for link in found} == {rotation["to_version"]}
    got = {(link["field"], link["from_pseudonym"], link["to_pseudonym"]) for link in found}
    expected = expected_links(fed(demo)["enriched_good"], old_salt, new_salt)
    assert got == expected, "exactly one link per identifier seen in the window, nothing else"
    users = {old_pseudonym for name, old_pseudonym, _ in expected if name == "user_id"}
    assert rotation["users"] == rotation["users_linked"] == len(users) > 10
    text = json.dumps(found)
    for record in fed(demo)["enriched_good"]:
        for value in record.planted:
            assert value not in text, "a link never carries a value"


def test_the_summary_shows_the_switch_and_never_a_salt(demo: dict[str, Any]) -> None:
    rotation = demo["report"]["rotation"]
    stdout = demo["stdout"]
    assert f"version {rotation['from_version']} until {rotation['active_from']}" in stdout
    assert f"{rotation['users']} of {rotation['users']} test users" in stdout
    for version in demo["versions"].values():
        assert version["salt"] not in stdout
