"""Benchmark of salt versions (``make bench``): what the version choice and the link window cost.

One Firehose event of realistic enriched events (``snowplow_infra.sample_events``) goes through
the Lambda's transform as ``handler.lambda_handler`` composes it, with cold pseudonym caches (a
new container) in every run, under four secrets:

* ``plain``: a plain salt (version 0, no arrival time read): the baseline;
* ``versions, outside``: two versions, every record after the activation and outside the window:
  the cost of choosing a version per record;
* ``versions, split``: the activation in the middle of the batch (two runs of records, two
  caches), no links;
* ``links, inside``: the same with every record inside the link window: identifiers parsed and
  pseudonymized under both versions, link documents built (the S3 put itself, one request per
  invocation, is not measured here).

The four are run interleaved (paired), ``--runs`` times, and the fastest CPU time (process_time)
of each is kept. Costs are per event, over the baseline. Exits non-zero when choosing a version
outside a window costs more than TARGET_OUTSIDE_OVERHEAD of the baseline.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from snowplow_infra import sample_events
from snowplow_infra.paths import LAMBDA_SOURCE_DIR

sys.path.insert(0, str(LAMBDA_SOURCE_DIR))

import handler
import reasons
import salt_links
from enriched import enriched_transform
from firehose import MAX_RESPONSE_BYTES
from pseudonym import Pseudonymizer
from salt_batch import choose_versions, transform_versioned
from salt_versions import SaltVersions, format_ms, parse_salt_secret

SALT_A = "benchmark salt of version a, not a secret, 32 bytes+"
SALT_B = "benchmark salt of version b, not a secret, 32 bytes+"
TARGET_OUTSIDE_OVERHEAD = 0.10
DAY_MS = 86_400_000


def two_versions(activation_ms: int) -> SaltVersions:
    document = {
        "versions": [
            {"id": "a", "salt": SALT_A, "active_from": "2020-01-01T00:00:00Z"},
            {"id": "b", "salt": SALT_B, "active_from": format_ms(activation_ms)},
        ]
    }
    return parse_salt_secret(json.dumps(document), "benchmark")


def run_batch(records: list[dict[str, Any]], versions: SaltVersions, window_ms: int) -> int:
    """What the handler does with a batch: choose, transform per run, collect the links."""
    chosen = choose_versions(records, versions)
    pseudonymizers = [Pseudonymizer(version.salt) for version in versions.versions]
    transforms = {
        index: enriched_transform(handler.ALLOWLIST, pseudonymizer)
        for index, pseudonymizer in enumerate(pseudonymizers)
    }
    batch = transform_versioned(
        records,
        chosen,
        [version.id for version in versions.versions],
        transforms.__getitem__,
        max_response_bytes=MAX_RESPONSE_BYTES,
        partition_key="salt_version",
        malformed_reason=reasons.WRONG_FIELD_COUNT,
    )
    if not batch.complete:
        raise RuntimeError("The benchmark batch outgrew the response cap.")
    links = 0
    if window_ms and not versions.always:
        ok = [output["result"] == "Ok" for output in batch.records]
        collected = salt_links.collect(records, versions, window_ms, pseudonymizers, ok)
        documents = collected.documents([version.id for version in versions.versions])
        links = sum(body.count(b"\n") for body in documents.values())
    return links


def cpu_seconds(function: Callable[[], int]) -> tuple[float, int]:
    gc.collect()
    started = time.process_time()
    result = function()
    return time.process_time() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="paired runs of the four cases")
    parser.add_argument("--events", type=int, default=1000, help="enriched events in the batch")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated events")
    args = parser.parse_args()

    samples = sample_events.enriched_events(args.events, seed=args.seed)
    event = sample_events.firehose_event(sample_events.samples_text(samples), seed=args.seed)
    records: list[dict[str, Any]] = event["records"]
    first = records[0]["approximateArrivalTimestamp"]
    middle = records[len(records) // 2]["approximateArrivalTimestamp"]
    cases: dict[str, tuple[SaltVersions, int]] = {
        "plain": (parse_salt_secret(SALT_A, "benchmark"), 0),
        "versions, outside": (two_versions(first - 2 * DAY_MS), DAY_MS),
        "versions, split": (two_versions(middle), 0),
        "links, inside": (two_versions(middle), DAY_MS),
    }
    best = dict.fromkeys(cases, float("inf"))
    links = dict.fromkeys(cases, 0)
    for _ in range(args.runs):
        for name, (versions, window) in cases.items():
            seconds, links[name] = cpu_seconds(partial(run_batch, records, versions, window))
            best[name] = min(best[name], seconds)

    events = len(records)
    base = best["plain"]
    print(f"batch: {events} realistic enriched events; fastest CPU time of {args.runs} paired runs")
    for name, seconds in best.items():
        extra = (seconds - base) / events * 1e6
        print(
            f"{name:>18}: {seconds * 1000:7.1f} ms  {seconds / events * 1e6:6.1f} us/event  "
            f"{extra:+6.1f} us/event over plain ({(seconds / base - 1) * 100:+5.1f} %)"
            + (f"  {links[name]} link records" if links[name] else "")
        )
    overhead = best["versions, outside"] / base - 1
    ok = overhead <= TARGET_OUTSIDE_OVERHEAD
    print(
        f"version choice outside a window: {overhead * 100:+.1f} % "
        f"(target <= {TARGET_OUTSIDE_OVERHEAD * 100:.0f} %) {'ok' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
