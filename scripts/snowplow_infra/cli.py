"""The ``snowplow-infra`` command: one subcommand per job, each in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from snowplow_infra import (
    allowlist_diff,
    apply_reviewed,
    doctor,
    gitlab_notes,
    module_docs,
    package_lambda,
    plan,
    plan_report,
    plan_seal,
    render_configs,
    reviewed_plan,
    salt_command,
    terraform_check,
    terraform_passthrough,
    vendored_schemas,
)
from snowplow_infra.aws_constraints import command as aws_constraints
from snowplow_infra.failed import command as failed_records
from snowplow_infra.local import command as local_stack
from snowplow_infra.plan_report import compare_command as plan_compare

# Each module contributes one subcommand through its add_parser(subparsers) function.
SUBCOMMANDS = (
    doctor,
    terraform_check,
    terraform_passthrough,
    plan_report,
    plan_compare,
    plan_seal,
    reviewed_plan,
    apply_reviewed,
    aws_constraints,
    gitlab_notes,
    package_lambda,
    render_configs,
    module_docs,
    plan,
    salt_command,
    vendored_schemas,
    allowlist_diff,
    local_stack,
    failed_records,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snowplow-infra",
        description=(
            "Tooling for the privacy-preserving Snowplow pipeline on AWS. "
            "Start with `snowplow-infra doctor` to see what this machine has."
        ),
        epilog="Run `snowplow-infra COMMAND --help` for the details of a command.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
