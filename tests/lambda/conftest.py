"""Fixtures for the pseudonymization Lambda's tests.

The Lambda package is imported the way the Lambda runtime imports it: its root
(lambda/pseudonymization, the zip's root) goes on sys.path, and modules are imported by their
top-level names (``import handler``).
"""

from __future__ import annotations

import base64
import importlib
import sys
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from snowplow_infra import sample_events
from snowplow_infra.paths import LAMBDA_SOURCE_DIR

if str(LAMBDA_SOURCE_DIR) not in sys.path:
    sys.path.insert(0, str(LAMBDA_SOURCE_DIR))

#: The salt as it is stored in Secrets Manager (a SecretString; non-ASCII on purpose).
SALT_TEXT = "unit-test salt \u00e9\u2713 5f0c 9b41 d2e7 a8c3"
SALT = SALT_TEXT.encode("utf-8")
SECRET_NAME = "snowplow/pseudonymization-salt"
REGION = "us-east-1"


def reference_pseudonym(value: str, salt: bytes = SALT) -> str:
    """pseudonym(v) computed independently of the Lambda: the cryptography package's HMAC."""
    mac = crypto_hmac.HMAC(salt, hashes.SHA256())
    mac.update(value.encode("utf-8"))
    return mac.finalize().hex()


def assert_absent(values: Iterable[str], *texts: str) -> None:
    """No planted value (nor the salt) appears in any of the texts."""
    for text in texts:
        for value in (*values, SALT_TEXT):
            assert value not in text, "a planted value or the salt leaked"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's in-process AWS with fake credentials; yields a Secrets Manager client."""
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def salt_secret(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The salt secret, created in moto and named by SALT_SECRET_ID; returns its ARN."""
    arn = aws.create_secret(Name=SECRET_NAME, SecretString=SALT_TEXT)["ARN"]
    monkeypatch.setenv("SALT_SECRET_ID", SECRET_NAME)
    monkeypatch.delenv("RECORD_FORMAT", raising=False)
    monkeypatch.delenv("SALT_TTL_SECONDS", raising=False)
    return arn


@pytest.fixture
def handler() -> ModuleType:
    """The handler module as a new Lambda container sees it: freshly imported, no cached salt."""
    import handler as module  # noqa: PLC0415

    return importlib.reload(module)


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke(handler: ModuleType, salt_secret: str) -> Invoke:
    """Call the handler with a Firehose event made of the given record data."""

    def call(datas: Iterable[bytes | str], context: Any = None) -> dict[str, Any]:
        event = sample_events.firehose_event(datas)
        return handler.lambda_handler(event, context)

    return call


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
