"""A local preview of a change: the environment at a git revision applied to the emulator, then
the working tree planned against that state (``snowplow-infra plan --baseline REV``).

``make plan`` plans against an empty state, so every resource is a create. Here the baseline (by
default the merge base of HEAD with the default branch, the state CI's plan will start from once
the default branch is applied) is applied first, so the plan of the working tree shows what a
merge request's plan will: updates, replacements, deletes, moves, and the protection gate's
verdict on them.

Everything runs through the local demo's machinery, unchanged: the emulator is started and
recorded by ``local.server``, what the environment expects to exist is created by ``local.seed``
(with the demo's ``prevent_destroy = false``, so that Terraform plans a replacement instead of
stopping at a destroy guard, and the gate shows it), and ``local.stack`` applies and plans with
the local backend and the emulator's provider setting. Steps:

1. ``git archive`` of the revision into ``OUTPUT/baseline/source``, and its build artifacts (the
   Lambda zip, the rendered configs) built there by the revision's own tooling;
2. a fresh emulator, seeded; the revision's environment applied to it (state in
   ``OUTPUT/baseline/applied``);
3. the revision's environment planned against its own state: moto does not keep every attribute
   the provider sets (docs/local-demo.md), so even an unchanged configuration plans some updates;
   ``emulator_differences`` names the working tree's changes that this plan has too;
4. that state copied to ``OUTPUT/baseline/planned``, and the working tree's environment planned
   against it with the same variable file, into ``OUTPUT/tfplan`` and ``OUTPUT/tfplan.json``;
5. the emulator stopped, also on errors and Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from snowplow_infra import pipeline
from snowplow_infra.local import seed, server
from snowplow_infra.local.stack import Stack
from snowplow_infra.paths import REPO_ROOT, environment_dir
from snowplow_infra.plan_report.plan import ResourceChange, load_plan
from snowplow_infra.plan_report.values import attribute_changes

MERGE_BASE = "merge base"  # the default revision, resolved by resolve_revision


class BaselineError(RuntimeError):
    """The revision cannot be found, exported or built."""


@dataclass(frozen=True)
class Baseline:
    """The plan of the working tree against the environment applied at ``revision``."""

    revision: str  # the commit
    described: str  # how the user named it, e.g. "merge base with main (abc1234)"
    tfplan: Path
    json_path: Path
    unchanged_json_path: Path  # the revision planned against its own state: the emulator's part


def _git(*args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BaselineError(
            f"`git {' '.join(args)}` failed in {REPO_ROOT}: {result.stderr.strip() or 'no output'}."
        )
    return result.stdout.strip()


def default_branch() -> str:
    """The default branch: origin's HEAD, else GitLab CI's CI_DEFAULT_BRANCH, else main/master."""
    try:
        return _git("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    except BaselineError:
        pass
    candidates = [os.environ.get("CI_DEFAULT_BRANCH", ""), "main", "master"]
    for branch in filter(None, candidates):
        try:
            _git("rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}")
            return branch
        except BaselineError:
            continue
    raise BaselineError(
        "Cannot tell the default branch (no origin/HEAD, CI_DEFAULT_BRANCH, main or master); "
        "name the baseline revision: --baseline REV."
    )


def resolve_revision(revision: str) -> tuple[str, str]:
    """(commit, description) of ``revision``, or of the merge base with the default branch."""
    if revision == MERGE_BASE:
        branch = default_branch()
        commit = _git("merge-base", "HEAD", branch)
        return commit, f"the merge base of HEAD with {branch} ({commit[:12]})"
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except BaselineError:
        raise BaselineError(f"{revision!r} is not a git revision of {REPO_ROOT}.") from None
    return commit, f"{revision} ({commit[:12]})"


def export(commit: str, destination: Path) -> None:
    """The files of ``commit`` (``git archive``) in ``destination``, replacing what was there."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    archive = subprocess.Popen(
        ["git", "archive", "--format=tar", commit], cwd=REPO_ROOT, stdout=subprocess.PIPE
    )
    assert archive.stdout is not None
    with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
        tar.extractall(destination, filter="data")
    if archive.wait() != 0:
        raise BaselineError(f"`git archive {commit}` failed in {REPO_ROOT}.")


def build_artifacts(source: Path, environment: str) -> None:
    """The revision's Lambda zip and configs, built by the revision's own tooling into its
    ``build/`` (what its environment reads)."""
    env = {**os.environ, "PYTHONPATH": str(source / "scripts")}
    for command in (["package-lambda"], ["render-configs", "--env", environment]):
        result = subprocess.run(
            [sys.executable, "-m", "snowplow_infra.cli", *command],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BaselineError(
                f"The baseline's `snowplow-infra {' '.join(command)}` failed:\n"
                f"{(result.stderr or result.stdout).strip()}"
            )


def plan_against(
    environment: str,
    revision: str,
    output_dir: Path,
    *,
    capture: bool = True,
    progress: Callable[[str], None] = print,
) -> Baseline:
    """Apply ``environment`` at ``revision`` to a fresh emulator, then plan the working tree
    against that state. Raises BaselineError, TerraformError, EmulatorError, SeedError,
    LocalBackendError or PipelineError with a sentence."""
    say = progress
    commit, described = resolve_revision(revision)
    region = pipeline.load(environment).region
    output_dir = output_dir.resolve()
    work = output_dir / "baseline"
    source = work / "source"
    say(f"baseline: {described}, exported to {pipeline.display_path(source)}")
    export(commit, source)
    build_artifacts(source, environment)
    baseline_env = source / environment_dir(environment).relative_to(REPO_ROOT)
    if not (baseline_env / "versions.tf").is_file():
        raise BaselineError(f"The environment {environment} does not exist at {described}.")
    applied = Stack(baseline_env, work / "applied", region)
    planned = Stack(environment_dir(environment), work / "planned", region)
    tfplan, json_path = output_dir / "tfplan", output_dir / "tfplan.json"
    for stale in (tfplan, json_path):
        stale.unlink(missing_ok=True)
    for stack in (applied, planned):
        stack.discard_state()
    server.stop(work)  # one a killed run left behind
    running = server.start(work)
    try:
        say(f"baseline: started moto server at {running.endpoint}; seeding it")
        settings = seed.seed(running, region)
        var_file = seed.var_file(work)
        settings.write(var_file)
        say(f"baseline: terraform apply of {environment} at {commit[:12]} (a few minutes)")
        applied.apply(running, var_file, capture=capture, fingerprint=commit)
        say("baseline: terraform plan of the unchanged baseline (what the emulator alone changes)")
        unchanged = applied.plan(running, var_file, work / "unchanged.tfplan", capture=True)
        planned.terraform_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(applied.state_path, planned.state_path)
        say(f"baseline: terraform plan of the working tree's {environment} against that state")
        shown = planned.plan(running, var_file, tfplan, capture=capture)
    finally:
        server.stop(work)
    json_path.write_text(shown, encoding="utf-8")
    unchanged_json_path = work / "unchanged.tfplan.json"
    unchanged_json_path.write_text(unchanged, encoding="utf-8")
    return Baseline(commit, described, tfplan, json_path, unchanged_json_path)


def emulator_differences(unchanged: Path, changed: Path) -> list[tuple[str, list[str]]]:
    """(address, attributes) of the changes in ``changed`` that the plan of the unchanged
    baseline also makes, to the same attributes: the emulator's, not the working tree's."""
    noise: dict[str, tuple[str, set[str]]] = {}
    for change in load_plan(unchanged).resource_changes:
        if change.kind not in ("no-op", "read"):
            noise[change.address] = (change.kind, _changed_names(change))
    found = []
    for change in load_plan(changed).resource_changes:
        kind, names = noise.get(change.address, ("", set()))
        shared = sorted(_changed_names(change) & names) if kind == change.kind else []
        if shared:
            found.append((change.address, shared))
    return found


def _changed_names(change: ResourceChange) -> set[str]:
    return {
        str(attribute.path[0])
        for attribute in attribute_changes(
            change.before,
            change.after,
            change.before_sensitive,
            change.after_sensitive,
            change.after_unknown,
        )
        if attribute.path
    }
