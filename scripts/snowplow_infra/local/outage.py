"""The demo's salt outage (``local demo --salt-outage``): one batch meets an unreadable salt.

The salt secret is scheduled for deletion (Secrets Manager then refuses GetSecretValue) just
before the first invocation of the enriched-good delivery stream's first batch, and restored
(with its value) once Firehose has spent its retries on that batch. The deployed function fails
every attempt (SaltUnavailableError), so Firehose writes the batch's original records under the
error prefix as ``Lambda.FunctionError``, as it would on AWS; the following batches find the salt
again. ``snowplow-infra failed explain --local`` then says those records would now succeed, and
``failed replay --local --execute`` puts them back.
"""

from __future__ import annotations

from typing import Any

from snowplow_infra.local import firehose

#: The delivery stream whose first batch meets the outage.
OUTAGE_ROLE = "enriched_good"
RECOVERY_WINDOW_DAYS = 7


class SaltOutage:
    """An invoke function that makes the salt unreadable around the first ``attempts`` calls."""

    def __init__(
        self, secrets: Any, secret_id: str, invoke: firehose.Invoke, *, attempts: int
    ) -> None:
        self._secrets = secrets
        self._secret_id = secret_id
        self._invoke = invoke
        self._remaining = attempts
        self.invocations = 0

    def __call__(self, event: dict[str, Any]) -> firehose.Invocation:
        if self._remaining <= 0:
            return self._invoke(event)
        if self.invocations == 0:
            self._secrets.delete_secret(
                SecretId=self._secret_id, RecoveryWindowInDays=RECOVERY_WINDOW_DAYS
            )
        try:
            return self._invoke(event)
        finally:
            self.invocations += 1
            self._remaining -= 1
            if self._remaining == 0:
                self._secrets.restore_secret(SecretId=self._secret_id)
