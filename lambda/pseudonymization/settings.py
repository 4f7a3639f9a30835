"""The Lambda's settings, read from its environment at every invocation."""

from __future__ import annotations

import math
from collections.abc import Mapping

from errors import ConfigurationError

RECORD_FORMATS = ("enriched", "bad_rows")
DEFAULT_SALT_TTL_SECONDS = 900.0
DEFAULT_METRICS_NAMESPACE = "SnowplowPseudonymization"


class Settings:
    __slots__ = ("metrics_namespace", "record_format", "salt_secret_id", "salt_ttl_seconds")

    def __init__(
        self,
        salt_secret_id: str | None,
        record_format: str,
        salt_ttl_seconds: float,
        metrics_namespace: str,
    ) -> None:
        self.salt_secret_id = salt_secret_id
        self.record_format = record_format
        self.salt_ttl_seconds = salt_ttl_seconds
        self.metrics_namespace = metrics_namespace

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        record_format = environ.get("RECORD_FORMAT") or "enriched"
        if record_format not in RECORD_FORMATS:
            raise ConfigurationError(
                f"RECORD_FORMAT is {record_format!r}; it must be one of "
                f"{', '.join(RECORD_FORMATS)} (default enriched)."
            )
        ttl_text = environ.get("SALT_TTL_SECONDS") or str(DEFAULT_SALT_TTL_SECONDS)
        try:
            ttl = float(ttl_text)
        except ValueError:
            ttl = -1.0
        if not math.isfinite(ttl) or ttl < 0:
            raise ConfigurationError(
                f"SALT_TTL_SECONDS is {ttl_text!r}; it must be a number of seconds >= 0."
            )
        return cls(
            salt_secret_id=environ.get("SALT_SECRET_ID") or None,
            record_format=record_format,
            salt_ttl_seconds=ttl,
            metrics_namespace=environ.get("METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
        )
