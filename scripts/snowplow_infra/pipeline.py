"""An environment's values file, ``pipeline.yaml``: loaded, validated and typed.

``pipeline.yaml`` is the single source of truth for every name and size that Terraform and the
Snowplow app configs share (docs/single-source-of-truth.md). Terraform reads it with
``yamldecode()``; Python reads it here and nowhere else: ``load("aws-snowplow")`` returns a
frozen :class:`Pipeline` or raises :class:`PipelineError`, whose message names the file and the
key at fault (a missing key, a wrong type, a value out of range, an unknown enrichment).

What a valid file is lives in one place, the JSON Schema ``pipeline.schema.json``, checked by
``pipeline_schema`` (with the few rules across keys JSON Schema cannot express); the checkov
policies use the same. This module turns a valid document into typed values, with the schema's
defaults filled in. Every mapping with fixed keys refuses unknown keys, so a typo fails instead
of being ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from snowplow_infra import pipeline_schema
from snowplow_infra.paths import REPO_ROOT, environment_dir

VALUES_FILE_NAME = "pipeline.yaml"
DEFAULT_ENVIRONMENT = "aws-snowplow"

_PROPERTIES = pipeline_schema.schema()["properties"]
# Roles the configs and the data path wire together: the roles the schema requires.
STREAM_ROLES: tuple[str, ...] = tuple(_PROPERTIES["streams"]["required"])
BUCKET_ROLES: tuple[str, ...] = tuple(_PROPERTIES["buckets"]["required"])
RECORD_FORMATS: tuple[str, ...] = tuple(
    _PROPERTIES["pseudonymization"]["properties"]["functions"]["required"]
)
# Kinesis PutRecords accepts at most 500 records and 5 MiB per request: the collector buffer's
# maximums in the schema.
_BUFFER = _PROPERTIES["collector"]["properties"]["buffer"]["properties"]
KINESIS_MAX_RECORDS: int = _BUFFER["record_limit"]["maximum"]
KINESIS_MAX_BYTES: int = _BUFFER["byte_limit"]["maximum"]
# The settings each enrichment takes, with their defaults.
_ENRICHMENT_SETTINGS = _PROPERTIES["enrich"]["properties"]["enrichment_settings"]["properties"]


# The values file is missing, unreadable or invalid; the message names the file and key.
PipelineError = pipeline_schema.PipelineError


@dataclass(frozen=True)
class EnrichmentKind:
    """An enrichment this repository can configure: its config's self-describing schema. The
    settings it takes under ``enrich.enrichment_settings.<name>`` are in pipeline.schema.json."""

    schema: str

    @property
    def vendor(self) -> str:
        return self.schema.removeprefix("iglu:").split("/")[0]

    @property
    def config_name(self) -> str:
        return self.schema.split("/")[1]


# Every enrichment a values file may list (the schema's `enrich.enrichments` names the same),
# by the name used in pipeline.yaml and as the file name of its rendered config
# (enrichments/<name>.json). A template per entry lives in templates/enrichments/<name>.json.j2.
ENRICHMENTS: Mapping[str, EnrichmentKind] = MappingProxyType(
    {
        "campaign_attribution": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow/campaign_attribution/jsonschema/1-0-1"
        ),
        "event_fingerprint": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow/event_fingerprint_config/jsonschema/1-0-1"
        ),
        "ip_lookups": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow/ip_lookups/jsonschema/2-0-1"
        ),
        "referer_parser": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow/referer_parser/jsonschema/2-0-1"
        ),
        "ua_parser": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow/ua_parser_config/jsonschema/1-0-1"
        ),
        "yauaa": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow.enrichments/yauaa_enrichment_config/jsonschema/1-0-0"
        ),
    }
)


@dataclass(frozen=True)
class Stream:
    name: str
    retention_hours: int


@dataclass(frozen=True)
class Buffer:
    byte_limit: int
    record_limit: int
    time_limit_ms: int


@dataclass(frozen=True)
class Cookie:
    enabled: bool
    name: str
    expiration: str
    domains: tuple[str, ...]


@dataclass(frozen=True)
class Collector:
    image: str
    port: int
    paths: Mapping[str, str]
    cookie: Cookie
    buffer: Buffer


@dataclass(frozen=True)
class IgluRegistry:
    name: str
    uri: str
    vendor_prefixes: tuple[str, ...]
    api_key_secret_name: str | None


@dataclass(frozen=True)
class Iglu:
    private_registry: IgluRegistry | None
    api_key_env_var: str


@dataclass(frozen=True)
class Enrich:
    image: str
    app_name: str
    initial_position: str
    enrichments: tuple[str, ...]
    # Every listed enrichment's settings, defaults filled in.
    enrichment_settings: Mapping[str, Mapping[str, Any]]
    iglu: Iglu


@dataclass(frozen=True)
class Pseudonymization:
    salt_secret_name: str
    functions: Mapping[str, str]
    runtime: str
    architecture: str
    # CloudWatch namespace of the functions' EMF metrics: Terraform sets their METRICS_NAMESPACE.
    metrics_namespace: str


@dataclass(frozen=True)
class Delivery:
    name: str
    source: str
    prefix: str
    record_format: str


@dataclass(frozen=True)
class Pipeline:
    """One environment's validated values. ``file`` is where they came from."""

    file: Path
    region: str
    tags: Mapping[str, str]
    accept_limited_use_license: bool
    streams: Mapping[str, Stream]
    collector: Collector
    enrich: Enrich
    pseudonymization: Pseudonymization
    delivery: Mapping[str, Delivery]
    buckets: Mapping[str, str]


def values_file(environment: str) -> Path:
    """The values file of a Terraform environment (which must exist)."""
    return environment_dir(environment) / VALUES_FILE_NAME


def load(environment: str = DEFAULT_ENVIRONMENT) -> Pipeline:
    """Load and validate the values of a Terraform environment, e.g. ``load("aws-snowplow")``."""
    return load_file(values_file(environment))


def load_file(path: Path) -> Pipeline:
    """Load and validate a values file; raise PipelineError naming the file and key at fault."""
    return _pipeline(pipeline_schema.read(path, display_path(path)), path)


def display_path(path: Path) -> str:
    """A path as messages show it: relative to the repository when it lies inside."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


def _pipeline(document: Mapping[str, Any], path: Path) -> Pipeline:
    """Typed values of a document the schema accepted."""
    collector, enrich = document["collector"], document["enrich"]
    cookie, buffer = collector["cookie"], collector["buffer"]
    registry = enrich["iglu"]["private_registry"]
    pseudonymization = document["pseudonymization"]
    settings = enrich.get("enrichment_settings") or {}
    streams = document["streams"]
    return Pipeline(
        file=path,
        region=document["region"],
        tags=MappingProxyType(dict(document["tags"])),
        accept_limited_use_license=document["accept_limited_use_license"],
        streams=MappingProxyType(
            {role: Stream(s["name"], s["retention_hours"]) for role, s in streams.items()}
        ),
        collector=Collector(
            image=collector["image"],
            port=collector["port"],
            paths=MappingProxyType(dict(collector["paths"])),
            cookie=Cookie(
                enabled=cookie["enabled"],
                name=cookie["name"],
                expiration=cookie["expiration"],
                domains=tuple(cookie["domains"]),
            ),
            buffer=Buffer(buffer["byte_limit"], buffer["record_limit"], buffer["time_limit_ms"]),
        ),
        enrich=Enrich(
            image=enrich["image"],
            app_name=enrich["app_name"],
            initial_position=enrich["initial_position"],
            enrichments=tuple(enrich["enrichments"]),
            enrichment_settings=MappingProxyType(
                {name: _settings(name, settings.get(name, {})) for name in enrich["enrichments"]}
            ),
            iglu=Iglu(
                private_registry=None
                if registry is None
                else IgluRegistry(
                    name=registry["name"],
                    uri=registry["uri"],
                    vendor_prefixes=tuple(registry["vendor_prefixes"]),
                    api_key_secret_name=registry.get("api_key_secret_name"),
                ),
                api_key_env_var=enrich["iglu"]["api_key_env_var"],
            ),
        ),
        pseudonymization=Pseudonymization(
            salt_secret_name=pseudonymization["salt_secret_name"],
            functions=MappingProxyType(dict(pseudonymization["functions"])),
            runtime=pseudonymization["runtime"],
            architecture=pseudonymization["architecture"],
            metrics_namespace=pseudonymization["metrics_namespace"],
        ),
        delivery=MappingProxyType(
            {
                role: Delivery(d["name"], d["source"], d["prefix"], d["record_format"])
                for role, d in document["delivery"].items()
            }
        ),
        buckets=MappingProxyType(dict(document["buckets"])),
    )


def _settings(name: str, given: Mapping[str, Any]) -> Mapping[str, Any]:
    """An enrichment's settings: the given ones, the schema's defaults for the others (lists as
    tuples, so the values stay frozen)."""
    declared = pipeline_schema.resolved(_ENRICHMENT_SETTINGS[name]).get("properties", {})
    values = {key: given.get(key, spec.get("default")) for key, spec in declared.items()}
    return MappingProxyType(
        {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
    )
