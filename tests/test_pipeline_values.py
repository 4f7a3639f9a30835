"""pipeline.yaml: the real file loads, and every kind of bad values file names its file and key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from snowplow_infra import pipeline
from snowplow_infra.pipeline import ENRICHMENTS, PipelineError

REAL_FILE = pipeline.values_file(pipeline.DEFAULT_ENVIRONMENT)


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


# (mutation, the key the message must name, words the message must contain)
BAD_VALUES = {
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
        "unknown enrichment 'telepathy'; known: campaign_attribution",
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
        _set({"geo_uri": "s3://b/p"}, "enrich", "enrichment_settings", "ip_lookups"),
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
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_a_bad_values_file_names_its_file_and_key(case: str, tmp_path: Path) -> None:
    mutate, key, words = BAD_VALUES[case]
    document = copy.deepcopy(real_document())
    mutate(document)
    path = write_values(tmp_path, document)
    with pytest.raises(PipelineError) as raised:
        pipeline.load_file(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: key {key} ")
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
