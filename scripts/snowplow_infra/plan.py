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

``--baseline [REV]`` plans against the environment as it was at a git revision instead of an empty
state (``snowplow_infra.baseline``: applied to the emulator first), and writes the review of that
plan as the plan job does (``plan-report``: widget counts, the bounded and the full review, the
protection gate's verdict).
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

from snowplow_infra import baseline, emulator, pipeline, plan_report, terraform
from snowplow_infra.local.seed import SeedError
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


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    parser.add_argument(
        "--baseline",
        nargs="?",
        const=baseline.MERGE_BASE,
        metavar="REV",
        help=(
            "plan against the environment as it was at git revision REV (default: the merge "
            "base of HEAD with the default branch), applied first to a fresh emulator with the "
            "local demo's machinery; then write OUTPUT/gitlab-report.json, "
            "OUTPUT/plan-review.md and OUTPUT/plan-review-full.md as the plan job does. Exit 1 "
            "when the protection gate blocks the plan (to accept a destroy, run `plan-report "
            "OUTPUT/tfplan.json --allow-destroy ...` on the saved plan), 2 when planning "
            "fails. Takes a few minutes: `make plan-baseline`"
        ),
    )
    parser.set_defaults(handler=_main)


# What planning may raise, each with a sentence for the user.
PLAN_ERRORS = (
    baseline.BaselineError,
    terraform.TerraformError,
    emulator.EmulatorError,
    LocalBackendError,
    SeedError,
    pipeline.PipelineError,
    FileNotFoundError,
)


def _main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    against: baseline.Baseline | None = None
    try:
        if args.baseline is not None:
            against = baseline.plan_against(
                args.env, args.baseline, args.output, capture=args.quiet, progress=_say
            )
        else:
            result = plan_environment(args.env, args.output, capture=args.quiet)
    except KeyboardInterrupt:
        print("plan: interrupted; the emulator was stopped and no plan was saved.", file=sys.stderr)
        return 130
    except PLAN_ERRORS as error:
        print(f"plan: {error}", file=sys.stderr)
        print(
            f"plan: failed after {time.monotonic() - started:.1f} s; no plan was saved.",
            file=sys.stderr,
        )
        return 1 if args.baseline is None else 2
    if against is not None:
        return _review(args, against, started)
    counts = ", ".join(f"{n} to {action}" for action, n in sorted(result.action_counts().items()))
    waited = time.monotonic() - started - result.seconds
    print(
        f"Planned {result.environment} in {result.seconds:.1f} s"
        + (f" (after waiting {waited:.0f} s for another local run)" if waited >= 1 else "")
        + f": {counts or 'no changes'}; "
        f"{pipeline.display_path(result.tfplan)}, {pipeline.display_path(result.json_path)}"
    )
    return 0


def _review(args: argparse.Namespace, result: baseline.Baseline, started: float) -> int:
    """The review of a ``--baseline`` plan, written as the plan job writes it."""
    _say(f"planned against {result.described} in {time.monotonic() - started:.0f} s")
    output = args.output.resolve()
    # The review exactly as the plan job writes it: plan-report's own command line.
    report = [
        "plan-report",
        str(result.json_path),
        "--gitlab-report",
        str(output / "gitlab-report.json"),
        "--markdown",
        str(output / "plan-review.md"),
        "--full-markdown",
        str(output / "plan-review-full.md"),
    ]
    parser = argparse.ArgumentParser(prog="snowplow-infra")
    plan_report.add_parser(parser.add_subparsers())
    parsed = parser.parse_args(report)
    status = int(parsed.handler(parsed))
    differences = baseline.emulator_differences(result.unchanged_json_path, result.json_path)
    if differences:
        section = _emulator_section(differences)
        for name in ("plan-review.md", "plan-review-full.md"):
            with (output / name).open("a", encoding="utf-8") as handle:
                handle.write(section)
        print(
            f"{len(differences)} of the changes also appear in a plan of the unchanged baseline: "
            "they are the emulator's, not this change's (listed at the end of the review)."
        )
    print(f"Review: {pipeline.display_path(output / 'plan-review.md')}")
    return status


def _emulator_section(differences: list[tuple[str, list[str]]]) -> str:
    lines = [
        "",
        "### Local preview: the emulator's own differences",
        "",
        "A plan of the unchanged baseline against the same emulator also changes these "
        'attributes, so they come from moto (docs/plan-review.md, "Local preview"), not from '
        "this change; a plan against AWS does not show them:",
        "",
    ]
    for address, names in differences:
        lines.append(f"- `{address}`: " + ", ".join(f"`{name}`" for name in names))
    return "\n".join(lines) + "\n"


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)
