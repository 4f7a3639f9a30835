"""``snowplow-infra apply-reviewed``: apply a plan only when it makes exactly the reviewed changes.

The apply job's logic, in order, all while holding the state lock's turn (the job's resource
group) and waiting for the lock itself up to ``--lock-timeout``:

1. plan the environment as it is now (``plan -out``), the candidate;
2. ``plan-compare`` the reviewed plan's JSON with the candidate's;
3. when they match, apply the candidate plan file (never ``-auto-approve``, never a new plan);
   when they do not, apply nothing and say which resources differ and how to get a fresh review.

Planning again in the apply job instead of applying a plan file saved earlier means the plan is
never stale: nothing can write the state between steps 1 and 3, as every job that writes it
shares the resource group. The candidate's files (plan and JSON, with sensitive values in clear)
stay in the job's work folder and are never artifacts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from snowplow_infra import terraform
from snowplow_infra.paths import BUILD_DIR, environment_dir
from snowplow_infra.plan_report.compare import differences
from snowplow_infra.plan_report.plan import PlanError, load_plan
from snowplow_infra.reviewed_plan import FRESH_REVIEW

DEFAULT_LOCK_TIMEOUT = "10m"
EXIT_APPLIED = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2

Say = Callable[[str], None]


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def apply_reviewed(
    env_dir: Path,
    reviewed: Path,
    work_dir: Path,
    *,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
    plan_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
    say: Say = print,
    complain: Say = _stderr,
) -> int:
    """Plan, compare with ``reviewed``, apply only on a match; the exit status of the job."""
    try:
        reviewed_plan = load_plan(reviewed)
    except PlanError as error:
        complain(f"apply-reviewed: the reviewed plan cannot be used: {error}")
        return EXIT_BAD_INPUT
    work_dir.mkdir(parents=True, exist_ok=True)
    candidate_file = work_dir / "candidate.tfplan"
    candidate_json = work_dir / "candidate.tfplan.json"
    lock = f"-lock-timeout={lock_timeout}"
    planned = terraform.run(
        ["plan", "-input=false", lock, f"-out={candidate_file}", *plan_args],
        env_dir,
        extra_env=extra_env,
        check=False,
    )
    if planned.returncode != 0:
        complain(
            f"apply-reviewed: terraform plan failed (exit {planned.returncode}); nothing applied."
        )
        return planned.returncode
    shown = terraform.run(
        ["show", "-json", str(candidate_file)], env_dir, capture=True, extra_env=extra_env
    )
    candidate_json.write_text(shown.stdout, encoding="utf-8")
    try:
        candidate = load_plan(candidate_json)
    except PlanError as error:
        complain(f"apply-reviewed: the plan made now cannot be read: {error}")
        return EXIT_BAD_INPUT
    found = differences(reviewed_plan, candidate)
    if found:
        subjects = sorted({d.subject for d in found})
        complain(
            f"apply-reviewed: refused, nothing applied. The plan made now does not make the "
            f"changes that were reviewed ({reviewed}): {len(subjects)} resource(s) or output(s) "
            "differ, most likely because another change was applied after this one was reviewed:"
        )
        for difference in found:
            complain(f"  {difference}")
        complain(FRESH_REVIEW)
        return EXIT_REFUSED
    say(f"apply-reviewed: the plan made now makes exactly the changes reviewed in {reviewed}.")
    applied = terraform.run(
        ["apply", "-input=false", lock, str(candidate_file)],
        env_dir,
        extra_env=extra_env,
        check=False,
    )
    return applied.returncode


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "apply-reviewed",
        help="plan, prove the plan equals the reviewed one (plan-compare), and only then apply it",
        description=(
            "In terraform/environments/ENV: plan now (waiting up to --lock-timeout for the "
            "state lock), compare that plan with REVIEWED_PLAN_JSON as plan-compare does, and "
            "apply the new plan file only when it makes exactly the reviewed changes. Exit "
            "status: 0 applied; 1 refused (the differences and how to get a fresh review are "
            "printed); 2 the reviewed plan is unreadable; otherwise terraform's own status."
        ),
    )
    parser.add_argument("env", metavar="ENV", help="environment name, e.g. aws-snowplow")
    parser.add_argument("reviewed", type=Path, metavar="REVIEWED_PLAN_JSON")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=BUILD_DIR / "apply",
        metavar="DIR",
        help="where the new plan and its JSON are written (default: build/apply; keep it out "
        "of artifacts: they hold sensitive values in clear)",
    )
    parser.add_argument(
        "--lock-timeout",
        default=DEFAULT_LOCK_TIMEOUT,
        metavar="DURATION",
        help="how long to wait for the state lock (default: %(default)s)",
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        return apply_reviewed(
            environment_dir(args.env), args.reviewed, args.work_dir, lock_timeout=args.lock_timeout
        )
    except (terraform.TerraformError, FileNotFoundError) as error:
        print(f"apply-reviewed: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
