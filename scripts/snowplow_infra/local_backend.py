"""Local Terraform runs of an environment: a local backend instead of the http one, the emulator.

The environments declare ``backend "http" {}``: GitLab-managed state, configured in CI by the
``TF_HTTP_*`` variables. A local run (``make plan``, ``make demo``) must not touch that state, so
it writes a git-ignored ``local_backend_override.tf`` into the environment for the duration of the
run. Terraform merges ``*_override.tf`` files over the configuration, so the override replaces the
http backend with a local one under ``build/`` while every other line stays the one CI plans and
applies. The run also gets its own Terraform data folder (``TF_DATA_DIR``), so it never disturbs
the environment's ``.terraform/`` that ``check-terraform`` uses, and it installs providers exactly
as the committed ``.terraform.lock.hcl`` says (``-lockfile=readonly``).

Only one local run may hold an environment's override at a time: a second one fails with a message
that says what to do, instead of silently using the other run's state.

Usage::

    with emulator.start(work_dir / "emulator") as server, local_backend(env_dir, work_dir) as run:
        env = run.environment(server, region)
        run.init(env)
        terraform.run(["plan", "-out=..."], env_dir, extra_env=env)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from snowplow_infra import emulator, terraform

OVERRIDE_FILE_NAME = "local_backend_override.tf"


class LocalBackendError(RuntimeError):
    """The environment's backend override is already held by another local run."""


def override_text(state_path: Path) -> str:
    """The override file for a local backend whose state lives at ``state_path``.

    Formatted exactly as ``terraform fmt`` would, so ``fmt -check`` passes while it exists.
    """
    escaped = str(state_path).replace("\\", "\\\\").replace('"', '\\"')
    return (
        "# Written by snowplow-infra (scripts/snowplow_infra/local_backend.py) for a local\n"
        "# run and removed when it ends. Never commit it: CI uses versions.tf's http backend.\n"
        "terraform {\n"
        '  backend "local" {\n'
        f'    path = "{escaped}"\n'
        "  }\n"
        "}\n"
    )


@dataclass(frozen=True)
class LocalBackend:
    """A local run of one environment: its override file, state file and Terraform data folder."""

    env_dir: Path
    work_dir: Path
    override_file: Path

    @property
    def state_path(self) -> Path:
        return self.work_dir / "terraform.tfstate"

    @property
    def data_dir(self) -> Path:
        return self.work_dir / ".terraform"

    def environment(self, server: emulator.Emulator, region: str) -> dict[str, str]:
        """What terraform needs on top of the project's own environment (terraform.run adds
        these to os.environ): the emulator's endpoint and fake credentials, the variables that
        would reach a real account set empty, and this run's data folder."""
        cleared = {name: "" for name in emulator.CLEARED_VARIABLES}
        client = emulator.client_environment(server.endpoint, region)
        return {**cleared, **client, "TF_DATA_DIR": str(self.data_dir)}

    def init(self, env: Mapping[str, str], *, capture: bool = True) -> None:
        """``terraform init`` against the local backend, providers pinned by the lock file."""
        terraform.run(
            ["init", "-input=false", "-no-color", "-reconfigure", "-lockfile=readonly"],
            self.env_dir,
            capture=capture,
            extra_env=env,
        )


@contextmanager
def local_backend(env_dir: Path, work_dir: Path) -> Iterator[LocalBackend]:
    """Hold ``env_dir``'s backend override, pointing at state under ``work_dir``, until exit.

    The override file is created exclusively and removed on exit, also on errors and Ctrl-C.
    """
    work_dir = work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    override_file = env_dir / OVERRIDE_FILE_NAME
    backend = LocalBackend(env_dir, work_dir, override_file)
    try:
        descriptor = os.open(override_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise LocalBackendError(
            f"{override_file} already exists: another local run (make plan or make demo) is "
            f"using the {env_dir.name} environment with a local backend. Wait until it ends; if "
            "none is running, an interrupted run left the file behind, so delete it."
        ) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(override_text(backend.state_path))
        yield backend
    finally:
        override_file.unlink(missing_ok=True)
