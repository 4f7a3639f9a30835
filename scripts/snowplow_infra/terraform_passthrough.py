"""``snowplow-infra tf ENV -- ARGS``: any terraform command in an environment, the project's way."""

from __future__ import annotations

import argparse
import sys

from snowplow_infra import terraform
from snowplow_infra.paths import environment_dir


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "tf",
        help="run a terraform command in an environment with the project's CLI configuration",
        description=(
            "Run `terraform ARGS` in terraform/environments/ENV with the project's CLI "
            "configuration (provider from the local mirror when there is one, no prompts). "
            "CI uses it for init, plan, show and apply; use it whenever you would type "
            "`terraform` yourself. Example: snowplow-infra tf aws-snowplow -- plan -out=tfplan"
        ),
    )
    parser.add_argument("env", metavar="ENV", help="environment name, e.g. aws-snowplow")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, metavar="ARGS", help="terraform arguments after --"
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    arguments = args.args[1:] if args.args[:1] == ["--"] else args.args
    if not arguments:
        print("Give the terraform arguments after --, e.g. `-- plan`.", file=sys.stderr)
        return 2
    try:
        result = terraform.run(arguments, environment_dir(args.env), check=False)
    except (terraform.TerraformError, FileNotFoundError) as error:
        print(error, file=sys.stderr)
        return 1
    return result.returncode  # terraform's own exit code, e.g. 2 from plan -detailed-exitcode
