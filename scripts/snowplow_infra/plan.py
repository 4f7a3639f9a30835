"""``snowplow-infra plan --env ENV``: plan an environment's production configuration, no AWS needed.

The plan is the one CI makes (same configuration, same ``terraform.tfvars``), with two local
differences that change nothing in it:

* the state backend: a local one under the output folder instead of GitLab's http backend
  (``snowplow_infra.local_backend``), starting from empty state, so every resource shows as created;
* the AWS API: the few calls Terraform makes while planning (data sources such as
  ``aws_caller_identity``) go to the local emulator, which the provider reaches only through the
  emulator's environment variables. The provider block is untouched.

Writes ``tfplan`` (the saved plan) and ``tfplan.json`` (``terraform show -json``) into the output
folder, ``build/plan/`` by default. The emulator runs only for the duration of the plan and is
stopped even when terraform fails or the user presses Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snowplow_infra import emulator, pipeline, terraform
from snowplow_infra.local_backend import LocalBackendError, local_backend
from snowplow_infra.paths import BUILD_DIR, environment_dir

DEFAULT_OUTPUT_DIR = BUILD_DIR / "plan"


@dataclass(frozen=True)
class PlanResult:
    """A saved plan, its JSON form (path and parsed), and how long planning took (not counting
    any wait for another local run of the environment)."""

    environment: str
    tfplan: Path
    json_path: Path
    plan: dict[str, Any]
    seconds: float

    def action_counts(self) -> Counter[str]:
        """How many resources each action touches, e.g. {"create": 61}."""
        return Counter(
            "replace" if set(actions) == {"create", "delete"} else actions[0]
            for change in self.plan.get("resource_changes", [])
            if (actions := change["change"]["actions"]) != ["no-op"]
        )


def plan_environment(
    environment: str, output_dir: Path = DEFAULT_OUTPUT_DIR, *, capture: bool = True
) -> PlanResult:
    """Plan ``environment`` against the emulator; write ``tfplan`` and ``tfplan.json``.

    ``capture=False`` lets terraform print its plan to the terminal. Raises TerraformError,
    EmulatorError, LocalBackendError, PipelineError or FileNotFoundError with a message that says
    what went wrong.
    """
    env_dir = environment_dir(environment)
    region = pipeline.load(environment).region
    output_dir = output_dir.resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    tfplan = output_dir / "tfplan"
    json_path = output_dir / "tfplan.json"
    with local_backend(env_dir, output_dir) as backend:
        started = time.monotonic()  # after any wait for another local run
        # A failed run must not leave an older plan behind that looks like its result.
        for stale in (tfplan, json_path):
            stale.unlink(missing_ok=True)
        with emulator.start(output_dir / "emulator") as server:
            env = backend.environment(server, region)
            backend.init(env)
            terraform.run(
                ["plan", "-input=false", "-no-color", "-lock=false", f"-out={tfplan}"],
                env_dir,
                capture=capture,
                extra_env=env,
            )
            shown = terraform.run(
                ["show", "-json", "-no-color", str(tfplan)], env_dir, capture=True, extra_env=env
            )
        json_path.write_text(shown.stdout, encoding="utf-8")
    return PlanResult(
        environment=environment,
        tfplan=tfplan,
        json_path=json_path,
        plan=json.loads(shown.stdout),
        seconds=time.monotonic() - started,
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="plan an environment's production configuration without an AWS account",
        description=(
            "Plan terraform/environments/ENV exactly as CI does (same configuration, same "
            "terraform.tfvars) and save the plan as OUTPUT/tfplan and OUTPUT/tfplan.json. No AWS "
            "account and no prompt: the state backend is a local one under OUTPUT (through a "
            "temporary, git-ignored local_backend_override.tf), and the API calls Terraform "
            "makes while planning go to a local moto server started for the run and stopped "
            "after it. The environment reads the build artifacts, so build them first: "
            "`make plan` runs `make lambda configs` and then this command."
        ),
        epilog="The JSON plan is what `snowplow-infra plan-report` reviews.",
    )
    parser.add_argument(
        "--env",
        default=pipeline.DEFAULT_ENVIRONMENT,
        metavar="ENV",
        help="the environment under terraform/environments/ (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help="where to write tfplan, tfplan.json and the run's local state (default: build/plan)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="do not print terraform's plan, only the summary",
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        result = plan_environment(args.env, args.output, capture=args.quiet)
    except KeyboardInterrupt:
        print("plan: interrupted; the emulator was stopped and no plan was saved.", file=sys.stderr)
        return 130
    except (
        terraform.TerraformError,
        emulator.EmulatorError,
        LocalBackendError,
        pipeline.PipelineError,
        FileNotFoundError,
    ) as error:
        print(f"plan: {error}", file=sys.stderr)
        print(
            f"plan: failed after {time.monotonic() - started:.1f} s; no plan was saved.",
            file=sys.stderr,
        )
        return 1
    counts = ", ".join(f"{n} to {action}" for action, n in sorted(result.action_counts().items()))
    waited = time.monotonic() - started - result.seconds
    print(
        f"Planned {result.environment} in {result.seconds:.1f} s"
        + (f" (after waiting {waited:.0f} s for another local run)" if waited >= 1 else "")
        + f": {counts or 'no changes'}; "
        f"{pipeline.display_path(result.tfplan)}, {pipeline.display_path(result.json_path)}"
    )
    return 0
