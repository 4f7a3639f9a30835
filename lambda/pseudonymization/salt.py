"""The salt: the SecretString of a Secrets Manager secret, fetched once per container and TTL.

The SecretString is either a plain salt (version ``0``, used for every record) or a JSON document
of versions, each used from its ``active_from`` on (``salt_versions``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from errors import SaltUnavailableError
from salt_versions import SaltVersions, parse_salt_secret

_ACCESS_DENIED = "cannot be read: access denied"
_REASONS = {
    "ResourceNotFoundException": "does not exist or has no current value",
    "AccessDeniedException": _ACCESS_DENIED,
    "AccessDenied": _ACCESS_DENIED,
    "DecryptionFailure": "cannot be decrypted with its KMS key",
    "InvalidRequestException": "cannot be read (it may be scheduled for deletion)",
}


def fetch_salt(secret_id: str) -> SaltVersions:
    """Read the salt versions from Secrets Manager; raise SaltUnavailableError when there is none
    or one breaks the salt rules (at least MIN_SALT_BYTES bytes, not only whitespace).

    boto3 is imported here, not at module import: the Lambda runtime provides it, and a cold
    start that never needs it does not pay for it.
    """
    import boto3  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        client = boto3.client("secretsmanager", region_name=_region_of(secret_id))
        # AWSCURRENT named: AWS's default, and after a rollback (UpdateSecretVersionStage) the
        # only way moto returns the current version rather than the newest one.
        response = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "an unknown error")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        reason = _REASONS.get(code) or (_ACCESS_DENIED if status == 403 else None)
        reason = reason or f"cannot be read ({code})"
        raise SaltUnavailableError(f"The salt secret {secret_id!r} {reason}.") from error
    except BotoCoreError as error:
        raise SaltUnavailableError(
            f"The salt secret {secret_id!r} cannot be read: {type(error).__name__}."
        ) from error
    secret = response.get("SecretString")
    if not isinstance(secret, str) or not secret:
        raise SaltUnavailableError(
            f"The salt secret {secret_id!r} has no SecretString or an empty one; "
            "store the salt as a non-empty secret string."
        )
    return parse_salt_secret(secret, secret_id)


def _region_of(secret_id: str) -> str | None:
    """The region of a secret ARN; None (the default region) for a name."""
    parts = secret_id.split(":")
    if secret_id.startswith("arn:") and len(parts) > 3 and parts[3]:
        return parts[3]
    return None


class SaltCache:
    """Keeps the salt versions of one secret for ``ttl_seconds``, then fetches them again.

    A failed fetch raises (no stale salt is used past its TTL), so revoking access to the secret
    or deleting it stops pseudonymization within one TTL instead of going on with an old salt.
    """

    def __init__(
        self,
        fetch: Callable[[str], SaltVersions] = fetch_salt,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._secret_id: str | None = None
        self._salt: SaltVersions | None = None
        self._fetched_at = 0.0

    def get(self, secret_id: str | None, ttl_seconds: float) -> SaltVersions:
        if not secret_id:
            raise SaltUnavailableError(
                "SALT_SECRET_ID is not set: the Lambda needs the name or ARN of the salt secret."
            )
        now = self._clock()
        fresh = now - self._fetched_at < ttl_seconds
        if self._salt is not None and self._secret_id == secret_id and fresh:
            return self._salt
        self._salt = None
        self._salt = self._fetch(secret_id)
        self._secret_id = secret_id
        self._fetched_at = now
        return self._salt
