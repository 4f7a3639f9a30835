"""``snowplow-infra render-configs``: the collector and enrich configs, from pipeline.yaml.

Renders Jinja2 templates (``templates/``, StrictUndefined) with an environment's validated values
into ``build/config/<env>/``:

* ``collector.hocon``: Scala Stream Collector 3.x (Kinesis);
* ``enrich.hocon``: Snowplow Enrich 5.x (Kinesis);
* ``iglu_resolver.json``: the Iglu resolver (resolver-config 1-0-3);
* ``enrichments/<name>.json``: one per enrichment that ``enrich.enrichments`` lists.

Everything is rendered and validated in memory first (HOCON parses and carries the keys each app
needs, wired to the names in pipeline.yaml; JSON parses and carries the expected self-describing
schema). Only then is the set written, into a temporary folder that replaces the old one, so a
failure leaves the previous output untouched and never a partial one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
import pyparsing
from pyhocon import ConfigFactory, ConfigTree
from pyhocon.config_tree import ConfigSubstitution, ConfigValues
from pyhocon.exceptions import ConfigException

from snowplow_infra import pipeline as values
from snowplow_infra.paths import BUILD_DIR

CONFIG_DIR = BUILD_DIR / "config"
COLLECTOR_FILE = "collector.hocon"
ENRICH_FILE = "enrich.hocon"
RESOLVER_FILE = "iglu_resolver.json"
ENRICHMENTS_DIR = "enrichments"
RESOLVER_SCHEMA = "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3"
TEMPLATE_SUFFIX = ".j2"

# Keys each app needs to run as this pipeline expects; validation fails when one is absent.
REQUIRED_KEYS: Mapping[str, tuple[str, ...]] = {
    COLLECTOR_FILE: (
        "collector.license.accept",
        "collector.interface",
        "collector.port",
        "collector.paths",
        "collector.cookie.enabled",
        "collector.cookie.name",
        "collector.cookie.expiration",
        "collector.cookie.domains",
        *(
            f"collector.streams.{output}.{key}"
            for output in ("good", "bad")
            for key in (
                "name",
                "region",
                "buffer.byteLimit",
                "buffer.recordLimit",
                "buffer.timeLimit",
            )
        ),
        "collector.telemetry.disable",
    ),
    ENRICH_FILE: (
        "license.accept",
        "input.streamName",
        "input.region",
        "input.appName",
        "input.initialPosition.type",
        "output.good.streamName",
        "output.good.region",
        "output.bad.streamName",
        "output.bad.region",
        "monitoring.metrics.cloudwatch",
        "telemetry.disable",
    ),
}


class ConfigError(RuntimeError):
    """A rendered config failed validation; the message names the file and the key."""


def output_dir(environment: str) -> Path:
    """Where ``render-configs --env ENV`` writes: build/config/ENV/."""
    return CONFIG_DIR / environment


def _hocon_env(name: str) -> str:
    """A HOCON substitution of an environment variable: ``${NAME}``, resolved by the app."""
    return "${" + name + "}"


def _json(value: object) -> str:
    """JSON text for a value (JSON is valid HOCON). Mappings and tuples become objects and lists."""
    return json.dumps(value, ensure_ascii=False, default=_plain)


def _plain(value: object) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot render a {type(value).__name__} as JSON")


def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("snowplow_infra", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # HOCON and JSON, not HTML: every value goes through the json filter instead.
        autoescape=False,  # noqa: S701
    )
    environment.filters["json"] = _json
    environment.filters["hocon_env"] = _hocon_env
    return environment


def render(pipeline: values.Pipeline) -> dict[str, str]:
    """Every config file for these values: relative path to text. Nothing is written."""
    templates = _templates()
    common = {"pipeline": pipeline, "source": values.display_path(pipeline.file)}

    def one(template: str, **context: object) -> str:
        try:
            return templates.get_template(template).render(**common, **context)
        except jinja2.UndefinedError as error:
            raise ConfigError(f"template {template}: {error.message}.") from None

    files = {
        COLLECTOR_FILE: one(COLLECTOR_FILE + TEMPLATE_SUFFIX),
        ENRICH_FILE: one(ENRICH_FILE + TEMPLATE_SUFFIX),
        RESOLVER_FILE: one(RESOLVER_FILE + TEMPLATE_SUFFIX, schema=RESOLVER_SCHEMA),
    }
    for name in pipeline.enrich.enrichments:
        files[enrichment_file(name)] = one(
            f"{ENRICHMENTS_DIR}/{name}.json{TEMPLATE_SUFFIX}",
            kind=values.ENRICHMENTS[name],
            settings=pipeline.enrich.enrichment_settings[name],
        )
    return files


def enrichment_file(name: str) -> str:
    return f"{ENRICHMENTS_DIR}/{name}.json"


# --- validation -------------------------------------------------------------------------------


def _wiring(pipeline: values.Pipeline) -> dict[str, dict[str, object]]:
    """Keys whose values connect the apps to each other and to Terraform's resources."""
    streams = pipeline.streams
    collector: dict[str, object] = {"collector.port": pipeline.collector.port}
    for output, role in (("good", "raw_good"), ("bad", "raw_bad")):
        collector[f"collector.streams.{output}.name"] = streams[role].name
        collector[f"collector.streams.{output}.region"] = pipeline.region
    return {
        COLLECTOR_FILE: collector,
        ENRICH_FILE: {
            "input.streamName": streams["raw_good"].name,
            "input.region": pipeline.region,
            "input.appName": pipeline.enrich.app_name,
            "output.good.streamName": streams["enriched_good"].name,
            "output.good.region": pipeline.region,
            "output.bad.streamName": streams["enriched_bad"].name,
            "output.bad.region": pipeline.region,
        },
    }


def validate(pipeline: values.Pipeline, files: Mapping[str, str]) -> None:
    """Check every rendered file; raise ConfigError naming the file and key at fault."""
    expected = {COLLECTOR_FILE, ENRICH_FILE, RESOLVER_FILE}
    expected |= {enrichment_file(name) for name in pipeline.enrich.enrichments}
    if set(files) != expected:
        raise ConfigError(
            f"rendered {sorted(files)}, expected exactly {sorted(expected)}: the renderer is wrong."
        )
    for name, wiring in _wiring(pipeline).items():
        _validate_hocon(name, files[name], REQUIRED_KEYS[name], wiring)
    api_key_env = pipeline.enrich.iglu.api_key_env_var
    registry = pipeline.enrich.iglu.private_registry
    wants_key = registry is not None and registry.api_key_secret_name is not None
    resolver = _parse_self_describing(
        RESOLVER_FILE, files[RESOLVER_FILE], RESOLVER_SCHEMA, api_key_env if wants_key else None
    )
    _validate_resolver(resolver, api_key_env if wants_key else None)
    for name in pipeline.enrich.enrichments:
        kind = values.ENRICHMENTS[name]
        path = enrichment_file(name)
        document = _parse_self_describing(path, files[path], kind.schema, None)
        data = document["data"]
        for key, want in (("vendor", kind.vendor), ("name", kind.config_name), ("enabled", True)):
            if data.get(key) != want:
                found = data.get(key)
                raise ConfigError(f"{path}: key `data.{key}` must be {want!r}, not {found!r}.")


def _hocon_error(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _validate_hocon(
    name: str, text: str, required: tuple[str, ...], wiring: Mapping[str, object]
) -> None:
    try:
        config = ConfigFactory.parse_string(text)
    except (ConfigException, pyparsing.ParseBaseException) as error:
        raise ConfigError(f"{name}: not valid HOCON: {_hocon_error(error)}") from None
    for key in required:
        if _lookup(config, key) is _MISSING:
            raise ConfigError(f"{name}: required key `{key}` is missing.")
    for key, want in wiring.items():
        found = _lookup(config, key)
        if found != want:
            raise ConfigError(f"{name}: key `{key}` is {found!r}, but pipeline.yaml says {want!r}.")


_MISSING = object()


def _lookup(config: ConfigTree, key: str) -> object:
    try:
        return config.get(key)
    except (ConfigException, KeyError):
        return _MISSING


def _substitutions(node: object, key: str = "") -> Iterator[tuple[str, str]]:
    """(key, variable) for every HOCON substitution in an unresolved pyhocon tree."""
    if isinstance(node, ConfigTree):
        for child_key, child in node.items():
            yield from _substitutions(child, f"{key}.{child_key}" if key else child_key)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _substitutions(child, f"{key}[{index}]")
    elif isinstance(node, ConfigValues):
        for token in node.tokens:
            if isinstance(token, ConfigSubstitution):
                yield key, token.variable


def _parse_self_describing(
    name: str, text: str, schema: str, allowed_env: str | None
) -> dict[str, Any]:
    """Parse a JSON config as Enrich does (HOCON, unresolved) and as strict JSON.

    The only HOCON substitution allowed is ``${allowed_env}``; strict JSON must hold once that one
    reference is read as a string. Returns the JSON document (the reference as the string
    ``"${NAME}"``) after checking its ``schema`` and that ``data`` is an object.
    """
    try:
        tree = ConfigFactory.parse_string(text, resolve=False)
    except (ConfigException, pyparsing.ParseBaseException) as error:
        raise ConfigError(f"{name}: not valid HOCON/JSON: {_hocon_error(error)}") from None
    json_text = text
    for key, variable in _substitutions(tree):
        if variable != allowed_env:
            raise ConfigError(
                f"{name}: key `{key}` holds the unexpected substitution {_hocon_env(variable)}."
            )
        reference = _hocon_env(variable)
        json_text = json_text.replace(reference, json.dumps(reference))
    try:
        document = json.loads(json_text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{name}: not valid JSON: {error}.") from None
    if not isinstance(document, dict) or document.get("schema") != schema:
        found = document.get("schema") if isinstance(document, dict) else None
        raise ConfigError(f"{name}: key `schema` must be {schema!r}, not {found!r}.")
    if not isinstance(document.get("data"), dict):
        raise ConfigError(f"{name}: key `data` must be an object.")
    return document


def _validate_resolver(document: dict[str, Any], api_key_env: str | None) -> None:
    repositories = document["data"].get("repositories")
    if not isinstance(repositories, list) or not repositories:
        raise ConfigError(f"{RESOLVER_FILE}: key `data.repositories` must be a non-empty list.")
    api_keys = []
    for index, repository in enumerate(repositories):
        where = f"data.repositories[{index}]"
        for key in ("name", "priority", "vendorPrefixes", "connection"):
            if key not in repository:
                raise ConfigError(f"{RESOLVER_FILE}: required key `{where}.{key}` is missing.")
        http = repository["connection"].get("http", {})
        if "apikey" in http:
            api_keys.append((where, http["apikey"]))
    wanted = [] if api_key_env is None else [_hocon_env(api_key_env)]
    if [value for _, value in api_keys] != wanted:
        where = api_keys[0][0] if api_keys else "data.repositories"
        raise ConfigError(
            f"{RESOLVER_FILE}: key `{where}.connection.http.apikey` must be "
            + (f"the substitution {wanted[0]}" if wanted else "absent")
            + ": an API key is never written into the file."
        )


# --- writing ----------------------------------------------------------------------------------


def write(files: Mapping[str, str], target: Path) -> None:
    """Write the set into a fresh folder beside ``target``, then swap it in.

    Files are 0644 and folders 0755 whatever the umask; bytes depend only on the text.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    retired = staging.with_name(staging.name.replace(".new-", ".old-"))
    try:
        staging.chmod(0o755)
        for relative, text in sorted(files.items()):
            path = staging / relative
            if not path.parent.is_dir():
                path.parent.mkdir(parents=True)
                path.parent.chmod(0o755)
            path.write_bytes(text.encode("utf-8"))
            path.chmod(0o644)
        if target.exists():
            target.rename(retired)
        try:
            staging.rename(target)
        except OSError:
            if retired.exists():
                retired.rename(target)
            raise
    finally:
        for leftover in (staging, retired):
            if leftover.exists():
                shutil.rmtree(leftover)


def render_configs(environment: str, target: Path | None = None) -> Path:
    """Load, render, validate and write an environment's configs; return the folder written."""
    pipeline = values.load(environment)
    if not pipeline.accept_limited_use_license:
        raise ConfigError(
            f"{values.display_path(pipeline.file)}: key `accept_limited_use_license` is false, "
            "but Collector 3.x and Enrich 5.x refuse to start without it: set it to true once "
            "the Snowplow Limited Use License is accepted."
        )
    files = render(pipeline)
    validate(pipeline, files)
    destination = target or output_dir(environment)
    write(files, destination)
    return destination


# --- command line -----------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "render-configs",
        help="render and validate the collector, enrich, Iglu and enrichment configs",
        description=(
            "Render the Scala Stream Collector and Snowplow Enrich configs, the Iglu resolver and "
            "one config per enabled enrichment from the environment's pipeline.yaml into "
            "build/config/ENV/. Everything is validated before anything is written (HOCON and "
            "JSON parse, required keys, stream and table names wired as pipeline.yaml says); a "
            "bad values file fails with the file and key at fault and leaves the previous "
            "output untouched. Terraform reads the files from there."
        ),
        epilog="See docs/build-artifacts.md for the files and the Iglu API key mechanism.",
    )
    parser.add_argument(
        "--env",
        default=values.DEFAULT_ENVIRONMENT,
        metavar="ENV",
        help="the environment under terraform/environments/ "
        f"(default: {values.DEFAULT_ENVIRONMENT})",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="write here instead of build/config/ENV/ (replaced as a whole)",
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        destination = render_configs(args.env, args.output)
    except (values.PipelineError, ConfigError, FileNotFoundError) as error:
        print(f"render-configs: {error}", file=sys.stderr)
        return 1
    for path in sorted(p for p in destination.rglob("*") if p.is_file()):
        print(values.display_path(path))
    return 0
