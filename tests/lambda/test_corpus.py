"""Real, public Snowplow data (tests/fixtures/snowplow, provenance in SOURCES.toml), checked
field by field against an independent reading of the rules."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from allowlist import load_allowlist
from bad_rows import bad_rows_transform
from enriched import enriched_transform
from pseudonym import Pseudonymizer

from .conftest import SALT
from .independent_checker import Checker, Rules, strict

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "snowplow"
ENRICHED = (CORPUS / "enriched.tsv").read_text(encoding="utf-8").splitlines()
BAD_ROWS = (CORPUS / "bad_rows.jsonl").read_text(encoding="utf-8").splitlines()
with (CORPUS / "SOURCES.toml").open("rb") as sources_file:
    SOURCES = tomllib.load(sources_file)
LICENCES = {"Apache-2.0", "MIT"}
# Personal values of the real records: none may survive in Ok output.
PERSONAL = (
    "jon.doe@email.com",
    "92.231.54.234",
    "18.194.133.57",
    "wjr@w.w",
    "alice@example.com",
    "bc2e92ec6c204a14",
    "ecdff4d0-9175-40ac-a8bb-325c49733607",
)
CHECKER = Checker(Rules())


def test_every_record_names_its_source() -> None:
    assert len(SOURCES["enriched"]) == len(ENRICHED) >= 6
    assert len(SOURCES["bad_rows"]) == len(BAD_ROWS) >= 38
    for entry in SOURCES["enriched"] + SOURCES["bad_rows"]:
        assert set(entry) == {"repo", "path", "commit", "licence", "note"}
        assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"])
        assert entry["licence"] in LICENCES


def test_the_corpus_has_every_bad_row_schema_of_iglu_central() -> None:
    kinds = {
        entry["path"].split("badrows/")[1]
        for entry in SOURCES["bad_rows"]
        if entry["repo"] == "snowplow/iglu-central"
    }
    assert len(kinds) == 25
    types = {kind.split("/")[0] for kind in kinds}
    assert {
        "size_violation",
        "schema_violations",
        "enrichment_failures",
        "loader_iglu_error",
    } <= types


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_every_field_of_every_enriched_event(ending: str) -> None:
    transform = enriched_transform(load_allowlist(), Pseudonymizer(SALT))
    result = transform(ending.join(ENRICHED) + ending)
    lines = result.text.split("\n")
    assert lines.pop() == ""
    assert (result.lines, result.unparsable_json) == (len(ENRICHED), 0)
    checked = sum(
        CHECKER.check_enriched_line(before, after)
        for before, after in zip(ENRICHED, lines, strict=True)
    )
    assert checked == 131 * len(ENRICHED)
    for value in PERSONAL:
        assert value not in result.text


@pytest.mark.parametrize("number", range(len(BAD_ROWS)))
def test_every_field_of_every_bad_row(number: int) -> None:
    source = SOURCES["bad_rows"][number]
    row = BAD_ROWS[number]
    result = bad_rows_transform(load_allowlist(), Pseudonymizer(SALT))(row)
    (line,) = result.text.split("\n")[:-1]
    CHECKER.check_bad_row(row, line)
    if source["repo"] != "snowplow/iglu-central":  # real rows; generated ones plant everywhere
        for value in PERSONAL:
            assert value not in line, f"{value!r} survives in {source['path']}"


def test_real_bad_rows_keep_what_operators_need() -> None:
    transform = bad_rows_transform(load_allowlist(), Pseudonymizer(SALT))
    outputs = [strict(transform(row).text) for row in BAD_ROWS[:13]]
    artifacts = {out["data"]["processor"]["artifact"] for out in outputs}
    assert artifacts >= {"beam-enrich", "streamCommon"}
    violation = next(
        o for o in outputs if o["schema"].endswith("schema_violations/jsonschema/2-0-0")
    )
    message = violation["data"]["failure"]["messages"][0]
    assert message["schemaKey"].startswith("iglu:")
    assert message["error"]["error"] in ("ValidationError", "ResolutionError")


def test_the_gitlab_standard_context_as_gitlab_builds_it() -> None:
    """Every key of StandardContext#to_h stays by name; only the allowlisted values stay."""
    transform = enriched_transform(load_allowlist(), Pseudonymizer(SALT))
    number = next(
        n for n, entry in enumerate(SOURCES["enriched"]) if entry["repo"] == "gitlabhq/gitlabhq"
    )
    before = ENRICHED[number].split("\t")
    after = transform(ENRICHED[number] + "\n").text.rstrip("\n").split("\t")
    index = CHECKER.rules.field_names.index("contexts")
    (standard,) = strict(before[index])["data"]
    (output,) = strict(after[index])["data"]
    assert output["schema"] == standard["schema"]
    assert set(output["data"]) == set(standard["data"])
    kept = {key: value for key, value in output["data"].items() if value == standard["data"][key]}
    assert set(kept) == {
        "environment", "source", "plan", "realm", "deployment_type", "instance_version",
        "context_generated_at", "user_type", "extra", "is_gitlab_team_member",
    }, "the kept values, an empty extra and a null"  # fmt: skip


def test_every_bad_row_type_and_version_has_its_own_allowlist_entry() -> None:
    """Every schema of iglu-central's badrows vendor, whatever its version, has a block naming
    its type, besides the block that every bad row shares."""
    allowlist = load_allowlist()
    for entry in SOURCES["bad_rows"]:
        if entry["repo"] != "snowplow/iglu-central":
            continue
        kind, _, version = entry["path"].split("/")[-3:]
        uri = f"iglu:com.snowplowanalytics.snowplow.badrows/{kind}/jsonschema/{version}"
        own = [
            rule for rule in allowlist.entities if rule.pattern.name and rule.pattern.matches(uri)
        ]
        assert own, f"no allowlist block for {kind} {version}"
