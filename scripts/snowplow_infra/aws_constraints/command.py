"""``snowplow-infra check-aws-constraints PLAN.json...``: exit 1 when a planned value breaks one of
AWS's constraints, naming the resource, the attribute, the rule and its source."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from snowplow_infra.aws_constraints.check import check_plan, covered_types
from snowplow_infra.aws_constraints.rules import ConstraintsError, attribute_rules, data


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check-aws-constraints",
        help="check plan JSON against AWS's own constraints, which the emulator does not enforce",
        description=(
            "Check every resource a plan creates or updates against the constraints AWS applies "
            "and the local emulator does not: lengths, patterns and enums from the AWS SDK's "
            "service models, and a documented table (scripts/snowplow_infra/aws_constraints/"
            "constraints.json) for EC2 descriptions, load balancer and target group names, "
            "bucket names, tags and the rest the models leave out. Exit 1 on any violation."
        ),
    )
    parser.add_argument("plans", nargs="*", type=Path, help="plan JSON (terraform show -json)")
    parser.add_argument(
        "--list",
        action="store_true",
        help="print each covered resource type's attributes and the source of each rule",
    )
    parser.set_defaults(handler=_main)


def _load(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConstraintsError(f"Cannot read {path}: {error.strerror}.") from error
    except ValueError as error:
        raise ConstraintsError(f"{path} is not JSON (`terraform show -json` output).") from error
    if "resource_changes" not in loaded and "planned_values" not in loaded:
        raise ConstraintsError(f"{path} is JSON but not a plan: it has no resource_changes.")
    return loaded


def _print_coverage() -> None:
    resources: dict[str, dict[str, Any]] = data()["resources"]
    for resource_type in covered_types():
        attributes = resources[resource_type]
        if not attributes:
            note = data()["unconstrained"].get(resource_type, "no constrained attribute")
            print(f"{resource_type}: {note}")
            continue
        print(f"{resource_type}:")
        for attribute, entry in attributes.items():
            for rule in attribute_rules(entry):
                print(f"  {attribute}: {rule.source}")
    print(f"every resource: tags, tags_all: {data()['table']['tags']['source']}")


def _main(args: argparse.Namespace) -> int:
    try:
        if args.list:
            _print_coverage()
        if not args.plans:
            return 0 if args.list else _usage()
        failed = False
        for path in args.plans:
            violations = check_plan(_load(path))
            for violation in violations:
                print(f"{path}: {violation}", file=sys.stderr)
            count = len(violations)
            print(f"{path}: {count} violation{'' if count == 1 else 's'} of AWS's constraints.")
            failed = failed or count > 0
    except ConstraintsError as error:
        print(f"check-aws-constraints: {error}", file=sys.stderr)
        return 2
    return 1 if failed else 0


def _usage() -> int:
    print("check-aws-constraints: give one or more plan JSON files, or --list.", file=sys.stderr)
    return 2
