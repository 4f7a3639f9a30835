"""Benchmark of the plan review (``snowplow-infra plan-report``) on a 2,000-change plan.

The plan is made from the structure of a real public plan (tests/plan_generator.py scales
tests/fixtures/plans/checkov_runner_plan.tfplan.json: IAM policies, security groups, buckets, a
database; creates, updates with long strings and policy edits, replaces, deletes, moves), written
to a temporary file, and reviewed as the plan job does: read as a stream, the gate, the full
review and the review bounded to the default limit, both written to files.

Measured, in one process, on one core:

* CPU time of a review of the 2,000-change plan (``time.process_time``), REPEATS times: median
  and spread (lowest, highest);
* the same for a 4,000-change plan, to check that the time grows in proportion to the plan;
* peak Python memory of one review (tracemalloc) against the size of the plan file.

Bounds (the script exits 1 when one is missed; it is a regression, not a slow machine):

* CPU time per change at most MAX_MS_PER_CHANGE (about 20 times what it takes here);
* doubling the plan at most SCALING_LIMIT times the time (linear is 2; quadratic would be 4);
* peak memory at most MAX_MEMORY_RATIO times the plan file (the plan is never held decoded).

Run it as ``python benchmarks/bench_plan_review.py`` from the repository (``make bench``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from snowplow_infra.paths import REPO_ROOT
from snowplow_infra.plan_report.entries import load_review
from snowplow_infra.plan_report.markdown import DEFAULT_LIMIT, review_lines
from snowplow_infra.plan_report.protection import evaluate

sys.path.insert(0, str(REPO_ROOT))  # the plan generator lives with the tests

from tests import plan_generator

CHANGES = 2_000
REPEATS = 7
MAX_MS_PER_CHANGE = 10.0
SCALING_LIMIT = 3.0
MAX_MEMORY_RATIO = 2.0


def review_once(plan: Path, output: Path) -> None:
    """What the plan job does with a plan file, up to the written reviews."""
    review = load_review(plan)
    verdict = evaluate(review.plan)
    with (output / "full.md").open("w", encoding="utf-8") as handle:
        handle.writelines(review_lines(review, verdict))
    with (output / "review.md").open("w", encoding="utf-8") as handle:
        handle.writelines(review_lines(review, verdict, limit=DEFAULT_LIMIT, full_review="`x`"))


def cpu_seconds(plan: Path, output: Path, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        review_once(plan, output)
        times.append(time.process_time() - started)
    return times


def peak_memory(plan: Path, output: Path) -> int:
    tracemalloc.start()
    try:
        review_once(plan, output)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=CHANGES, help="default: %(default)s")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="default: %(default)s")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-plan-review-") as folder:
        work = Path(folder)
        plan = plan_generator.write(plan_generator.scaled_plan(args.changes), work / "plan.json")
        double = plan_generator.write(
            plan_generator.scaled_plan(2 * args.changes), work / "double.json"
        )
        size = plan.stat().st_size
        review_once(plan, work)  # warm up: imports, caches
        times = cpu_seconds(plan, work, args.repeats)
        doubled = cpu_seconds(double, work, max(3, args.repeats // 2))
        peak = peak_memory(plan, work)
        review_size = (work / "review.md").stat().st_size
    median = statistics.median(times)
    scaling = statistics.median(doubled) / median
    per_change_ms = 1000 * median / args.changes
    ratio = peak / size
    print(f"Plan review of {args.changes:,} changes ({size / 1e6:.1f} MB of plan JSON):")
    print(
        f"  CPU time: median {median:.3f} s, spread {min(times):.3f} to {max(times):.3f} s over "
        f"{args.repeats} runs ({per_change_ms:.2f} ms per change; bound {MAX_MS_PER_CHANGE} ms)"
    )
    print(
        f"  {2 * args.changes:,} changes: median {statistics.median(doubled):.3f} s, "
        f"{scaling:.2f} times as long (bound {SCALING_LIMIT}; linear is 2)"
    )
    print(
        f"  peak memory: {peak / 1e6:.1f} MB, {ratio:.2f} times the plan (bound {MAX_MEMORY_RATIO})"
    )
    print(f"  bounded review: {review_size:,} bytes (limit {DEFAULT_LIMIT:,} characters)")
    failures = [
        message
        for failed, message in (
            (per_change_ms > MAX_MS_PER_CHANGE, "CPU time per change is over its bound"),
            (scaling > SCALING_LIMIT, "the time grows faster than the plan"),
            (ratio > MAX_MEMORY_RATIO, "peak memory is over its bound"),
        )
        if failed
    ]
    for message in failures:
        print(f"REGRESSION: {message}.", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
