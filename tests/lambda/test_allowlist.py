"""The allowlist data file: what it keeps, what it never keeps, and how it is validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from allowlist import (
    ALLOWLIST_FILE,
    Allowlist,
    SchemaPattern,
    is_iglu_uri,
    load_allowlist,
    parse_allowlist,
)
from errors import ConfigurationError
from event_fields import FIELD_NAMES, JSON_FIELDS

# The contract: fields the default allowlist keeps at least, and fields it never keeps.
MUST_KEEP = {
    "app_id", "platform", "etl_tstamp", "collector_tstamp", "dvce_created_tstamp",
    "dvce_sent_tstamp", "derived_tstamp", "true_tstamp", "event", "event_id", "txn_id",
    "name_tracker", "v_tracker", "v_collector", "v_etl", "geo_country", "geo_region", "geo_city",
    "geo_region_name", "geo_timezone", "dvce_type", "dvce_ismobile", "dvce_screenwidth",
    "dvce_screenheight", "page_urlscheme", "page_urlport", "refr_urlscheme", "refr_urlport",
    "refr_medium", "refr_source", "mkt_medium", "mkt_source", "mkt_campaign", "se_category",
    "se_action", "se_value", "domain_sessionidx", "etl_tags",
    "event_vendor", "event_name", "event_format", "event_version",
}  # fmt: skip
MUST_KEEP_PREFIXES = ("br_", "os_", "doc_", "pp_")
NEVER_KEEP = {
    "user_id", "user_ipaddress", "user_fingerprint", "domain_userid", "network_userid",
    "domain_sessionid", "refr_domain_userid", "ip_isp", "ip_organization", "ip_domain",
    "geo_zipcode", "geo_latitude", "geo_longitude", "page_url", "page_title", "page_referrer",
    "page_urlpath", "page_urlquery", "page_urlfragment", "refr_urlpath", "refr_urlquery",
    "refr_urlfragment", "refr_term", "mkt_term", "mkt_content", "mkt_clickid", "se_label",
    "se_property", "useragent", "tr_orderid", "ti_orderid",
}  # fmt: skip

UA_PARSER = "iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0"
GITLAB_STANDARD = "iglu:com.gitlab/gitlab_standard/jsonschema/1-0-10"
WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"


@pytest.fixture(scope="module")
def default() -> Allowlist:
    return load_allowlist()


def test_the_default_allowlist_is_a_data_file_in_the_package() -> None:
    assert Path(ALLOWLIST_FILE).name == "allowlist.toml"
    assert Path(ALLOWLIST_FILE).parent.name == "pseudonymization"


def test_it_keeps_the_contracted_fields(default: Allowlist) -> None:
    prefixed = {name for name in FIELD_NAMES if name.startswith(MUST_KEEP_PREFIXES)}
    assert len(prefixed) == 30
    assert MUST_KEEP | prefixed <= default.keep_fields


def test_it_never_keeps_identifying_fields(default: Allowlist) -> None:
    assert not NEVER_KEEP & default.keep_fields
    assert default.never_keep_fields >= NEVER_KEEP


def test_unlisted_fields_are_not_kept(default: Allowlist) -> None:
    """Privacy by default: exactly the contracted fields are kept, nothing that nobody listed."""
    prefixed = {name for name in FIELD_NAMES if name.startswith(MUST_KEEP_PREFIXES)}
    assert default.keep_fields == MUST_KEEP | prefixed
    assert not set(JSON_FIELDS) & default.keep_fields


@pytest.mark.parametrize(
    ("schema", "kept", "hashed"),
    [
        (UA_PARSER, {"useragentFamily", "osFamily", "deviceFamily"}, set()),
        (WEB_PAGE, {"id"}, set()),
        (
            GITLAB_STANDARD,
            {"environment", "source", "plan", "realm"},
            {"user_id", "project_id", "namespace_id", "extra", "global_user_id"},
        ),
        ("iglu:com.acme/unknown/jsonschema/1-0-0", set(), {"anything"}),
    ],
)
def test_json_allowlist_keeps_only_non_identifying_keys(
    default: Allowlist,
    schema: str,
    kept: set[str],
    hashed: set[str],
) -> None:
    tree = default.entity_paths(schema)
    children = {key for key, node in (tree.children.items() if tree else ()) if node.keep}
    assert kept <= children
    assert not hashed & children


@pytest.mark.parametrize(
    ("pattern", "uri", "matches"),
    [
        ("iglu:com.acme/thing/jsonschema/1-*-*", "iglu:com.acme/thing/jsonschema/1-0-0", True),
        ("iglu:com.acme/thing/jsonschema/1-*-*", "iglu:com.acme/thing/jsonschema/1-12-3", True),
        ("iglu:com.acme/thing/jsonschema/1-*-*", "iglu:com.acme/thing/jsonschema/2-0-0", False),
        ("iglu:com.acme/thing/jsonschema/1-0-*", "iglu:com.acme/thing/jsonschema/1-1-0", False),
        ("iglu:com.acme/thing/jsonschema/1-0-2", "iglu:com.acme/thing/jsonschema/1-0-2", True),
        ("iglu:com.acme/*/jsonschema/2-*-*", "iglu:com.acme/other/jsonschema/2-0-0", True),
        ("iglu:com.acme/thing/jsonschema/1-*-*", "iglu:com.other/thing/jsonschema/1-0-0", False),
        ("iglu:com.acme/thing/jsonschema/1-*-*", "iglu:com.acme/thing2/jsonschema/1-0-0", False),
        ("iglu:com.acme/thing/jsonschema/1-*-*", "iglu:com.acme/thing/avro/1-0-0", False),
        ("iglu:com.acme/thing/jsonschema/1-*-*", "not an iglu uri", False),
        ("iglu:com.acme/thing/jsonschema/1-*-*", "iglu:com.acme/thing/jsonschema/1-0", False),
    ],
)
def test_schema_patterns(pattern: str, uri: str, matches: bool) -> None:
    assert SchemaPattern.parse(pattern).matches(uri) is matches


def test_every_matching_entry_contributes_its_paths(default: Allowlist) -> None:
    """Bad rows get the common technical paths and their type's own ones."""
    tree = default.entity_paths(
        "iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/2-0-0"
    )
    assert tree is not None
    assert tree.children["processor"].children["artifact"].keep
    assert tree.children["failure"].children["timestamp"].keep
    assert tree.children["failure"].children["actualSizeBytes"].keep
    payload = tree.children["payload"]
    assert not payload.keep, "a size violation's payload is hashed, under its key"
    assert not tree.children["failure"].children["expectation"].keep


def test_the_stricter_rule_wins_when_blocks_name_one_path(default: Allowlist) -> None:
    document = _document(
        entities=[
            {"schema": "iglu:com.acme/thing/jsonschema/1-*-*", "keep": ["a", "b"]},
            {"schema": "iglu:com.acme/*/jsonschema/*-*-*", "keep_keys": ["a"], "keep_iglu": ["b"]},
        ]
    )
    tree = parse_allowlist(document, FIELD_NAMES).entity_paths(
        "iglu:com.acme/thing/jsonschema/1-0-0"
    )
    assert tree is not None
    assert not tree.children["a"].keep
    assert tree.children["b"].keep and tree.children["b"].iglu


@pytest.mark.parametrize(
    "uri",
    [
        "iglu:bob@example.com",
        "iglu:com.acme/alice@example.com/jsonschema/1-0-0",
        "iglu:com.acme/thing/jsonschema/1-0-0/../x",
        "iglu:com.acme/thing/jsonschema/01-0-0",
        "iglu:com.acme/thing/jsonschema/1-0-0\n",
        "iglu:com.acme/th\u0131ng/jsonschema/1-0-0",
        "iglu:com.acme/thing/jsonschema/\u0661-0-0",
        "iglu:" + "a" * 250 + "/thing/jsonschema/1-0-0",
        "iglu:" + "a" * 1_000_000,
    ],
)
def test_only_the_iglu_grammar_with_a_bounded_length_is_an_iglu_uri(uri: str) -> None:
    assert not is_iglu_uri(uri)
    assert not SchemaPattern.parse("iglu:com.acme/*/jsonschema/*-*-*").matches(uri)


def test_iglu_uris_as_snowplow_writes_them() -> None:
    assert is_iglu_uri("iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0")
    assert is_iglu_uri("iglu:com.gitlab/gitlab_standard/jsonschema/1-0-10")
    assert is_iglu_uri(
        "iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-0"
    )


def _document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "enriched": {"keep": ["app_id"], "never_keep": ["user_id"]},
        "entities": [{"schema": "iglu:com.acme/thing/jsonschema/1-*-*", "keep": ["a.b"]}],
    }
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_document(enriched={"keep": ["no_such_field"], "never_keep": []}), "no_such_field"),
        (_document(enriched={"keep": ["contexts"], "never_keep": []}), "JSON field 'contexts'"),
        (_document(enriched={"keep": ["user_id"], "never_keep": ["user_id"]}), "never_keep"),
        (_document(enriched={"keep": ["app_id", "app_id"], "never_keep": []}), "more than once"),
        (_document(enriched={"keep": "app_id", "never_keep": []}), "array of non-empty strings"),
        (_document(enriched={"keep": ["app_id"]}), "lacks never_keep"),
        (_document(enriched={"keep": [], "never_keep": [], "other": 1}), "unknown keys other"),
        (_document(extra=1), "unknown keys extra"),
        ({"entities": []}, "lacks enriched"),
        (_document(entities=[{"schema": "com.acme/thing", "keep": ["a"]}]), "malformed"),
        (
            _document(entities=[{"schema": "iglu:com.acme/t/jsonschema/1-x-0", "keep": ["a"]}]),
            "malformed",
        ),
        (_document(entities=[{"schema": "iglu:a/b/jsonschema/1-0-0", "keep": ["a..b"]}]), "a..b"),
        (_document(entities=[{"schema": "iglu:a/b/jsonschema/1-0-0"}]), "names no path"),
        (
            _document(entities=[{"schema": "iglu:a/b/jsonschema/1-0-0", "keep": ["a"], "k": []}]),
            "unknown keys k",
        ),
        (
            _document(
                entities=[
                    {"schema": "iglu:a/b/jsonschema/1-0-0", "keep": ["a"], "keep_keys": ["a"]}
                ]
            ),
            "in both keep and keep_keys",
        ),
        (
            _document(entities=[{"schema": "iglu:a/b/jsonschema/1-0-0", "enriched_event": "a"}]),
            "enriched_event must be an array",
        ),
        (
            _document(
                entities=[
                    {"schema": "iglu:a/b/jsonschema/1-0-0", "keep": ["a"]},
                    {"schema": "iglu:a/b/jsonschema/1-0-0", "keep": ["b"]},
                ]
            ),
            "appears twice",
        ),
        (_document(entities={"schema": "iglu:a/b/jsonschema/1-0-0"}), "array of tables"),
    ],
)
def test_invalid_entries_are_errors_that_name_them(document: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_allowlist(document, FIELD_NAMES)


def test_a_broken_file_stops_the_lambda_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "allowlist.toml"
    broken.write_text('[enriched]\nkeep = ["app_id"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=str(broken)):
        load_allowlist(broken)
    broken.write_text('[enriched]\nkeep = ["nope"]\nnever_keep = []\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="'nope'"):
        load_allowlist(broken)
