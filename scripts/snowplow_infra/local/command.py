"""``snowplow-infra local up|demo|down``: the whole environment on a local AWS emulator.

* ``up``: start moto server (or find the one a previous command left running), create what the
  environment expects to exist already (``seed``), and ``terraform apply`` the environment to it.
* ``demo``: ``up``, then generated traffic through the stack (``flow``) and a summary.
* ``down``: empty the buckets, ``terraform destroy``, stop the emulator, forget the local state.

``up`` and ``demo`` leave the emulator and the stack running for ``demo`` (again) or ``down``.
Ctrl-C at any point stops terraform, the function processes and the emulator, and discards the
local state: nothing is left running, and the next command starts fresh.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from snowplow_infra import doctor, emulator, pipeline, terraform
from snowplow_infra.local import firehose, flow, seed, server, summary
from snowplow_infra.local.lambda_runtime import LambdaRuntimeError
from snowplow_infra.local.stack import Stack
from snowplow_infra.local_backend import LocalBackendError
from snowplow_infra.package_lambda import HASH_SUFFIX, ZIP_PATH
from snowplow_infra.paths import BUILD_DIR, environment_dir
from snowplow_infra.render_configs import output_dir

DEFAULT_WORK_DIR = BUILD_DIR / "local"
DEFAULT_EVENTS = 1000
# What the last demo run did, for scripts and tests: counts, keys, the generator's inputs.
REPORT_FILE_NAME = "demo-report.json"
INTERRUPTED = 130


class LocalError(RuntimeError):
    """Something the user has to fix before the local stack can run."""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


@dataclass(frozen=True)
class LocalRun:
    """One command's view of the local environment."""

    environment: str
    work_dir: Path
    region: str
    quiet: bool

    @property
    def stack(self) -> Stack:
        return Stack(environment_dir(self.environment), self.work_dir, self.region)

    @property
    def var_file(self) -> Path:
        return seed.var_file(self.work_dir)

    def leftovers(self) -> bool:
        """True when files describe a stack in an emulator that may no longer exist."""
        return (
            self.stack.has_state()
            or self.var_file.exists()
            or server.record_path(self.work_dir).exists()
        )

    def forget(self) -> None:
        """Forget everything that lived only in the emulator."""
        self.stack.discard_state()
        for path in (
            self.var_file,
            flow.checkpoints_path(self.work_dir),
            self.work_dir / REPORT_FILE_NAME,
        ):
            path.unlink(missing_ok=True)
        server.record_path(self.work_dir).unlink(missing_ok=True)


def preflight(environment: str) -> None:
    """Fail with doctor's findings when terraform or its provider is missing, and name the
    build artifacts that are missing."""
    problems = [
        finding.line()
        for finding in (doctor.check_terraform(), doctor.check_provider(), doctor.check_moto())
        if not finding.ok
    ]
    missing = [pipeline.display_path(p) for p in _artifacts(environment) if not p.exists()]
    if missing:
        problems.append(
            f"missing build artifacts: {', '.join(missing)}. Fix: run `make lambda configs` "
            "(`make demo` builds them first)"
        )
    if problems:
        raise LocalError("this machine is not ready:\n  " + "\n  ".join(problems))


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C back until the block ends (it is delivered right after), so that a process
    started inside is always recorded before the interrupt can stop everything."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _artifacts(environment: str) -> tuple[Path, ...]:
    """The build output the environment reads (docs/build-artifacts.md)."""
    return (ZIP_PATH, ZIP_PATH.with_name(ZIP_PATH.name + HASH_SUFFIX), output_dir(environment))


def bring_up(run: LocalRun) -> tuple[server.Server, dict[str, Any]]:
    """Emulator, seed and apply, reusing what is still there; return the server and outputs.

    A stack already applied from the same inputs is reused as it is: applying it again would
    update the Auto Scaling groups (moto does not keep their instance warm-up, so the plan always
    shows it), and the provider then starts an instance refresh, which moto does not implement.
    For the same reason a stack applied from other inputs is not updated in place but recreated
    in a fresh emulator.
    """
    preflight(run.environment)
    running = server.find(run.work_dir)
    if running is not None:
        settings = seed.LocalSettings.read(run.var_file)
        inputs = run.stack.fingerprint(run.var_file, _artifacts(run.environment))
        if settings is not None and run.stack.is_current(inputs):
            say(
                f"reusing the stack applied in the emulator at {running.endpoint} (pid "
                f"{running.pid}): nothing terraform reads has changed since"
            )
            return running, run.stack.outputs(running)
        if run.stack.has_state():
            say(
                "the stack in the running emulator was applied from other inputs (or not "
                "completely); updating it in place would need an instance refresh, which moto "
                "does not implement, so it is recreated in a fresh emulator"
            )
            server.stop(run.work_dir)
            run.forget()
            running = None
        else:
            say(f"reusing the emulator left running at {running.endpoint} (pid {running.pid})")
    if running is None:
        if run.leftovers():
            say(
                "the emulator that held the stack is no longer running, and moto kept everything "
                "in memory: discarding the stale local Terraform state and starting fresh"
            )
            run.forget()
        with _sigint_deferred():
            running = server.start(run.work_dir)
        say(
            f"started moto server at {running.endpoint} (pid {running.pid}; log "
            f"{pipeline.display_path(server.state_dir(run.work_dir) / 'moto.log')})"
        )
    settings = seed.LocalSettings.read(run.var_file)
    if settings is None or not seed.is_seeded(running, run.region, settings):
        settings = seed.seed(running, run.region)
        settings.write(run.var_file)
        say(
            "created what the environment expects to exist: a VPC with public and private "
            "subnets in two zones, a self-signed certificate in ACM, Snowflake's IAM user and "
            f"Snowpipe queue (local-only variables: {pipeline.display_path(run.var_file)})"
        )
    where = pipeline.display_path(run.stack.terraform_dir)
    logged = f"; terraform's output goes to {where}/apply.log" if run.quiet else ""
    say(f"terraform apply of {run.environment} to the emulator (about 2 minutes{logged})")
    started = time.monotonic()
    inputs = run.stack.fingerprint(run.var_file, _artifacts(run.environment))
    outputs = run.stack.apply(running, run.var_file, capture=run.quiet, fingerprint=inputs)
    say(f"applied in {time.monotonic() - started:.0f} s")
    return running, outputs


def _empty_buckets(running: server.Server, region: str, names: list[str]) -> None:
    """Make the buckets deletable: no policy (moto denies every object request under a policy
    with a conditional Deny, see flow.lift_bucket_policies), no access logging into one another
    (moto writes a log object per request, refilling the log bucket while terraform destroys),
    and no object version left (the buckets have no force_destroy and keep versions)."""
    s3 = running.client("s3", region)
    flow.lift_bucket_policies(s3, names)
    for name in names:
        target = s3.get_bucket_logging(Bucket=name).get("LoggingEnabled", {}).get("TargetBucket")
        if target in names:
            s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={})
    for name in names:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            entries = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for kind in ("Versions", "DeleteMarkers")
                for item in page.get(kind, [])
            ]
            for start in range(0, len(entries), 1000):
                chunk = entries[start : start + 1000]
                response = s3.delete_objects(Bucket=name, Delete={"Objects": chunk, "Quiet": True})
                errors = response.get("Errors") or []
                if errors:
                    raise LocalError(
                        f"could not empty s3://{name} before destroying it: {len(errors)} objects "
                        f"were not deleted ({errors[0]['Code']}: {errors[0]['Message']})."
                    )


def tear_down(run: LocalRun) -> None:
    """Destroy the stack and stop the emulator; forget the local state even when destroy fails."""
    running = server.find(run.work_dir)
    if running is None:
        if run.leftovers():
            say(
                "no emulator is running, so nothing of the stack exists: discarding the stale "
                "local Terraform state"
            )
            run.forget()
        else:
            say("nothing to tear down: no local stack and no emulator")
        return
    try:
        if run.stack.has_state():
            outputs = run.stack.outputs(running)
            _empty_buckets(running, run.region, list(outputs.get("bucket_names", {}).values()))
            say(f"terraform destroy of {run.environment}")
            started = time.monotonic()
            run.stack.destroy(running, run.var_file, capture=run.quiet)
            if run.stack.has_state():
                raise LocalError(
                    "terraform destroy finished, but the state still recorded resources: the "
                    "environment does not destroy cleanly (see the destroy output)."
                )
            say(f"destroyed in {time.monotonic() - started:.0f} s")
    finally:
        server.stop(run.work_dir)
        run.forget()
        say(f"stopped the emulator (pid {running.pid})")


def _print_summary(report: flow.Report, outputs: dict[str, Any], endpoint: str) -> None:
    fed = {role: len(records) for role, records in report.fed.items()}
    print("\nSummary (counts are records; an enriched-good record is one event):\n")
    print(summary.deliveries_table(report.deliveries, fed))
    for delivery in report.deliveries.values():
        for keys in (delivery.objects[:1], delivery.error_objects[:1]):
            for key in keys:
                print(f"  s3://{delivery.stream.bucket}/{key}")
    print(
        f"\nPlanted personal values found in the delivered objects: {report.planted_found} of "
        f"{report.planted} (error objects hold the failed records raw, by design)."
    )
    example = report.deliveries.get("enriched_good")
    if example is not None and example.example is not None:
        before, after = (data.decode("utf-8") for data in example.example)
        print("\nOne event before and after the pseudonymization Lambda (non-empty fields):\n")
        print(summary.event_table(summary.compare_event(before, after, report.salt)))
    if report.function_errors:
        logs = ", ".join(pipeline.display_path(path) for path in report.function_logs)
        print(f"\n{report.function_errors} invocations failed; see {logs}.")
    print(
        f"\nThe stack stays up in the emulator at {endpoint} (AWS_ENDPOINT_URL={endpoint}, "
        "any credentials). `make down` (snowplow-infra local down) destroys it and stops the "
        "emulator."
    )


KNOWN_ERRORS = (
    LocalError,
    terraform.TerraformError,
    emulator.EmulatorError,
    LocalBackendError,
    pipeline.PipelineError,
    seed.SeedError,
    firehose.FirehoseError,
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
        say(f"local {args.action} finished in {time.monotonic() - started:.0f} s")
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
    say("sending generated traffic through the stack, playing Firehose's part")
    report = flow.run(
        running,
        run.region,
        outputs,
        run.work_dir,
        events=args.events,
        seed=args.seed,
        progress=lambda message: say(f"  {message}"),
    )
    report_path = run.work_dir / REPORT_FILE_NAME
    written = {"events": args.events, "seed": args.seed, **report.to_json()}
    report_path.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    _print_summary(report, outputs, running.endpoint)
    if report.planted_found:
        raise LocalError(
            f"{report.planted_found} planted personal values reached the delivered objects; "
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


def add_parser(subparsers: argparse._SubParsersAction) -> None:
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
    helps = {
        "up": (_up, "start the emulator (or reuse the running one) and apply the environment"),
        "demo": (
            _demo,
            "up, then put generated events on the streams, deliver them through the "
            "pseudonymization Lambda to S3 as Firehose would, and print a summary",
        ),
        "down": (_down, "destroy the stack and stop the emulator"),
    }
    for name, (action, text) in helps.items():
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
        sub.add_argument(
            "--quiet",
            action="store_true",
            help="keep terraform's output in DIR/terraform/*.log instead of printing it",
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
        sub.set_defaults(handler=_guarded(action))
