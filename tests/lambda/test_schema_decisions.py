"""Every property of every vendored schema has a privacy decision, and the allowlist does it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from allowlist import Allowlist, load_allowlist
from json_values import Walker, loads

from snowplow_infra.schema_decisions import (
    Decision,
    DecisionsError,
    allowlist_action,
    covering_decision,
    load_decisions,
)
from snowplow_infra.vendored_schemas import VendoredSchema, property_paths, vendored_schemas

SCHEMAS = list(vendored_schemas())
DECISIONS = load_decisions()


@pytest.fixture(scope="module")
def allowlist() -> Allowlist:
    return load_allowlist()


def _key(schema: VendoredSchema) -> str:
    return f"{schema.vendor}/{schema.name}"


def test_the_vendored_schemas_are_the_ones_the_pipeline_sees() -> None:
    names = {_key(schema) for schema in SCHEMAS}
    for expected in (
        "com.snowplowanalytics.snowplow/web_page",
        "com.snowplowanalytics.snowplow/ua_parser_context",
        "com.snowplowanalytics.snowplow/client_session",
        "com.snowplowanalytics.snowplow/failure",
        "org.w3/PerformanceTiming",
        "nl.basjes/yauaa_context",
        "com.snowplowanalytics.snowplow.badrows/schema_violations",
        "com.snowplowanalytics.snowplow.badrows/loader_iglu_error",
    ):
        assert expected in names


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda schema: schema.uri)
def test_every_property_has_a_decision(schema: VendoredSchema) -> None:
    decisions = DECISIONS.get(_key(schema), {})
    undecided = [
        ".".join(path)
        for path, has_properties in property_paths(schema.document)
        if not has_properties and covering_decision(decisions, path) is None
    ]
    assert not undecided, (
        f"{schema.path} has properties without a decision in schemas/decisions.toml: "
        f"{', '.join(undecided)}"
    )


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda schema: schema.uri)
def test_the_allowlist_does_what_each_decision_says(
    schema: VendoredSchema, allowlist: Allowlist
) -> None:
    decisions = DECISIONS.get(_key(schema), {})
    tree = allowlist.entity_paths(schema.uri)
    declared = dict(property_paths(schema.document))
    wrong = []
    for path in declared:
        decision = covering_decision(decisions, path)
        if decision is None:
            continue
        done = allowlist_action(tree, decision.path, leaf=not declared[decision.path])
        if done != decision.action:
            wrong.append(f"{'.'.join(decision.path)}: decided {decision.action}, allowlist {done}")
    assert not wrong, f"{schema.uri}: " + "; ".join(sorted(set(wrong)))


def test_every_decided_path_of_a_vendored_schema_exists_in_one_of_its_versions() -> None:
    declared: dict[str, set[tuple[str, ...]]] = {}
    for schema in SCHEMAS:
        paths = {path for path, _ in property_paths(schema.document)}
        declared.setdefault(_key(schema), set()).update(paths)
    unknown = [
        f"{name} {'.'.join(path)}"
        for name, decisions in DECISIONS.items()
        if name in declared
        for path in decisions
        if path not in declared[name]
    ]
    assert not unknown


# GitLab's schemas are not vendored yet: their decisions are checked against the versions the
# trackers send (GitLab's code sends gitlab_standard 1-0-5 to 1-1-7).
NOT_VENDORED_VERSIONS = {"com.gitlab/gitlab_standard": ("1-0-5", "1-0-10", "1-1-1", "1-1-7")}


@pytest.mark.parametrize("name", sorted(NOT_VENDORED_VERSIONS))
def test_decisions_of_schemas_not_vendored_are_what_the_allowlist_does(
    name: str, allowlist: Allowlist
) -> None:
    for version in NOT_VENDORED_VERSIONS[name]:
        tree = allowlist.entity_paths(f"iglu:{name}/jsonschema/{version}")
        for path, decision in DECISIONS[name].items():
            assert allowlist_action(tree, path) == decision.action, (version, path)


def test_every_decided_schema_is_vendored_or_listed_as_not_vendored() -> None:
    vendored = {_key(schema) for schema in SCHEMAS}
    assert set(DECISIONS) <= vendored | set(NOT_VENDORED_VERSIONS)


def _action(schema: str, path: str) -> str:
    decision = covering_decision(DECISIONS[schema], tuple(path.split(".")))
    assert isinstance(decision, Decision), (schema, path)
    return "keep" if decision.action in ("keep", "keep_iglu") else "hashed"


# The same information in two places gets the same decision: an atomic field of the enriched
# event and a property of an entity, or two entities.
ATOMIC_PAIRS = [
    ("page_urlhost", "com.gitlab/gitlab_standard", "host_name"),
    ("refr_urlhost", "com.gitlab/gitlab_standard", "host_name"),
    ("user_id", "com.gitlab/gitlab_standard", "user_id"),
    ("domain_userid", "com.snowplowanalytics.snowplow/client_session", "userId"),
    ("domain_sessionid", "com.snowplowanalytics.snowplow/client_session", "sessionId"),
    ("domain_sessionidx", "com.snowplowanalytics.snowplow/client_session", "sessionIndex"),
    ("br_family", "com.snowplowanalytics.snowplow/ua_parser_context", "useragentFamily"),
    ("br_name", "nl.basjes/yauaa_context", "agentNameVersion"),
    ("os_family", "com.snowplowanalytics.snowplow/ua_parser_context", "osFamily"),
    ("os_name", "nl.basjes/yauaa_context", "operatingSystemName"),
    ("br_lang", "nl.basjes/yauaa_context", "agentLanguage"),
    ("page_url", "com.snowplowanalytics.snowplow/link_click", "targetUrl"),
    ("event_id", "com.snowplowanalytics.snowplow/client_session", "firstEventId"),
    ("dvce_created_tstamp", "com.snowplowanalytics.snowplow/client_session", "firstEventTimestamp"),
]
ENTITY_PAIRS = [
    (
        ("com.snowplowanalytics.snowplow/ua_parser_context", "deviceFamily"),
        ("nl.basjes/yauaa_context", "deviceName"),
    ),
    (
        ("com.snowplowanalytics.snowplow/ua_parser_context", "useragentVersion"),
        ("nl.basjes/yauaa_context", "agentVersion"),
    ),
    (
        ("com.snowplowanalytics.snowplow/ua_parser_context", "osVersion"),
        ("nl.basjes/yauaa_context", "operatingSystemVersion"),
    ),
]


@pytest.mark.parametrize(("field", "schema", "path"), ATOMIC_PAIRS)
def test_an_atomic_field_and_its_twin_in_an_entity_are_decided_alike(
    field: str, schema: str, path: str, allowlist: Allowlist
) -> None:
    atomic = "keep" if field in allowlist.keep_fields else "hashed"
    assert atomic == _action(schema, path)


@pytest.mark.parametrize(("first", "second"), ENTITY_PAIRS)
def test_twin_properties_of_two_entities_are_decided_alike(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    assert _action(*first) == _action(*second)


def test_kept_numbers_stay_json_numbers_and_hashed_ones_become_strings(
    allowlist: Allowlist,
) -> None:
    walker = Walker(allowlist, lambda value: "h:" + value)
    document = loads(
        '{"schema": "iglu:org.w3/PerformanceTiming/jsonschema/1-0-0",'
        ' "data": {"navigationStart": 1700000000123, "domComplete": 1700000000456}}'
    )
    assert walker.entity(document)["data"] == {
        "navigationStart": 1700000000123,
        "domComplete": 1700000000456,
    }
    standard = loads(
        '{"schema": "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-7", "data": '
        '{"project_id": 278964, "deployment_type": ".com", "instance_version": "17.6.0"}}'
    )
    assert json.loads(json.dumps(walker.entity(standard)["data"])) == {
        "project_id": "h:278964",
        "deployment_type": ".com",
        "instance_version": "17.6.0",
    }


def test_a_decisions_file_with_a_path_decided_twice_is_refused(tmp_path: Path) -> None:
    block = '[[decisions]]\nschema = "a.b/c"\naction = "keep"\nreason = "counter"\npaths = ["x"]\n'
    path = tmp_path / "decisions.toml"
    path.write_text(block + block.replace('"keep"', '"hash"'), encoding="utf-8")
    with pytest.raises(DecisionsError, match=r"a\.b/c x is already decided \(keep\)"):
        load_decisions(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('"keep"', '"clear"'), "action must be one of"),
        (('"counter"', '""'), "give the reason"),
        (('"a.b/c"', '"a.b"'), "schema must be vendor/name"),
        (('["x"]', '["x..y"]'), "is not dot-separated keys"),
    ],
)
def test_a_malformed_decision_is_refused_naming_the_block(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    block = '[[decisions]]\nschema = "a.b/c"\naction = "keep"\nreason = "counter"\npaths = ["x"]\n'
    path = tmp_path / "decisions.toml"
    path.write_text(block.replace(*change), encoding="utf-8")
    with pytest.raises(DecisionsError, match=f"number 1.*{message}"):
        load_decisions(path)
