"""The local stack's lifecycle: bring it up in the emulator (start or reuse moto server, seed what
the environment expects, ``terraform apply``) and tear it down (empty the buckets, ``terraform
destroy``, stop the emulator, forget the local state).

Up reuses what is still there; a stack applied from other inputs is recreated in a fresh
emulator (see ``bring_up``). Whatever happens during a tear-down, the emulator is stopped and the
local state forgotten: the resources lived only in the emulator's memory.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snowplow_infra import doctor, pipeline, terraform
from snowplow_infra.local import buckets, flow, seed, server
from snowplow_infra.local.report import REPORT_FILE_NAME, plural, say
from snowplow_infra.local.stack import Stack
from snowplow_infra.package_lambda import HASH_SUFFIX, ZIP_PATH
from snowplow_infra.paths import environment_dir
from snowplow_infra.render_configs import output_dir


class LocalError(RuntimeError):
    """Something the user has to fix before the local stack can run."""


@dataclass(frozen=True)
class LocalRun:
    """One command's view of the local environment. ``quiet`` keeps terraform's output in
    ``<work dir>/terraform/*.log`` instead of printing it."""

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


def artifacts(environment: str) -> tuple[Path, ...]:
    """The build output the environment reads (docs/build-artifacts.md)."""
    return (ZIP_PATH, ZIP_PATH.with_name(ZIP_PATH.name + HASH_SUFFIX), output_dir(environment))


def preflight(environment: str) -> None:
    """Fail with doctor's findings when terraform or its provider is missing, and name the
    build artifacts that are missing."""
    problems = [
        finding.line()
        for finding in (doctor.check_terraform(), doctor.check_provider(), doctor.check_moto())
        if not finding.ok
    ]
    missing = [pipeline.display_path(p) for p in artifacts(environment) if not p.exists()]
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


def _terraform_log(run: LocalRun, name: str) -> str:
    """Where terraform's output goes, for a progress line."""
    if not run.quiet:
        return ""
    return f"; terraform's output goes to {pipeline.display_path(run.stack.terraform_dir / name)}"


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
        inputs = run.stack.fingerprint(run.var_file, artifacts(run.environment))
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
    logged = _terraform_log(run, "apply.log")
    say(f"terraform apply of {run.environment} to the emulator (about 2 minutes{logged})")
    started = time.monotonic()
    inputs = run.stack.fingerprint(run.var_file, artifacts(run.environment))
    outputs = run.stack.apply(running, run.var_file, capture=run.quiet, fingerprint=inputs)
    say(f"applied in {time.monotonic() - started:.0f} s")
    return running, outputs


def _destroy(run: LocalRun, running: server.Server) -> None:
    """``terraform destroy``, and once more if it fails. moto answers a delete of something
    already deleted with error codes the provider does not take for "already gone" (a launch
    template: InvalidLaunchTemplateName.NotFoundException, not InvalidLaunchTemplateId.NotFound),
    so a request the provider repeats because the emulator answered slowly fails the destroy.
    The second destroy refreshes, finds it gone and goes on; a real failure fails it again."""
    try:
        run.stack.destroy(running, run.var_file, capture=run.quiet)
    except terraform.TerraformError as error:
        first_line = str(error).splitlines()[0]
        say(f"{first_line} Running terraform destroy once more (docs/local-demo.md, moto's limits)")
        run.stack.destroy(running, run.var_file, capture=run.quiet)


def tear_down(run: LocalRun) -> None:
    """Destroy the stack and stop the emulator; forget the local state even when destroy fails.
    Says what it did in a few lines; terraform's own output only when the run is not quiet."""
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
            names = list(outputs.get("bucket_names", {}).values())
            deleted = buckets.empty(running.client("s3", run.region), names)
            say(f"emptied {plural(len(names), 'bucket')} ({plural(deleted, 'object version')})")
            resources = run.stack.resource_count()
            logged = _terraform_log(run, "destroy.log")
            say(f"terraform destroy of {run.environment}: {plural(resources, 'resource')}{logged}")
            started = time.monotonic()
            _destroy(run, running)
            if run.stack.has_state():
                raise LocalError(
                    "terraform destroy finished, but the state still recorded resources: the "
                    "environment does not destroy cleanly (see the destroy output)."
                )
            say(f"destroyed in {time.monotonic() - started:.0f} s")
    finally:
        server.stop(run.work_dir)
        run.forget()
        say(f"stopped the emulator (pid {running.pid}) and forgot the local state")
