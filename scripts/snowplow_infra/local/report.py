"""What the local commands tell their user: progress lines, the demo's summary, and the JSON
report of the last demo run (``<work dir>/demo-report.json``, for scripts and tests)."""

from __future__ import annotations

import json
from pathlib import Path

from snowplow_infra import pipeline, salt_rotation
from snowplow_infra.local import flow, rotation, summary

# What the last demo run did: counts, keys, the generator's inputs.
REPORT_FILE_NAME = "demo-report.json"


def say(message: str) -> None:
    """One progress line."""
    print(f"==> {message}", flush=True)


def write(work_dir: Path, report: flow.Report, *, events: int, seed: int) -> Path:
    """Write the demo run's report with the generator's inputs; return its path."""
    path = work_dir / REPORT_FILE_NAME
    written = {"events": events, "seed": seed, **report.to_json()}
    path.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    return path


def print_summary(report: flow.Report, endpoint: str) -> None:
    """The demo's end: a table per delivery stream, an object of each, the planted values found,
    one event before and after pseudonymization, and where the stack stays up."""
    fed = {role: len(records) for role, records in report.fed.items()}
    print("\nSummary (counts are records; an enriched-good record is one event):\n")
    print(summary.deliveries_table(report.deliveries, fed))
    for delivery in report.deliveries.values():
        for keys in (delivery.objects[:1], delivery.error_objects[:1]):
            for key in keys:
                print(f"  s3://{delivery.stream.bucket}/{key}")
    print(
        f"\nPlanted personal values found in the delivered objects: {report.planted_found} of "
        f"{report.planted} (error objects hold the failed records raw, by design)."
    )
    example = report.deliveries.get("enriched_good")
    if example is not None and example.example is not None:
        before, after = (data.decode("utf-8") for data in example.example)
        print("\nOne event before and after the pseudonymization Lambda (non-empty fields):\n")
        print(summary.event_table(summary.compare_event(before, after, report.salt)))
    if report.rotation is not None:
        print_rotation(report.rotation)
    if report.function_errors:
        logs = ", ".join(pipeline.display_path(path) for path in report.function_logs)
        print(f"\n{report.function_errors} invocations failed; see {logs}.")
    print(
        f"\nThe stack stays up in the emulator at {endpoint} (AWS_ENDPOINT_URL={endpoint}, "
        "any credentials). `make down` (snowplow-infra local down) destroys it and stops the "
        "emulator."
    )


def print_rotation(outcome: rotation.Outcome) -> None:
    """Both sides of the switch, the version of each object, and the links checked."""
    switch = outcome.switch
    print(
        f"\nSalt rotation inside the run: version {switch.old_id} until "
        f"{salt_rotation.utc(switch.at)}, version {switch.new_id} from then on "
        "(salts not shown). Objects and events per version (from each object's key):\n"
    )
    rows = [
        (role, version, counts[0], counts[1])
        for role, versions in outcome.objects.items()
        for version, counts in sorted(versions.items())
    ]
    print(summary.table(("delivery", "salt version", "objects", "lines"), rows))
    print(
        f"\nLink records {switch.old_id} -> {switch.new_id}: {outcome.links} in "
        f"{plural(outcome.link_objects, 'object')}; {outcome.users_linked} of {outcome.users} test "
        "users' user_id pseudonyms mapped from the old to the new one (checked with HMAC-SHA256 "
        "computed here)."
    )


def plural(count: int, noun: str) -> str:
    """``1 bucket``, ``3 buckets``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
