"""An environment's values file, ``pipeline.yaml``: loaded, validated and typed.

``pipeline.yaml`` is the single source of truth for every name and size that Terraform and the
Snowplow app configs share (docs/single-source-of-truth.md). Terraform reads it with
``yamldecode()``; Python reads it here and nowhere else: ``load("aws-snowplow")`` returns a
frozen :class:`Pipeline` or raises :class:`PipelineError`, whose message names the file and the
key at fault (a missing key, a wrong type, a value out of range, an unknown enrichment).

The sections the app configs consume (``collector``'s cookie, paths and buffer, ``enrich``'s
enrichments and Iglu settings) reject unknown keys, so a typo fails instead of being ignored.
Elsewhere a key this module does not know is allowed: Terraform may read keys Python never needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from snowplow_infra.paths import REPO_ROOT, environment_dir

VALUES_FILE_NAME = "pipeline.yaml"
DEFAULT_ENVIRONMENT = "aws-snowplow"

# Roles the configs and the data path wire together; each must exist in its section.
STREAM_ROLES = ("raw_good", "raw_bad", "enriched_good", "enriched_bad")
BUCKET_ROLES = ("events", "access_logs")
RECORD_FORMATS = ("enriched", "bad_rows")

# The collector's built-in endpoints, the only valid targets of a custom path.
COLLECTOR_DEFAULT_PATHS = (
    "/com.snowplowanalytics.snowplow/tp2",
    "/r/tp2",
    "/com.snowplowanalytics.iglu/v1",
)
INITIAL_POSITIONS = ("TRIM_HORIZON", "LATEST")
LAMBDA_ARCHITECTURES = ("x86_64", "arm64")
MAXMIND_DATABASES = ("GeoLite2-City.mmdb", "GeoIP2-City.mmdb")
# Kinesis PutRecords accepts at most 500 records and 5 MiB per request.
KINESIS_MAX_RECORDS = 500
KINESIS_MAX_BYTES = 5 * 1024 * 1024

_STREAM_NAME = (r"[A-Za-z0-9_.-]{1,128}", "1 to 128 letters, digits, '_', '.' or '-'")
_TABLE_NAME = (r"[A-Za-z0-9_.-]{3,255}", "3 to 255 letters, digits, '_', '.' or '-'")
_FUNCTION_NAME = (r"[A-Za-z0-9_-]{1,64}", "1 to 64 letters, digits, '_' or '-'")
_FIREHOSE_NAME = (r"[A-Za-z0-9_.-]{1,64}", "1 to 64 letters, digits, '_', '.' or '-'")
_BUCKET_NAME = (r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "an S3 bucket name (3 to 63 of a-z 0-9 . -)")
_SECRET_NAME = (r"[A-Za-z0-9/_+=.@-]{1,512}", "a Secrets Manager name (letters, digits, /_+=.@-)")
_REGION = (r"[a-z]{2}(-[a-z]+)+-\d", "an AWS region such as us-east-1")
_ENV_VAR = (r"[A-Z_][A-Z0-9_]*", "an environment variable name in capitals, such as IGLU_API_KEY")
_PREFIX = (r"[^/\s][^\s]*/", "a key prefix without a leading '/' that ends with '/'")
_DURATION = (
    r"\d+ ?(days?|d|hours?|h|minutes?|m|seconds?|s)",
    "a duration such as '365 days' or '12 hours'",
)
_URI = (r"(https?|s3)://\S+", "an http(s):// or s3:// URI")
_HTTPS_URI = (r"https?://\S+", "an http(s):// URI")
_DOMAIN = (r"[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?", "a domain name such as gitlab.com")
_RUNTIME = (r"python3\.\d+", "a Lambda Python runtime such as python3.12")
_METRICS_NAMESPACE = (
    r"(?!AWS/)[0-9A-Za-z._/#-]([0-9A-Za-z._/#: -]{0,253}[0-9A-Za-z._/#:-])?",
    "a custom CloudWatch namespace: 1 to 255 letters, digits, spaces or . - _ / # : characters, "
    "not starting with ':', a space or 'AWS/' (reserved for AWS services), not ending with a space",
)
_IMAGE = (r"\S+:\S+", "a container image with a tag, such as snowplow/enrich:5.1.2")
_COOKIE_NAME = (r"[A-Za-z0-9_-]{1,64}", "1 to 64 letters, digits, '_' or '-'")
_CUSTOM_PATH = (r"/[^/\s]+/[^/\s]+", "a two-segment path such as /com.acme/track")


class PipelineError(ValueError):
    """The values file is missing, unreadable or invalid. The message names the file and key."""


@dataclass(frozen=True)
class EnrichmentKind:
    """An enrichment this repository can configure: its config's self-describing schema and the
    settings it takes under ``enrich.enrichment_settings.<name>`` (setting name to its default,
    or to REQUIRED when the values file must give it)."""

    schema: str
    settings: Mapping[str, object]

    @property
    def vendor(self) -> str:
        return self.schema.removeprefix("iglu:").split("/")[0]

    @property
    def config_name(self) -> str:
        return self.schema.split("/")[1]


REQUIRED = object()

# Every enrichment a values file may list, by the name used in pipeline.yaml and as the file name
# of its rendered config (enrichments/<name>.json). A template per entry lives in
# templates/enrichments/<name>.json.j2.
ENRICHMENTS: Mapping[str, EnrichmentKind] = MappingProxyType(
    {
        "campaign_attribution": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow/campaign_attribution/jsonschema/1-0-1", {}
        ),
        "event_fingerprint": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow/event_fingerprint_config/jsonschema/1-0-1", {}
        ),
        "ip_lookups": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow/ip_lookups/jsonschema/2-0-1",
            {"geo_database": REQUIRED, "geo_uri": REQUIRED},
        ),
        "referer_parser": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow/referer_parser/jsonschema/2-0-1",
            {"internal_domains": ()},
        ),
        "ua_parser": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow/ua_parser_config/jsonschema/1-0-1", {}
        ),
        "yauaa": EnrichmentKind(
            "iglu:com.snowplowanalytics.snowplow.enrichments/yauaa_enrichment_config/jsonschema/1-0-0",
            {},
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
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PipelineError(f"{shown}: cannot read the values file ({error.strerror}).") from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        raise PipelineError(f"{shown}: not valid YAML: {_yaml_problem(error)}") from None
    return _pipeline(_Node(shown, "", document), path)


def display_path(path: Path) -> str:
    """A path as messages show it: relative to the repository when it lies inside."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool | None):
                continue  # an unhashable key: SafeLoader's own check reports it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})."
    return f"{error}."


def _describe(value: object) -> str:
    """How an error message names a value it did not expect."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    for kind, text in ((int | float, "the number {!s}"), (str, "the string {!r}")):
        if isinstance(value, kind):
            return text.format(value)
    return {list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class _Node:
    """A value inside the values file, with its dotted key for error messages."""

    file: str
    key: str
    value: Any

    def fail(self, problem: str) -> NoReturn:
        where = f"key `{self.key}`" if self.key else "the document"
        raise PipelineError(f"{self.file}: {where} {problem}.")

    def _at(self, key: str) -> str:
        return f"{self.key}.{key}" if self.key else key

    def mapping(self) -> _Node:
        if not isinstance(self.value, dict):
            self.fail(f"must be a mapping, not {_describe(self.value)}")
        return self

    def __getitem__(self, key: str) -> _Node:
        if key not in self.mapping().value:
            raise PipelineError(f"{self.file}: key `{self._at(key)}` is missing.")
        return _Node(self.file, self._at(key), self.value[key])

    def get(self, key: str) -> _Node | None:
        """The child, or None when the key is absent or null."""
        if self.mapping().value.get(key) is None:
            return None
        return self[key]

    def items(self) -> Iterator[tuple[str, _Node]]:
        for key in self.mapping().value:
            if not isinstance(key, str):
                self.fail(f"has the non-string key {key!r}; quote it")
            yield key, self[key]

    def only(self, *allowed: str) -> _Node:
        unknown = sorted(str(k) for k in self.mapping().value if k not in allowed)
        if unknown:
            self.fail(f"has the unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
        return self

    def string(self, rule: tuple[str, str] | None = None) -> str:
        if not isinstance(self.value, str) or not self.value:
            self.fail(f"must be a non-empty string, not {_describe(self.value)}")
        if rule is not None and not re.fullmatch(rule[0], self.value):
            self.fail(f"must be {rule[1]}, not {self.value!r}")
        return self.value

    def choice(self, choices: tuple[str, ...]) -> str:
        value = self.string()
        if value not in choices:
            self.fail(f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def integer(self, minimum: int, maximum: int | None = None) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            self.fail(f"must be an integer, not {_describe(self.value)}")
        too_big = maximum is not None and self.value > maximum
        if self.value < minimum or too_big:
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.fail(f"must be an integer {bounds}, not {self.value}")
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            self.fail(f"must be true or false, not {_describe(self.value)}")
        return self.value

    def strings(self, rule: tuple[str, str] | None = None) -> tuple[str, ...]:
        if not isinstance(self.value, list):
            self.fail(f"must be a list of strings, not {_describe(self.value)}")
        children = [_Node(self.file, f"{self.key}[{i}]", v) for i, v in enumerate(self.value)]
        return tuple(child.string(rule) for child in children)


def _pipeline(root: _Node, path: Path) -> Pipeline:
    root.mapping()
    streams = _streams(root["streams"])
    pseudonymization = _pseudonymization(root["pseudonymization"])
    return Pipeline(
        file=path,
        region=root["region"].string(_REGION),
        tags=MappingProxyType({k: v.string() for k, v in root["tags"].items()}),
        accept_limited_use_license=root["accept_limited_use_license"].boolean(),
        streams=streams,
        collector=_collector(root["collector"]),
        enrich=_enrich(root["enrich"]),
        pseudonymization=pseudonymization,
        delivery=_delivery(root["delivery"], streams, pseudonymization),
        buckets=_named_roles(root["buckets"], BUCKET_ROLES, _BUCKET_NAME),
    )


def _require_roles(node: _Node, roles: tuple[str, ...]) -> None:
    for role in roles:
        node[role]  # raises PipelineError naming the missing key


def _require_unique(node: _Node, names: Mapping[str, str]) -> None:
    seen: dict[str, str] = {}
    for role, name in names.items():
        if name in seen:
            node[role].fail(f"repeats the name {name!r} of `{node.key}.{seen[name]}`")
        seen[name] = role


def _named_roles(node: _Node, roles: tuple[str, ...], rule: tuple[str, str]) -> Mapping[str, str]:
    _require_roles(node, roles)
    names = {role: child.string(rule) for role, child in node.items()}
    _require_unique(node, names)
    return MappingProxyType(names)


def _streams(node: _Node) -> Mapping[str, Stream]:
    _require_roles(node, STREAM_ROLES)
    streams = {
        role: Stream(
            name=child["name"].string(_STREAM_NAME),
            retention_hours=child["retention_hours"].integer(24, 8760),
        )
        for role, child in node.items()
    }
    _require_unique(node, {role: stream.name for role, stream in streams.items()})
    return MappingProxyType(streams)


def _collector(node: _Node) -> Collector:
    cookie = node["cookie"].only("enabled", "name", "expiration", "domains")
    buffer = node["buffer"].only("byte_limit", "record_limit", "time_limit_ms")
    paths = {}
    for custom, target in node["paths"].items():
        _Node(node.file, f"{node.key}.paths", custom).string(_CUSTOM_PATH)
        paths[custom] = target.choice(COLLECTOR_DEFAULT_PATHS)
    return Collector(
        image=node["image"].string(_IMAGE),
        port=node["port"].integer(1024, 65535),
        paths=MappingProxyType(paths),
        cookie=Cookie(
            enabled=cookie["enabled"].boolean(),
            name=cookie["name"].string(_COOKIE_NAME),
            expiration=cookie["expiration"].string(_DURATION),
            domains=cookie["domains"].strings(_DOMAIN),
        ),
        buffer=Buffer(
            byte_limit=buffer["byte_limit"].integer(1, KINESIS_MAX_BYTES),
            record_limit=buffer["record_limit"].integer(1, KINESIS_MAX_RECORDS),
            time_limit_ms=buffer["time_limit_ms"].integer(1),
        ),
    )


def _enrich(node: _Node) -> Enrich:
    listed = node["enrichments"].strings()
    for index, name in enumerate(listed):
        if name not in ENRICHMENTS:
            _Node(node.file, f"{node.key}.enrichments[{index}]", name).fail(
                f"names the unknown enrichment {name!r}; known: {', '.join(sorted(ENRICHMENTS))}"
            )
        if listed.index(name) != index:
            _Node(node.file, f"{node.key}.enrichments[{index}]", name).fail(
                f"lists {name!r} a second time"
            )
    settings_node = node.get("enrichment_settings") or _Node(
        node.file, f"{node.key}.enrichment_settings", {}
    )
    for name, _ in settings_node.items():
        if name not in listed:
            settings_node[name].fail(
                f"configures {name!r}, which `{node.key}.enrichments` does not list"
            )
    return Enrich(
        image=node["image"].string(_IMAGE),
        app_name=node["app_name"].string(_TABLE_NAME),
        initial_position=node["initial_position"].choice(INITIAL_POSITIONS),
        enrichments=listed,
        enrichment_settings=MappingProxyType(
            {name: _enrichment_settings(name, settings_node) for name in listed}
        ),
        iglu=_iglu(node["iglu"]),
    )


# How each enrichment setting is read; the catalog above says which are required.
_SETTING_READERS = {
    "geo_database": lambda n: n.choice(MAXMIND_DATABASES),
    "geo_uri": lambda n: n.string(_URI),
    "internal_domains": lambda n: n.strings(_DOMAIN),
}


def _enrichment_settings(name: str, settings_node: _Node) -> Mapping[str, Any]:
    kind = ENRICHMENTS[name]
    node = settings_node.get(name) or _Node(settings_node.file, f"{settings_node.key}.{name}", {})
    node.only(*kind.settings)
    values = {}
    for setting, default in kind.settings.items():
        child = node.get(setting)
        if child is None and default is REQUIRED:
            node[setting]  # raises: the key is missing
        values[setting] = default if child is None else _SETTING_READERS[setting](child)
    return MappingProxyType(values)


def _iglu(node: _Node) -> Iglu:
    node.only("private_registry", "api_key_env_var")
    registry = node.get("private_registry")
    private = None
    if registry is not None:
        registry.only("name", "uri", "vendor_prefixes", "api_key_secret_name")
        secret = registry.get("api_key_secret_name")
        private = IgluRegistry(
            name=registry["name"].string(),
            uri=registry["uri"].string(_HTTPS_URI),
            vendor_prefixes=registry["vendor_prefixes"].strings(),
            api_key_secret_name=None if secret is None else secret.string(_SECRET_NAME),
        )
    return Iglu(private_registry=private, api_key_env_var=node["api_key_env_var"].string(_ENV_VAR))


def _pseudonymization(node: _Node) -> Pseudonymization:
    functions = node["functions"]
    return Pseudonymization(
        salt_secret_name=node["salt_secret_name"].string(_SECRET_NAME),
        functions=_named_roles(functions, RECORD_FORMATS, _FUNCTION_NAME),
        runtime=node["runtime"].string(_RUNTIME),
        architecture=node["architecture"].choice(LAMBDA_ARCHITECTURES),
        metrics_namespace=node["metrics_namespace"].string(_METRICS_NAMESPACE),
    )


def _delivery(
    node: _Node, streams: Mapping[str, Stream], pseudonymization: Pseudonymization
) -> Mapping[str, Delivery]:
    deliveries = {}
    for role, child in node.items():
        source = child["source"]
        if source.string() not in streams:
            source.fail(f"must name a stream role ({', '.join(streams)}), not {source.value!r}")
        record_format = child["record_format"]
        if record_format.string() not in pseudonymization.functions:
            formats = ", ".join(pseudonymization.functions)
            record_format.fail(f"must be one of {formats}, not {record_format.value!r}")
        deliveries[role] = Delivery(
            name=child["name"].string(_FIREHOSE_NAME),
            source=source.value,
            prefix=child["prefix"].string(_PREFIX),
            record_format=record_format.value,
        )
    _require_unique(node, {role: d.name for role, d in deliveries.items()})
    return MappingProxyType(deliveries)
