"""The salt from Secrets Manager (moto): found, missing, empty, access denied, TTL refresh."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from errors import SaltUnavailableError
from salt import SaltCache, fetch_salt
from salt_versions import MIN_SALT_BYTES, SaltVersions, checked_salt, parse_salt_secret

from .conftest import REGION, SALT, SALT_TEXT, SECRET_NAME

FIRST = "the first salt of this test, 32 bytes or more"
SECOND = "the second salt of this test, 32 bytes or more"


def plain(versions: SaltVersions) -> bytes:
    """The salt of a plain-string secret (version 0, for every record)."""
    assert versions.always
    assert [version.id for version in versions.versions] == ["0"]
    return versions.versions[0].salt


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_found_by_name_and_by_arn(aws: Any) -> None:
    arn = aws.create_secret(Name=SECRET_NAME, SecretString=SALT_TEXT)["ARN"]
    assert plain(fetch_salt(SECRET_NAME)) == SALT
    assert plain(fetch_salt(arn)) == SALT, "an ARN works too (its region is used)"


def test_missing(aws: Any) -> None:
    with pytest.raises(SaltUnavailableError, match="does not exist") as raised:
        fetch_salt("no/such/secret")
    assert "no/such/secret" in str(raised.value)


def test_a_secret_without_a_value(aws: Any) -> None:
    aws.create_secret(Name=SECRET_NAME)
    with pytest.raises(SaltUnavailableError, match="no current value"):
        fetch_salt(SECRET_NAME)


def test_a_binary_secret_has_no_secret_string(aws: Any) -> None:
    aws.create_secret(Name=SECRET_NAME, SecretBinary=b"binary salt")
    with pytest.raises(SaltUnavailableError, match="no SecretString or an empty one"):
        fetch_salt(SECRET_NAME)


@pytest.mark.parametrize(
    ("secret", "rule"),
    [
        ("s" * 31, "shorter than 32 bytes"),
        ("\u00e9" * 15 + "x", "shorter than 32 bytes"),  # 16 characters, 31 bytes
        (" " * 40, "only of whitespace"),
        ("\t\n\u3000" * 12, "only of whitespace"),
    ],
)
def test_a_short_or_blank_salt_is_refused(aws: Any, secret: str, rule: str) -> None:
    aws.create_secret(Name=SECRET_NAME, SecretString=secret)
    with pytest.raises(SaltUnavailableError, match=rule) as raised:
        fetch_salt(SECRET_NAME)
    assert SECRET_NAME in str(raised.value), "the message names the secret"
    assert secret not in str(raised.value)
    assert str(len(secret.encode())) not in str(raised.value), "nor the salt's length"


def test_the_shortest_salt_accepted_is_32_bytes(aws: Any) -> None:
    assert MIN_SALT_BYTES == 32
    assert checked_salt("s" * 32, "here") == b"s" * 32
    assert checked_salt("\u00e9" * 16, "here") == "\u00e9".encode() * 16
    salt = " padded salt, used as it is stored, spaces too "
    aws.create_secret(Name=SECRET_NAME, SecretString=salt)
    assert plain(fetch_salt(SECRET_NAME)) == salt.encode(), "no trimming"


def test_a_refused_salt_is_never_cached() -> None:
    calls: list[str] = []

    def fetch(secret_id: str) -> SaltVersions:
        calls.append(secret_id)
        return parse_salt_secret("short", secret_id)

    cache = SaltCache(fetch=fetch, clock=Clock())
    for _ in range(2):
        with pytest.raises(SaltUnavailableError, match="shorter"):
            cache.get(SECRET_NAME, 600)
    assert calls == [SECRET_NAME, SECRET_NAME], "fetched again: a fixed secret is used at once"


def test_access_denied(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto enforces IAM once an identity without secretsmanager:GetSecretValue is used."""
    import boto3  # noqa: PLC0415
    from moto.core import set_initial_no_auth_action_count  # noqa: PLC0415

    iam = boto3.client("iam", region_name=REGION)
    aws.create_secret(Name=SECRET_NAME, SecretString=SALT_TEXT)
    iam.create_user(UserName="pseudonymization-lambda")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}],
    }
    iam.put_user_policy(
        UserName="pseudonymization-lambda",
        PolicyName="no-secrets",
        PolicyDocument=json.dumps(policy),
    )
    key = iam.create_access_key(UserName="pseudonymization-lambda")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])

    @set_initial_no_auth_action_count(0)
    def fetch() -> SaltVersions:
        return fetch_salt(SECRET_NAME)

    with pytest.raises(SaltUnavailableError, match="access denied") as raised:
        fetch()
    assert SALT_TEXT not in str(raised.value)


def test_no_secret_id_is_an_error() -> None:
    for missing in (None, ""):
        with pytest.raises(SaltUnavailableError, match="SALT_SECRET_ID is not set"):
            SaltCache(fetch=lambda _: parse_salt_secret("u" * 32, "unused")).get(missing, 60)


def test_fetched_once_then_again_after_the_ttl(aws: Any) -> None:
    arn = aws.create_secret(Name=SECRET_NAME, SecretString=FIRST)["ARN"]
    clock = Clock()
    cache = SaltCache(clock=clock)
    assert plain(cache.get(SECRET_NAME, ttl_seconds=300)) == FIRST.encode()
    aws.put_secret_value(SecretId=arn, SecretString=SECOND)
    clock.now += 299
    assert plain(cache.get(SECRET_NAME, ttl_seconds=300)) == FIRST.encode(), "cached within the TTL"
    clock.now += 1
    assert plain(cache.get(SECRET_NAME, ttl_seconds=300)) == SECOND.encode(), "refreshed after it"


def test_a_failed_refresh_raises_instead_of_using_the_old_salt(aws: Any) -> None:
    arn = aws.create_secret(Name=SECRET_NAME, SecretString=SALT_TEXT)["ARN"]
    clock = Clock()
    cache = SaltCache(clock=clock)
    assert plain(cache.get(SECRET_NAME, ttl_seconds=60)) == SALT
    aws.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    clock.now += 61
    with pytest.raises(SaltUnavailableError):
        cache.get(SECRET_NAME, ttl_seconds=60)
    with pytest.raises(SaltUnavailableError):
        cache.get(SECRET_NAME, ttl_seconds=60)


def test_another_secret_id_is_fetched_at_once() -> None:
    fetched: list[str] = []

    def fetch(secret_id: str) -> SaltVersions:
        fetched.append(secret_id)
        return parse_salt_secret(secret_id * 32, secret_id)

    cache = SaltCache(fetch=fetch, clock=Clock())
    assert plain(cache.get("a", 600)) == b"a" * 32
    assert plain(cache.get("b", 600)) == b"b" * 32
    assert plain(cache.get("b", 600)) == b"b" * 32
    assert fetched == ["a", "b"]


def test_boto3_is_imported_only_when_the_salt_is_fetched() -> None:
    import subprocess  # noqa: PLC0415

    from snowplow_infra.paths import LAMBDA_SOURCE_DIR  # noqa: PLC0415

    code = "import sys, handler; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code],
        cwd=LAMBDA_SOURCE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert output.split() == ["False", "False"]


def test_a_rollback_of_the_secret_is_followed(aws: Any) -> None:
    """After UpdateSecretVersionStage moves AWSCURRENT back, the previous value is the salt."""
    first = aws.create_secret(Name=SECRET_NAME, SecretString=FIRST)["VersionId"]
    second = aws.put_secret_value(SecretId=SECRET_NAME, SecretString=SECOND)["VersionId"]
    assert plain(fetch_salt(SECRET_NAME)) == SECOND.encode()
    aws.update_secret_version_stage(
        SecretId=SECRET_NAME,
        VersionStage="AWSCURRENT",
        MoveToVersionId=first,
        RemoveFromVersionId=second,
    )
    assert plain(fetch_salt(SECRET_NAME)) == FIRST.encode()
