"""The rendered app configs: every file parses, names come from pipeline.yaml, failures leave no
partial output, and the Iglu API key is only ever a reference."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from pyhocon import ConfigFactory

from snowplow_infra import pipeline, render_configs
from snowplow_infra.render_configs import ConfigError, render, validate
from tests.conftest import cli_path

ENVIRONMENT = pipeline.DEFAULT_ENVIRONMENT
REAL_FILE = pipeline.values_file(ENVIRONMENT)
TEMPLATES = Path(render_configs.__file__).parent / "templates"


def values_with(tmp_path: Path, **changes: Any) -> pipeline.Pipeline:
    """The real values with parts of the ``enrich`` section replaced, loaded from a copy."""
    document = yaml.safe_load(REAL_FILE.read_text())
    document["enrich"].update(changes)
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(document))
    return pipeline.load_file(path)


def every_enrichment(tmp_path: Path, **iglu: Any) -> pipeline.Pipeline:
    return values_with(
        tmp_path,
        enrichments=sorted(pipeline.ENRICHMENTS),
        enrichment_settings={
            "ip_lookups": {"geo_database": "GeoLite2-City.mmdb", "geo_uri": "s3://geo/maxmind"},
            "referer_parser": {"internal_domains": ["gitlab.com", "about.gitlab.com"]},
        },
        iglu={"api_key_env_var": "IGLU_API_KEY", "private_registry": None, **iglu},
    )


PRIVATE_REGISTRY = {
    "name": "GitLab schemas",
    "uri": "https://iglu.example.com/api",
    "vendor_prefixes": ["com.gitlab"],
    "api_key_secret_name": "snowplow/iglu-api-key",
}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


# --- the real environment ---------------------------------------------------------------------


def test_the_cli_renders_every_file_and_each_one_parses(tmp_path: Path) -> None:
    values = pipeline.load()
    out = tmp_path / "config"
    result = subprocess.run(
        [str(cli_path()), "render-configs", "--env", ENVIRONMENT, "--output", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    expected = {"collector.hocon", "enrich.hocon", "iglu_resolver.json"}
    expected |= {f"enrichments/{name}.json" for name in values.enrich.enrichments}
    assert set(snapshot(out)) == expected
    assert len(result.stdout.splitlines()) == len(expected)

    collector = ConfigFactory.parse_file(str(out / "collector.hocon"))
    assert collector["collector.streams.good.name"] == values.streams["raw_good"].name
    assert collector["collector.streams.bad.name"] == values.streams["raw_bad"].name
    assert collector["collector.streams.good.region"] == values.region
    assert collector["collector.streams.good.buffer.recordLimit"] == (
        values.collector.buffer.record_limit
    )
    assert collector["collector.cookie.domains"] == list(values.collector.cookie.domains)
    assert collector["collector.port"] == values.collector.port
    # Scala Stream Collector 3.x reads preTerminationPeriod; preTerminationUnhealthy is a 2.x key
    # it ignores, which would suggest draining fails the health check first.
    assert "preTerminationPeriod" in collector["collector"]
    assert "preTerminationUnhealthy" not in collector["collector"]

    enrich = ConfigFactory.parse_file(str(out / "enrich.hocon"))
    assert enrich["input.streamName"] == values.streams["raw_good"].name
    assert enrich["input.appName"] == values.enrich.app_name
    assert enrich["input.initialPosition.type"] == values.enrich.initial_position
    assert enrich["output.good.streamName"] == values.streams["enriched_good"].name
    assert enrich["output.bad.streamName"] == values.streams["enriched_bad"].name
    assert enrich["monitoring.metrics.cloudwatch"] is True

    resolver = json.loads((out / "iglu_resolver.json").read_text())
    assert resolver["schema"] == render_configs.RESOLVER_SCHEMA
    assert "https://iglucentral.com" in {
        r["connection"]["http"]["uri"] for r in resolver["data"]["repositories"]
    }
    for name in values.enrich.enrichments:
        document = json.loads((out / f"enrichments/{name}.json").read_text())
        assert document["schema"] == pipeline.ENRICHMENTS[name].schema
        assert document["data"]["enabled"] is True


def test_rendering_twice_gives_identical_bytes_and_fixed_modes(tmp_path: Path) -> None:
    first = render_configs.render_configs(ENVIRONMENT, tmp_path / "one")
    for umask, name in ((0o077, "two"), (0o002, "three")):
        subprocess.run(
            [str(cli_path()), "render-configs", "--output", str(tmp_path / name)],
            umask=umask,
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        assert snapshot(tmp_path / name) == snapshot(first)
        modes = {p.stat().st_mode & 0o777 for p in (tmp_path / name).rglob("*")}
        assert modes == {0o644, 0o755}


def test_no_name_is_typed_in_a_template() -> None:
    """Stream, table, region and bucket names live in pipeline.yaml only."""
    values = pipeline.load()
    names = {values.region, values.enrich.app_name, values.pseudonymization.salt_secret_name}
    names |= {s.name for s in values.streams.values()}
    names |= set(values.buckets.values()) | {d.name for d in values.delivery.values()}
    for template in TEMPLATES.rglob("*.j2"):
        text = template.read_text()
        assert not [name for name in names if name in text], template


# --- every enrichment and the Iglu API key ----------------------------------------------------


def test_every_known_enrichment_renders_a_valid_config(tmp_path: Path) -> None:
    values = every_enrichment(tmp_path)
    files = render(values)
    validate(values, files)
    ip_lookups = json.loads(files["enrichments/ip_lookups.json"])
    assert ip_lookups["data"]["parameters"]["geo"] == {
        "database": "GeoLite2-City.mmdb",
        "uri": "s3://geo/maxmind",
    }
    referer = json.loads(files["enrichments/referer_parser.json"])
    assert referer["data"]["parameters"]["internalDomains"] == ["gitlab.com", "about.gitlab.com"]
    yauaa = json.loads(files["enrichments/yauaa.json"])
    assert yauaa["data"]["name"] == "yauaa_enrichment_config"


def test_the_private_registry_key_is_a_reference_the_app_resolves(tmp_path: Path) -> None:
    values = every_enrichment(tmp_path, private_registry=PRIVATE_REGISTRY)
    files = render(values)
    validate(values, files)
    text = files["iglu_resolver.json"]
    assert '"apikey": ${IGLU_API_KEY}' in text
    # Enrich parses the file as HOCON and resolves the reference from its environment.
    os.environ["IGLU_API_KEY"] = "key-from-secrets-manager"
    try:
        resolved = ConfigFactory.parse_string(text)
    finally:
        del os.environ["IGLU_API_KEY"]
    private = [r for r in resolved["data.repositories"] if r["name"] == PRIVATE_REGISTRY["name"]]
    assert private[0]["connection.http.apikey"] == "key-from-secrets-manager"
    assert private[0]["connection.http.uri"] == PRIVATE_REGISTRY["uri"]
    assert private[0]["vendorPrefixes"] == ["com.gitlab"]


def test_a_registry_without_a_secret_gets_no_apikey(tmp_path: Path) -> None:
    registry = {**PRIVATE_REGISTRY, "api_key_secret_name": None}
    values = every_enrichment(tmp_path, private_registry=registry)
    files = render(values)
    validate(values, files)
    resolver = json.loads(files["iglu_resolver.json"])
    assert not [r for r in resolver["data"]["repositories"] if "apikey" in r["connection"]["http"]]
    assert "${" not in files["iglu_resolver.json"]


# --- validation of what was rendered ----------------------------------------------------------


# file -> (old text, new text, start of the error); {names} come from pipeline.yaml.
TAMPERING = {
    "collector without its good stream name": (
        "collector.hocon",
        'name = "{raw_good}"',
        "",
        "collector.hocon: required key `collector.streams.good.name` is missing",
    ),
    "collector writing to the wrong stream": (
        "collector.hocon",
        '"{raw_bad}"',
        '"{enriched_bad}"',
        "collector.hocon: key `collector.streams.bad.name` is '{enriched_bad}', but "
        "pipeline.yaml says '{raw_bad}'",
    ),
    "enrich without its lease table": (
        "enrich.hocon",
        '"appName": "{app_name}"',
        "",
        "enrich.hocon: required key `input.appName` is missing",
    ),
    "enrich that does not parse": (
        "enrich.hocon",
        '"output": {{',
        '"output": {{{{',
        "enrich.hocon: not valid HOCON",
    ),
    "resolver with the wrong schema": (
        "iglu_resolver.json",
        "resolver-config/jsonschema/1-0-3",
        "resolver/jsonschema/1-0-0",
        "iglu_resolver.json: key `schema` must be",
    ),
    "resolver with a literal API key": (
        "iglu_resolver.json",
        '"uri": "https://iglucentral.com"',
        '"uri": "https://iglucentral.com", "apikey": "0f1e2d3c"',
        "iglu_resolver.json: key `data.repositories[0].connection.http.apikey` must be absent",
    ),
    "resolver referring to another variable": (
        "iglu_resolver.json",
        '"cacheSize": 500',
        '"cacheSize": ${{CACHE}}',
        "iglu_resolver.json: key `data.cacheSize` holds the unexpected substitution ${{CACHE}}",
    ),
    "enrichment that is not JSON": (
        "enrichments/ua_parser.json",
        '"enabled": true,',
        '"enabled": true,,',
        "enrichments/ua_parser.json: not valid",
    ),
    "enrichment switched off": (
        "enrichments/campaign_attribution.json",
        '"enabled": true',
        '"enabled": false',
        "enrichments/campaign_attribution.json: key `data.enabled` must be True",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_validation_names_the_file_and_key_of_a_broken_config(case: str) -> None:
    values = pipeline.load()
    names = {role: stream.name for role, stream in values.streams.items()}
    names["app_name"] = values.enrich.app_name
    name, old, new, message = (text.format(**names) for text in TAMPERING[case])
    files = render(values)
    assert old in files[name]
    files[name] = files[name].replace(old, new, 1)
    with pytest.raises(ConfigError) as raised:
        validate(values, files)
    assert str(raised.value).startswith(message)


def test_a_template_that_uses_an_unknown_value_fails_loudly() -> None:
    environment = render_configs._templates()
    assert environment.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError):
        environment.from_string("{{ pipeline.collector.no_such_key }}").render(
            pipeline=pipeline.load()
        )


# --- failures leave no partial output ---------------------------------------------------------


def write_bad_environment(root: Path) -> Path:
    """A copy of the environment whose pipeline.yaml names an unknown enrichment."""
    environment = root / "bad-env"
    environment.mkdir()
    (environment / "versions.tf").write_text("")
    document = yaml.safe_load(REAL_FILE.read_text())
    document["enrich"]["enrichments"].append("telepathy")
    (environment / "pipeline.yaml").write_text(yaml.safe_dump(document))
    return environment


def test_a_bad_values_file_fails_naming_it_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "environment_dir", lambda name: tmp_path / name)
    write_bad_environment(tmp_path)
    out = tmp_path / "build" / "bad-env"
    with pytest.raises(pipeline.PipelineError, match=r"key `enrich.enrichments\[4\]`"):
        render_configs.render_configs("bad-env", out)
    assert not out.exists()
    assert not (tmp_path / "build").exists() or not list((tmp_path / "build").iterdir())


def test_the_cli_reports_a_bad_values_file_and_keeps_the_previous_output(tmp_path: Path) -> None:
    out = render_configs.render_configs(ENVIRONMENT, tmp_path / "out")
    before = snapshot(out)
    bad = write_bad_environment(tmp_path)
    result = subprocess.run(
        [
            str(cli_path()),
            "render-configs",
            "--output",
            str(out),
            "--env",
            os.path.relpath(bad, pipeline.values_file(ENVIRONMENT).parent.parent),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert f"{bad / 'pipeline.yaml'}: key `enrich.enrichments[4]`" in result.stderr
    assert (
        "must be one of campaign_attribution" in result.stderr
        and "not 'telepathy'" in result.stderr
    )
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad-env", "out"]


def test_a_failure_while_writing_leaves_the_previous_output_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = render_configs.render_configs(ENVIRONMENT, tmp_path / "out")
    before = snapshot(out)
    values = pipeline.load()
    files = render(values)
    files["enrich.hocon"] += "# changed\n"
    real_write_bytes = Path.write_bytes
    written: list[Path] = []

    def failing_write_bytes(self: Path, data: bytes) -> int:
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        written.append(self)
        return real_write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write_bytes)
    with pytest.raises(OSError, match="No space left"):
        render_configs.write(files, out)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_new_set_replaces_the_old_one_whole(tmp_path: Path) -> None:
    """An enrichment dropped from pipeline.yaml leaves no stale file behind."""
    values = every_enrichment(tmp_path)
    render_configs.write(render(values), tmp_path / "out")
    assert (tmp_path / "out" / "enrichments" / "yauaa.json").is_file()
    render_configs.write(render(pipeline.load()), tmp_path / "out")
    assert not (tmp_path / "out" / "enrichments" / "yauaa.json").exists()
    assert snapshot(tmp_path / "out") == {
        name: text.encode() for name, text in render(pipeline.load()).items()
    }


def test_a_licence_not_accepted_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    environment = tmp_path / "env"
    environment.mkdir()
    document = yaml.safe_load(REAL_FILE.read_text())
    document["accept_limited_use_license"] = False
    (environment / "pipeline.yaml").write_text(yaml.safe_dump(document))
    monkeypatch.setattr(pipeline, "environment_dir", lambda name: environment)
    with pytest.raises(ConfigError, match="key `accept_limited_use_license` is false"):
        render_configs.render_configs("env", tmp_path / "out")
    assert not (tmp_path / "out").exists()
