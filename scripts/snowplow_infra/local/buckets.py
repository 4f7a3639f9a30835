"""Emptying the stack's buckets in the emulator so that ``terraform destroy`` can delete them.

The buckets have no ``force_destroy`` and keep object versions, so every version and delete
marker goes first. Two of moto's habits need undoing before that (docs/local-demo.md): it denies
every object request under a policy with a conditional Deny (see ``flow.lift_bucket_policies``),
and it writes an access log object for every request to a logging bucket, refilling the log
bucket while terraform destroys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from snowplow_infra.local import flow

# DeleteObjects takes at most 1,000 keys per request (Amazon S3 API Reference, DeleteObjects).
DELETE_BATCH = 1000


class BucketError(RuntimeError):
    """A bucket could not be emptied."""


def empty(s3: Any, names: Sequence[str]) -> int:
    """Lift the buckets' policies, stop their logging into one another and delete every object
    version and delete marker; return how many were deleted."""
    flow.lift_bucket_policies(s3, names)
    for name in names:
        target = s3.get_bucket_logging(Bucket=name).get("LoggingEnabled", {}).get("TargetBucket")
        if target in names:
            s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={})
    deleted = 0
    for name in names:
        while entries := _first_versions(s3, name):
            response = s3.delete_objects(Bucket=name, Delete={"Objects": entries, "Quiet": True})
            errors = response.get("Errors") or []
            if errors:
                raise BucketError(
                    f"could not empty s3://{name} before destroying it: {len(errors)} objects "
                    f"were not deleted ({errors[0]['Code']}: {errors[0]['Message']})."
                )
            deleted += len(entries)
    return deleted


def _first_versions(s3: Any, name: str) -> list[dict[str, str]]:
    """The first page (at most DELETE_BATCH) of the bucket's object versions and delete markers.

    Listed again after every deletion instead of paginated: moto's ListObjectVersions skips
    entries when the page's marker names a version deleted since (seen with moto 5.2.5: 16 of
    2,017 were left), and a fresh first page is right in AWS too."""
    page = s3.list_object_versions(Bucket=name, MaxKeys=DELETE_BATCH)
    return [
        {"Key": item["Key"], "VersionId": item["VersionId"]}
        for kind in ("Versions", "DeleteMarkers")
        for item in page.get(kind, [])
    ][:DELETE_BATCH]
