"""``snowplow-infra plan-compare``: does a candidate plan make exactly the reviewed changes?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from snowplow_infra.plan_report.compare import differences
from snowplow_infra.plan_report.plan import PlanError, load_plan

EXIT_SAME = 0
EXIT_DIFFERENT = 1
EXIT_BAD_INPUT = 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan-compare",
        help="prove that a plan makes exactly the changes of the reviewed plan",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Compare the JSON of two saved plans (`terraform show -json PLANFILE`): the one a "
            "merge request reviewed and a candidate about to be applied. They match when the "
            "candidate changes the same resources with the same actions and the same planned "
            "values (known-after-apply markers and sensitivity included) and the same outputs; "
            "the order of entries, timestamps, Terraform's version, drift and resources left "
            "unchanged do not matter. Each difference is printed by address and attribute; a "
            "sensitive value is never printed.\n\n"
            "Exit status: 0 the candidate makes exactly the reviewed changes; 1 it does not; "
            "2 an input is unreadable or not a plan."
        ),
        epilog=(
            "Example: snowplow-infra plan-compare build/reviewed/tfplan.json build/plan/tfplan.json"
        ),
    )
    parser.add_argument("reviewed", type=Path, metavar="REVIEWED_PLAN_JSON")
    parser.add_argument("candidate", type=Path, metavar="CANDIDATE_PLAN_JSON")
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        reviewed = load_plan(args.reviewed)
        candidate = load_plan(args.candidate)
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    found = differences(reviewed, candidate)
    if not found:
        changes = sum(1 for c in candidate.resource_changes if c.kind != "no-op")
        print(
            f"{args.candidate} makes exactly the changes reviewed in {args.reviewed} "
            f"({changes} resource change(s), {len(candidate.changed_outputs)} output change(s))."
        )
        return EXIT_SAME
    subjects = len({d.subject for d in found})
    print(
        f"error: {args.candidate} does not make the changes reviewed in {args.reviewed}: "
        f"{len(found)} difference(s) in {subjects} resource(s) or output(s):",
        file=sys.stderr,
    )
    for difference in found:
        print(f"  {difference}", file=sys.stderr)
    return EXIT_DIFFERENT
