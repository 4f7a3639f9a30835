"""``snowplow-infra local up|demo|down``: the whole environment on a local AWS emulator.

* ``up``: start moto server (or find the one a previous command left running), create what the
  environment expects to exist already (``seed``), and ``terraform apply`` the environment to it.
* ``demo``: ``up``, then generated traffic through the stack (``flow``) and a summary.
* ``down``: empty the buckets, ``terraform destroy``, stop the emulator, forget the local state.

This module is the command line: its arguments, the errors it writes as sentences, and Ctrl-C.
What the actions do lives in ``lifecycle`` (up and down), ``flow`` (the demo's traffic),
``buckets`` (emptying them for destroy) and ``report`` (what is printed and written).

``up`` and ``demo`` leave the emulator and the stack running for ``demo`` (again) or ``down``.
Ctrl-C at any point stops terraform, the function processes and the emulator, and discards the
local state: nothing is left running, and the next command starts fresh.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from snowplow_infra import emulator, pipeline, terraform
from snowplow_infra.local import buckets, firehose, flow, report, seed, server
from snowplow_infra.local.lambda_runtime import LambdaRuntimeError
from snowplow_infra.local.lifecycle import LocalError, LocalRun, bring_up, tear_down
from snowplow_infra.local_backend import LocalBackendError
from snowplow_infra.paths import BUILD_DIR

DEFAULT_WORK_DIR = BUILD_DIR / "local"
DEFAULT_EVENTS = 1000
INTERRUPTED = 130

KNOWN_ERRORS = (
    LocalError,
    terraform.TerraformError,
    emulator.EmulatorError,
    LocalBackendError,
    pipeline.PipelineError,
    seed.SeedError,
    firehose.FirehoseError,
    buckets.BucketError,
    LambdaRuntimeError,
    FileNotFoundError,
    ClientError,
    BotoCoreError,
)


def _guarded(action: Callable[[LocalRun, argparse.Namespace], None]) -> Callable[..., int]:
    """Run an action with the errors it may meet written as sentences, and Ctrl-C handled."""

    def handler(args: argparse.Namespace) -> int:
        started = time.monotonic()
        try:
            region = pipeline.load(args.env).region
        except (pipeline.PipelineError, FileNotFoundError) as error:
            print(f"local {args.action}: {error}", file=sys.stderr)
            return 1
        run = LocalRun(args.env, args.work_dir.resolve(), region, args.quiet)
        try:
            action(run, args)
        except KeyboardInterrupt:
            stopped = server.stop(run.work_dir)
            run.forget()
            print(
                f"\nlocal {args.action}: interrupted. "
                f"{'Stopped the emulator (its state is gone) and d' if stopped else 'D'}"
                "iscarded the local Terraform state; nothing is left running.",
                file=sys.stderr,
            )
            return INTERRUPTED
        except KNOWN_ERRORS as error:
            print(f"local {args.action}: {error}", file=sys.stderr)
            print(
                f"local {args.action}: failed after {time.monotonic() - started:.0f} s.",
                file=sys.stderr,
            )
            return 1
        report.say(f"local {args.action} finished in {time.monotonic() - started:.0f} s")
        return 0

    return handler


def _up(run: LocalRun, _: argparse.Namespace) -> None:
    running, _outputs = bring_up(run)
    print(
        f"\nThe {run.environment} stack is up in the emulator at {running.endpoint}. "
        "`snowplow-infra local demo` sends traffic through it; `snowplow-infra local down` "
        "destroys it."
    )


def _demo(run: LocalRun, args: argparse.Namespace) -> None:
    running, outputs = bring_up(run)
    report.say("sending generated traffic through the stack, playing Firehose's part")
    result = flow.run(
        running,
        run.region,
        outputs,
        run.work_dir,
        events=args.events,
        seed=args.seed,
        progress=lambda message: report.say(f"  {message}"),
        rotate=args.rotate,
        salt_outage=args.salt_outage,
    )
    report_path = report.write(run.work_dir, result, events=args.events, seed=args.seed)
    report.print_summary(result, running.endpoint)
    if args.salt_outage:
        print(
            "\nA salt outage was simulated for one batch: its records wait, raw, under "
            "processing-failed/. `snowplow-infra failed explain --local` says why each failed "
            "record fails; `snowplow-infra failed replay --local --execute` puts back those that "
            "would now succeed (docs/alarms.md, 'ProcessingFailed records')."
        )
    if result.planted_found:
        raise LocalError(
            f"{result.planted_found} planted personal values reached the delivered objects; "
            f"see {pipeline.display_path(report_path)}."
        )


def _down(run: LocalRun, _: argparse.Namespace) -> None:
    tear_down(run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "local",
        help="run the whole environment on a local AWS emulator (up, demo, down)",
        description=(
            "Apply terraform/environments/ENV to a moto server on 127.0.0.1 and send realistic "
            "traffic through it, with no AWS account. The configuration is the one CI applies; "
            "the state backend is local, terraform reaches the emulator only through its "
            "environment variables, and the inputs that name pre-existing resources (network, "
            "certificate, Snowflake's identities) come from a local-only variable file that "
            "`up` creates in the emulator. moto runs neither Firehose's processing nor Lambda, "
            "so `demo` plays Firehose's part with the deployed Lambda zip. "
            "See docs/local-demo.md."
        ),
        epilog="`make demo` builds the Lambda zip and the configs, then runs `local demo`.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    # action: (what it does, help, whether terraform's output is kept in a log by default)
    helps = {
        "up": (
            _up,
            "start the emulator (or reuse the running one) and apply the environment",
            False,
        ),
        "demo": (
            _demo,
            "up, then put generated events on the streams, deliver them through the "
            "pseudonymization Lambda to S3 as Firehose would, and print a summary",
            False,
        ),
        "down": (_down, "destroy the stack and stop the emulator, in a few lines", True),
    }
    for name, (action, text, quiet) in helps.items():
        sub = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument(
            "--env",
            default=pipeline.DEFAULT_ENVIRONMENT,
            metavar="ENV",
            help="the environment under terraform/environments/ (default: %(default)s)",
        )
        sub.add_argument(
            "--work-dir",
            type=Path,
            default=DEFAULT_WORK_DIR,
            metavar="DIR",
            help="where the emulator's pid, port and log, the local state and the local-only "
            "variable file live (default: build/local)",
        )
        output = sub.add_mutually_exclusive_group()
        output.add_argument(
            "--quiet",
            action="store_true",
            help="keep terraform's output in DIR/terraform/*.log instead of printing it"
            + (" (the default for down)" if quiet else ""),
        )
        output.add_argument(
            "-v",
            "--verbose",
            action="store_false",
            dest="quiet",
            help="print terraform's output as it runs"
            + ("" if quiet else f" (the default for {name})"),
        )
        if name == "demo":
            sub.add_argument(
                "--events",
                type=_positive,
                default=DEFAULT_EVENTS,
                metavar="N",
                help="enriched events to generate (default: %(default)s)",
            )
            sub.add_argument(
                "--seed",
                type=int,
                default=0,
                metavar="N",
                help="seed of the generated events, users and bad rows (default: %(default)s)",
            )
            sub.add_argument(
                "--rotate",
                action="store_true",
                help="rotate the salt inside the run: half the records before a new salt version "
                "activates, half after; the summary shows both sides, each object's version and "
                "the link records (docs/salt-rotation.md)",
            )
            sub.add_argument(
                "--salt-outage",
                action="store_true",
                help="make the salt unreadable during the first batch of enriched events, so "
                "that it lands under processing-failed/ for `snowplow-infra failed` to replay",
            )
        sub.set_defaults(handler=_guarded(action), quiet=quiet)
