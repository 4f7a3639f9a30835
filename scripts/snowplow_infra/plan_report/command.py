"""``snowplow-infra plan-report``: the command line over the reader, counts, review and gate."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from snowplow_infra.plan_report import protection
from snowplow_infra.plan_report.counts import widget_counts
from snowplow_infra.plan_report.entries import load_review
from snowplow_infra.plan_report.markdown import (
    DEFAULT_LIMIT,
    GITLAB_NOTE_LIMIT,
    MINIMUM_LIMIT,
    review_lines,
)
from snowplow_infra.plan_report.plan import PlanError

EXIT_OK = 0
EXIT_PROTECTED = 1
EXIT_BAD_INPUT = 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    protected = ", ".join(sorted(protection.PROTECTED_TYPES))
    parser = subparsers.add_parser(
        "plan-report",
        help="review a plan: GitLab widget counts, a Markdown review, and the protection gate",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Read the JSON of a saved plan (`terraform show -json PLANFILE`, Terraform 1.0 to "
            "1.14, format_version 0.x and 1.x), print its counts, optionally write GitLab's "
            "merge-request widget report and a Markdown review, and refuse a plan that deletes "
            "or replaces a protected stateful resource.\n\n"
            f"Protected types: {protected}.\n\n"
            "Exit status: 0 the plan is acceptable; 1 it destroys a protected resource that no "
            "--allow-destroy names, or --allow-destroy-file lists one it does not destroy (the "
            "reports are still written); 2 the input is unreadable "
            "or not a plan, or a report cannot be written."
        ),
        epilog=(
            "Example: snowplow-infra plan-report build/plan/tfplan.json "
            "--gitlab-report build/plan/gitlab-report.json --markdown build/plan/review.md "
            "--allow-destroy 'module.stream[\"raw_bad\"].aws_kinesis_stream.this'"
        ),
    )
    parser.add_argument("plan", type=Path, metavar="PLAN_JSON", help="terraform show -json output")
    parser.add_argument(
        "--gitlab-report",
        type=Path,
        metavar="FILE",
        help='write {"create": N, "update": N, "delete": N} for `artifacts:reports:terraform`',
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="FILE",
        help="write the review for the merge request, at most --max-chars characters",
    )
    parser.add_argument(
        "--max-chars",
        type=_limit,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=(
            f"the most characters --markdown may have (default: {DEFAULT_LIMIT:,}; GitLab "
            f"refuses a note over {GITLAB_NOTE_LIMIT:,}). A longer review keeps the most "
            "important changes, says what it left out and names --full-markdown"
        ),
    )
    parser.add_argument(
        "--full-markdown",
        type=Path,
        metavar="FILE",
        help="also write the whole review, however long, to FILE",
    )
    parser.add_argument(
        "--full-review-url",
        metavar="URL",
        help="where readers of a shortened review find --full-markdown (e.g. its job artifact)",
    )
    parser.add_argument(
        "--allow-destroy",
        action="extend",
        nargs="+",
        default=[],
        metavar="ADDRESS_OR_TYPE",
        help=(
            "accept deleting or replacing this protected resource: a full address such as "
            "'module.bucket[\"events\"].aws_s3_bucket.this', or a resource type such as "
            "aws_kinesis_stream; several may follow one flag, or repeat the flag (give PLAN_JSON "
            "first, or end the list with --)"
        ),
    )
    parser.add_argument(
        "--allow-destroy-file",
        type=Path,
        metavar="FILE",
        help=(
            "accept deleting or replacing the protected resources FILE lists, one address or "
            "type a line (# starts a comment): the reviewed allow list of a change, e.g. "
            "terraform/environments/aws-snowplow/allow-destroy.txt. An entry this plan does "
            "not destroy fails the gate: the next change empties the file"
        ),
    )
    parser.set_defaults(handler=_main)


def read_allow_list(path: Path) -> list[str]:
    """The addresses or types an allow-destroy file lists (blank lines and # comments left out)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"{path} (the allow-destroy file) does not exist.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PlanError(f"Cannot read the allow-destroy file {path}: {error}.") from None
    return [
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    ]


def _limit(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        value = 0
    if not MINIMUM_LIMIT <= value <= GITLAB_NOTE_LIMIT:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from {MINIMUM_LIMIT:,} to {GITLAB_NOTE_LIMIT:,}, not {text!r}"
        )
    return value


def _main(args: argparse.Namespace) -> int:
    try:
        listed = read_allow_list(args.allow_destroy_file) if args.allow_destroy_file else []
        review = load_review(args.plan)
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    plan = review.plan
    verdict = protection.evaluate(plan, [*args.allow_destroy, *listed])
    counts = widget_counts(plan)
    full = None
    if args.full_markdown:
        full = f"`{args.full_markdown}`"
        if args.full_review_url:
            full = f"[`{args.full_markdown.name}`]({args.full_review_url})"
    try:
        if args.gitlab_report:
            _write(args.gitlab_report, [json.dumps(counts) + "\n"])
        if args.full_markdown:
            _write(args.full_markdown, review_lines(review, verdict))
        if args.markdown:
            lines = review_lines(review, verdict, limit=args.max_chars, full_review=full)
            _write(args.markdown, lines)
    except OSError as error:
        print(f"error: cannot write {error.filename}: {error.strerror}.", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(
        f"{plan.source}: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete."
    )
    return _gate(verdict, listed, args.allow_destroy_file)


def _gate(verdict: protection.Verdict, listed: list[str], allow_file: Path | None) -> int:
    """Print what the gate allowed and blocked; its exit status."""
    stale = [a for a in verdict.unused_allowances if a in listed]
    for allowance in verdict.unused_allowances:
        if allowance not in stale:
            print(
                f"note: --allow-destroy {allowance} matches no protected resource this plan "
                "destroys.",
                file=sys.stderr,
            )
    for change in verdict.allowed:
        print(f"allowed: {protection.describe(change)}")
    if verdict.blocked:
        print(
            f"error: the plan destroys {len(verdict.blocked)} protected stateful resource(s); "
            "if that is intended, name each address or type with --allow-destroy, or on a "
            "line of the change's --allow-destroy-file (in CI: "
            "terraform/environments/aws-snowplow/allow-destroy.txt):",
            file=sys.stderr,
        )
        for change in verdict.blocked:
            print(f"  {protection.describe(change)}", file=sys.stderr)
        return EXIT_PROTECTED
    if stale:
        print(
            f"error: {allow_file} allows destroying {', '.join(stale)}, which this "
            "plan does not destroy. The file lists only what the change that adds it destroys; "
            "remove these lines (the change after a destroy empties the file).",
            file=sys.stderr,
        )
        return EXIT_PROTECTED
    return EXIT_OK


def _write(path: Path, lines: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(lines)
