"""The Lambda's errors. Their messages never carry an event value or the salt."""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """The Lambda's environment or its packaged data files are invalid: fail at start-up."""


class SaltUnavailableError(RuntimeError):
    """No salt: the invocation fails so that Firehose retries and never stores clear data."""


class MalformedRecordError(ValueError):
    """One record does not match its format: it goes back to Firehose as ProcessingFailed."""


class ResponseTooLargeError(RuntimeError):
    """The pseudonymized batch would not fit in the Lambda response Firehose accepts."""
