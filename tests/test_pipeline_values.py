"""pipeline.yaml: the real file loads, every kind of bad values file names its file and key, and
the schema agrees with the code that reads it."""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from snowplow_infra import pipeline, pipeline_schema
from snowplow_infra.pipeline import ENRICHMENTS, PipelineError

REAL_FILE = pipeline.values_file(pipeline.DEFAULT_ENVIRONMENT)
TEMPLATES = Path(pipeline.__file__).parent / "templates" / "enrichments"


def real_document() -> dict[str, Any]:
    return yaml.safe_load(REAL_FILE.read_text())


def write_values(folder: Path, document: object) -> Path:
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_the_real_values_file_loads_with_its_names() -> None:
    document = real_document()
    values = pipeline.load()
    assert values.file == REAL_FILE
    assert values.region == document["region"]
    assert {role: s.name for role, s in values.streams.items()} == {
        role: s["name"] for role, s in document["streams"].items()
    }
    assert values.enrich.app_name == document["enrich"]["app_name"]
    assert values.enrich.enrichments == tuple(document["enrich"]["enrichments"])
    assert set(values.enrich.enrichment_settings) == set(values.enrich.enrichments)
    assert values.collector.buffer.record_limit == document["collector"]["buffer"]["record_limit"]
    assert dict(values.pseudonymization.functions) == document["pseudonymization"]["functions"]
    assert values.pseudonymization.metrics_namespace == "SnowplowPseudonymization"
    assert {r: d.source for r, d in values.delivery.items()} == {
        r: d["source"] for r, d in document["delivery"].items()
    }


def test_the_enrichment_catalog_covers_the_ones_the_issue_names() -> None:
    for name in ("campaign_attribution", "event_fingerprint", "referer_parser", "ua_parser"):
        assert name in ENRICHMENTS
    assert {"yauaa", "ip_lookups"} <= set(ENRICHMENTS)
    for kind in ENRICHMENTS.values():
        assert kind.schema.startswith(f"iglu:{kind.vendor}/{kind.config_name}/jsonschema/")


def _delete(*keys: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        node = document
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return mutate


def _set(value: object, *keys: str | int) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        node: Any = document
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return mutate


def _add_enrichment(name: str, settings: dict[str, Any] | None = None) -> Callable[..., None]:
    def mutate(document: dict[str, Any]) -> None:
        document["enrich"]["enrichments"].append(name)
        if settings is not None:
            document["enrich"].setdefault("enrichment_settings", {})[name] = settings

    return mutate


# (mutation, the key the message must name or None for the document, words the message must contain)
BAD_VALUES: dict[str, tuple[Callable[[dict[str, Any]], None], str | None, str]] = {
    "missing region": (_delete("region"), "`region`", "is missing"),
    "missing stream role": (_delete("streams", "raw_bad"), "`streams.raw_bad`", "is missing"),
    "missing app name": (_delete("enrich", "app_name"), "`enrich.app_name`", "is missing"),
    "missing buffer limit": (
        _delete("collector", "buffer", "time_limit_ms"),
        "`collector.buffer.time_limit_ms`",
        "is missing",
    ),
    "record limit as a string": (
        _set("500", "collector", "buffer", "record_limit"),
        "`collector.buffer.record_limit`",
        "must be an integer, not the string '500'",
    ),
    "record limit above the Kinesis maximum": (
        _set(501, "collector", "buffer", "record_limit"),
        "`collector.buffer.record_limit`",
        "between 1 and 500",
    ),
    "port as a boolean": (
        _set(True, "collector", "port"),
        "`collector.port`",
        "must be an integer, not the boolean true",
    ),
    "stream name as a number": (
        _set(42, "streams", "raw_good", "name"),
        "`streams.raw_good.name`",
        "must be a non-empty string, not the number 42",
    ),
    "stream name with a space": (
        _set("raw good", "streams", "raw_good", "name"),
        "`streams.raw_good.name`",
        "letters, digits",
    ),
    "two streams with one name": (
        lambda d: d["streams"]["raw_bad"].update(name=d["streams"]["raw_good"]["name"]),
        "`streams.raw_bad`",
        "repeats the name",
    ),
    "streams as a list": (_set(["a"], "streams"), "`streams`", "must be a mapping, not a list"),
    "cookie flag as a string": (
        _set("yes please", "collector", "cookie", "enabled"),
        "`collector.cookie.enabled`",
        "must be true or false",
    ),
    "unknown buffer key": (
        _set(1, "collector", "buffer", "byte_limt"),
        "`collector.buffer`",
        "unknown key 'byte_limt'",
    ),
    "initial position not offered": (
        _set("AT_SOMETIME", "enrich", "initial_position"),
        "`enrich.initial_position`",
        "must be one of TRIM_HORIZON, LATEST",
    ),
    "unknown enrichment": (
        _add_enrichment("telepathy"),
        "`enrich.enrichments[4]`",
        "must be one of campaign_attribution, event_fingerprint, ip_lookups, referer_parser, "
        "ua_parser, yauaa, not 'telepathy'",
    ),
    "enrichment listed twice": (
        _add_enrichment("ua_parser"),
        "`enrich.enrichments[4]`",
        "lists 'ua_parser' a second time",
    ),
    "enrichments as a string": (
        _set("ua_parser", "enrich", "enrichments"),
        "`enrich.enrichments`",
        "must be a list of strings",
    ),
    "ip lookups without its required setting": (
        _add_enrichment("ip_lookups", {"geo_database": "GeoLite2-City.mmdb"}),
        "`enrich.enrichment_settings.ip_lookups.geo_uri`",
        "is missing",
    ),
    "settings for an enrichment not listed": (
        _set(
            {"geo_database": "GeoLite2-City.mmdb", "geo_uri": "s3://b/p"},
            "enrich",
            "enrichment_settings",
            "ip_lookups",
        ),
        "`enrich.enrichment_settings.ip_lookups`",
        "which `enrich.enrichments` does not list",
    ),
    "unknown enrichment setting": (
        _set({"internal_domain": ["x.com"]}, "enrich", "enrichment_settings", "referer_parser"),
        "`enrich.enrichment_settings.referer_parser`",
        "unknown key 'internal_domain'",
    ),
    "private registry without a uri": (
        _set(
            {"name": "GitLab", "vendor_prefixes": ["com.gitlab"]},
            "enrich",
            "iglu",
            "private_registry",
        ),
        "`enrich.iglu.private_registry.uri`",
        "is missing",
    ),
    "API key variable in lower case": (
        _set("iglu_key", "enrich", "iglu", "api_key_env_var"),
        "`enrich.iglu.api_key_env_var`",
        "environment variable name",
    ),
    "delivery from an unknown stream": (
        _set("enriched_ugly", "delivery", "enriched_good", "source"),
        "`delivery.enriched_good.source`",
        "must name a stream role",
    ),
    "delivery with an unknown record format": (
        _set("csv", "delivery", "raw_bad", "record_format"),
        "`delivery.raw_bad.record_format`",
        "must be one of enriched, bad_rows",
    ),
    "licence acceptance missing": (
        _delete("accept_limited_use_license"),
        "`accept_limited_use_license`",
        "is missing",
    ),
    "runtime that is not Python": (
        _set("nodejs20.x", "pseudonymization", "runtime"),
        "`pseudonymization.runtime`",
        "python3.12",
    ),
    "missing metrics namespace": (
        _delete("pseudonymization", "metrics_namespace"),
        "`pseudonymization.metrics_namespace`",
        "is missing",
    ),
    "metrics namespace reserved for AWS": (
        _set("AWS/Lambda", "pseudonymization", "metrics_namespace"),
        "`pseudonymization.metrics_namespace`",
        "custom CloudWatch namespace",
    ),
    "metrics namespace starting with a colon": (
        _set(":Snowplow", "pseudonymization", "metrics_namespace"),
        "`pseudonymization.metrics_namespace`",
        "not ':Snowplow'",
    ),
    "metrics namespace with a tab": (
        _set("Snowplow\tPseudonymization", "pseudonymization", "metrics_namespace"),
        "`pseudonymization.metrics_namespace`",
        "custom CloudWatch namespace",
    ),
    "metrics namespace longer than 255 characters": (
        _set("N" * 256, "pseudonymization", "metrics_namespace"),
        "`pseudonymization.metrics_namespace`",
        "1 to 255",
    ),
    "unknown top-level key": (
        _set("eu-west-1", "regoin"),
        None,
        "has the unknown key 'regoin'; allowed: region, tags",
    ),
    "unknown key in a stream": (
        _set(2, "streams", "raw_good", "shards"),
        "`streams.raw_good`",
        "has the unknown key 'shards'; allowed: name, retention_hours",
    ),
    "a name with a final newline": (
        _set("snowplow-raw-good\n", "streams", "raw_good", "name"),
        "`streams.raw_good.name`",
        "must be a Kinesis stream name",
    ),
    "an integer written as a float": (
        _set(500.0, "collector", "buffer", "record_limit"),
        "`collector.buffer.record_limit`",
        "must be an integer, not the number 500.0",
    ),
    "a date where text belongs": (
        _set(datetime.date(2025, 1, 1), "region"),
        "`region`",
        "must be a non-empty string, not the date 2025-01-01 (quote it",
    ),
    "a setting for an enrichment that takes none": (
        lambda d: d["enrich"]["enrichment_settings"].update(ua_parser={"database": "x"}),
        "`enrich.enrichment_settings.ua_parser`",
        "has the unknown key 'database'; it takes no keys",
    ),
    "ip lookups listed with no settings at all": (
        _add_enrichment("ip_lookups"),
        "`enrich.enrichment_settings.ip_lookups.geo_database`",
        "is missing",
    ),
    "a registry's secret name that Secrets Manager refuses": (
        _set(
            {
                "name": "GitLab",
                "uri": "https://iglu.example",
                "vendor_prefixes": [],
                "api_key_secret_name": "a b",
            },
            "enrich",
            "iglu",
            "private_registry",
        ),
        "`enrich.iglu.private_registry.api_key_secret_name`",
        "must be a Secrets Manager name",
    ),
    "a role name with a capital": (
        lambda d: d["buckets"].update(Archive="gitlab-com-snowplow-archive"),
        "`buckets`",
        "must be a role name",
    ),
    "two buckets with one name": (
        lambda d: d["buckets"].update(archive=d["buckets"]["events"]),
        "`buckets.archive`",
        "repeats the name 'gitlab-com-snowplow-events' of `buckets.events`",
    ),
    "a custom path to no built-in endpoint": (
        _set({"/com.acme/track": "/i"}, "collector", "paths"),
        "`collector.paths./com.acme/track`",
        "must be one of /com.snowplowanalytics.snowplow/tp2, /r/tp2",
    ),
    "a custom path of one segment": (
        _set({"/track": "/r/tp2"}, "collector", "paths"),
        "`collector.paths`",
        "must be a two-segment path such as /com.acme/track, not '/track'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_a_bad_values_file_names_its_file_and_key(case: str, tmp_path: Path) -> None:
    mutate, key, words = BAD_VALUES[case]
    document = copy.deepcopy(real_document())
    mutate(document)
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.dump(document, sort_keys=False))  # dump: a date stays a YAML date
    with pytest.raises(PipelineError) as raised:
        pipeline.load_file(path)
    message = str(raised.value)
    where = "the document" if key is None else f"key {key}"
    assert message.startswith(f"{path}: {where} "), message
    assert words in message


@pytest.mark.parametrize(
    "namespace", ["Snowplow/Pseudonymization", "Team #1: pseudonymization", "N" * 255, "A"]
)
def test_any_custom_cloudwatch_namespace_is_accepted(namespace: str, tmp_path: Path) -> None:
    document = real_document()
    document["pseudonymization"]["metrics_namespace"] = namespace
    values = pipeline.load_file(write_values(tmp_path, document))
    assert values.pseudonymization.metrics_namespace == namespace


def test_a_key_given_twice_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(REAL_FILE.read_text() + "\nregion: eu-west-1\n")
    with pytest.raises(
        PipelineError, match=r"pipeline\.yaml: not valid YAML: key 'region' appears"
    ):
        pipeline.load_file(path)


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("region: us-east-1\nstreams: [\n")
    with pytest.raises(PipelineError, match=rf"^{path}: not valid YAML: .*line \d+"):
        pipeline.load_file(path)


def test_a_document_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    path = write_values(tmp_path, ["region"])
    with pytest.raises(PipelineError, match=rf"^{path}: the document must be a mapping"):
        pipeline.load_file(path)


def test_a_missing_values_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="cannot read the values file"):
        pipeline.load_file(tmp_path / "pipeline.yaml")


def test_an_unknown_environment_is_an_error() -> None:
    with pytest.raises(FileNotFoundError, match="no Terraform environment named 'nowhere'"):
        pipeline.load("nowhere")


def test_enrichment_settings_get_their_defaults(tmp_path: Path) -> None:
    document = real_document()
    document["enrich"].pop("enrichment_settings", None)
    values = pipeline.load_file(write_values(tmp_path, document))
    assert values.enrich.enrichment_settings["referer_parser"] == {"internal_domains": ()}
    assert values.enrich.enrichment_settings["ua_parser"] == {}


# --- the schema: one definition of a valid file ---------------------------------------------------


def test_every_problem_is_reported_at_once_one_per_line(tmp_path: Path) -> None:
    document = real_document()
    del document["region"]
    document["collector"]["port"] = "8080"
    document["enrich"]["initial_position"] = "NOW"
    with pytest.raises(PipelineError) as raised:
        pipeline.load_file(write_values(tmp_path, document))
    lines = str(raised.value).splitlines()
    assert all(line.startswith(f"{tmp_path / 'pipeline.yaml'}: key `") for line in lines)
    assert sorted(line.split("`")[1] for line in lines) == [
        "collector.port",
        "enrich.initial_position",
        "region",
    ]


def test_each_missing_setting_is_named_once(tmp_path: Path) -> None:
    document = real_document()
    document["enrich"]["enrichments"].append("ip_lookups")
    with pytest.raises(PipelineError) as raised:
        pipeline.load_file(write_values(tmp_path, document))
    keys = [line.split("`")[1] for line in str(raised.value).splitlines()]
    at = "enrich.enrichment_settings.ip_lookups"
    assert keys == [f"{at}.geo_database", f"{at}.geo_uri"]


@pytest.mark.parametrize(
    ("text", "key"),
    [("tags:\n  1: one\n", "tags"), ("tags:\n  yes: true\n", "tags"), ("~: x\n", None)],
)
def test_a_key_yaml_does_not_read_as_text_is_named_with_its_fix(
    text: str, key: str | None, tmp_path: Path
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    where = f"key `{key}`" if key else "the document"
    with pytest.raises(
        PipelineError,
        match=rf"^{re.escape(f'{path}: {where} has the non-string key')} .*; quote it\.$",
    ):
        pipeline.load_file(path)


def test_a_registry_without_a_key_may_say_null(tmp_path: Path) -> None:
    document = real_document()
    document["enrich"]["iglu"]["private_registry"] = {
        "name": "GitLab",
        "uri": "https://iglu.example.com/api",
        "vendor_prefixes": ["com.gitlab"],
        "api_key_secret_name": None,
    }
    values = pipeline.load_file(write_values(tmp_path, document))
    registry = values.enrich.iglu.private_registry
    assert registry is not None and registry.api_key_secret_name is None


SCHEMA = pipeline_schema.schema()


def _subschemas(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _subschemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _subschemas(value)


def test_the_schema_is_valid_json_schema_and_every_pattern_says_in_words_what_it_wants() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for subschema in _subschemas(SCHEMA):
        if "pattern" in subschema:
            assert subschema.get("description"), subschema["pattern"]
            assert subschema["pattern"].startswith("^") and subschema["pattern"].endswith("$")
        if "enum" in subschema or "pattern" in subschema:
            assert subschema.get("type") == "string", subschema


def test_the_enrichments_the_schema_offers_are_the_ones_the_renderer_knows() -> None:
    enrich = SCHEMA["properties"]["enrich"]["properties"]
    offered = enrich["enrichments"]["items"]["enum"]
    settings = enrich["enrichment_settings"]["properties"]
    templates = {p.name.removesuffix(".json.j2") for p in TEMPLATES.glob("[!_]*.json.j2")}
    assert set(offered) == set(settings) == set(ENRICHMENTS) == templates
    for name, declared in settings.items():
        entry = pipeline_schema.resolved(declared)
        required = set(entry.get("required", []))
        for setting, spec in entry.get("properties", {}).items():
            assert (setting in required) != ("default" in spec), f"{name}.{setting}"


def test_the_roles_and_kinesis_limits_come_from_the_schema() -> None:
    assert pipeline.STREAM_ROLES == ("raw_good", "raw_bad", "enriched_good", "enriched_bad")
    assert pipeline.RECORD_FORMATS == ("enriched", "bad_rows")
    assert pipeline.BUCKET_ROLES == ("events", "access_logs")
    assert (pipeline.KINESIS_MAX_RECORDS, pipeline.KINESIS_MAX_BYTES) == (500, 5 * 1024 * 1024)
