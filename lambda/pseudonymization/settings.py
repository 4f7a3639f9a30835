"""The Lambda's settings, read from its environment at every invocation."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from errors import ConfigurationError

RECORD_FORMATS = ("enriched", "bad_rows")
DEFAULT_SALT_TTL_SECONDS = 900.0
DEFAULT_METRICS_NAMESPACE = "SnowplowPseudonymization"
DEFAULT_LINK_WINDOW_SECONDS = 86400.0
DEFAULT_LINKS_PREFIX = "salt-links/"
_PARTITION_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")


class Settings:
    __slots__ = (
        "link_window_seconds",
        "links_bucket",
        "links_prefix",
        "metrics_namespace",
        "record_format",
        "salt_secret_id",
        "salt_ttl_seconds",
        "salt_version_partition_key",
    )

    def __init__(
        self,
        salt_secret_id: str | None,
        record_format: str,
        salt_ttl_seconds: float,
        metrics_namespace: str,
        *,
        salt_version_partition_key: str | None = None,
        links_bucket: str | None = None,
        links_prefix: str = DEFAULT_LINKS_PREFIX,
        link_window_seconds: float = DEFAULT_LINK_WINDOW_SECONDS,
    ) -> None:
        self.salt_secret_id = salt_secret_id
        self.record_format = record_format
        self.salt_ttl_seconds = salt_ttl_seconds
        self.metrics_namespace = metrics_namespace
        #: The Firehose dynamic-partitioning key that carries each record's salt version, or None.
        self.salt_version_partition_key = salt_version_partition_key
        #: Where link records go (None: no links are written), and the window around each
        #: activation in which they are computed.
        self.links_bucket = links_bucket
        self.links_prefix = links_prefix
        self.link_window_seconds = link_window_seconds

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        record_format = environ.get("RECORD_FORMAT") or "enriched"
        if record_format not in RECORD_FORMATS:
            raise ConfigurationError(
                f"RECORD_FORMAT is {record_format!r}; it must be one of "
                f"{', '.join(RECORD_FORMATS)} (default enriched)."
            )
        partition_key = environ.get("SALT_VERSION_PARTITION_KEY_NAME") or None
        if partition_key is not None and not _PARTITION_KEY.fullmatch(partition_key):
            raise ConfigurationError(
                f"SALT_VERSION_PARTITION_KEY_NAME is {partition_key!r}; it must be 1 to 64 "
                "letters, digits or underscores (a Firehose partitionKeyFromLambda name)."
            )
        links_prefix = environ.get("LINKS_PREFIX") or DEFAULT_LINKS_PREFIX
        if not links_prefix.endswith("/") or links_prefix.startswith("/"):
            raise ConfigurationError(
                f"LINKS_PREFIX is {links_prefix!r}; it must end with '/' and not start with one."
            )
        return cls(
            salt_secret_id=environ.get("SALT_SECRET_ID") or None,
            record_format=record_format,
            salt_ttl_seconds=_seconds(environ, "SALT_TTL_SECONDS", DEFAULT_SALT_TTL_SECONDS),
            metrics_namespace=environ.get("METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
            salt_version_partition_key=partition_key,
            links_bucket=environ.get("LINKS_BUCKET_NAME") or None,
            links_prefix=links_prefix,
            link_window_seconds=_seconds(
                environ, "LINK_WINDOW_SECONDS", DEFAULT_LINK_WINDOW_SECONDS
            ),
        )


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name) or str(default)
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigurationError(f"{name} is {text!r}; it must be a number of seconds >= 0.")
    return seconds
