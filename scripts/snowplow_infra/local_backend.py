"""Local Terraform runs of an environment: a local backend instead of the http one, the emulator.

The environments declare ``backend "http" {}``: GitLab-managed state, configured in CI by the
``TF_HTTP_*`` variables. A local run (``make plan``, ``make demo``) must not touch that state, so
it writes a git-ignored ``local_backend_override.tf`` into the environment for the duration of the
run. Terraform merges ``*_override.tf`` files over the configuration, so the override replaces the
http backend with a local one under ``build/`` while every other line stays the one CI plans and
applies. The run also gets its own Terraform data folder (``TF_DATA_DIR``), so it never disturbs
the environment's ``.terraform/`` that ``check-terraform`` uses, and it installs providers exactly
as the committed ``.terraform.lock.hcl`` says (``-lockfile=readonly``).

Only one local run may hold an environment's override at a time (a lock under ``build/``): a second
one waits for the first instead of silently using the other run's state, and fails with a message
if the wait is too long.

Usage::

    with local_backend(env_dir, work_dir) as run, emulator.start(work_dir / "emulator") as server:
        env = run.environment(server, region)
        run.init(env)
        terraform.run(["plan", "-out=..."], env_dir, extra_env=env)
"""

from __future__ import annotations

import fcntl
import hashlib
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from snowplow_infra import emulator, terraform
from snowplow_infra.paths import BUILD_DIR

OVERRIDE_FILE_NAME = "local_backend_override.tf"
# One lock per environment: the override file lives in the shared configuration folder.
LOCK_DIR = BUILD_DIR / "terraform" / "local-runs"
DEFAULT_WAIT_SECONDS = 900.0


class LocalBackendError(RuntimeError):
    """Another local run held the environment's backend override for too long."""


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

    def environment(self, server: emulator.Endpoint, region: str) -> dict[str, str]:
        """What terraform needs on top of the project's own environment (terraform.run adds
        these to os.environ): the emulator's endpoint and fake credentials, the variables that
        would reach a real account set empty, and this run's data folder."""
        return server.terraform_environment(region) | {"TF_DATA_DIR": str(self.data_dir)}

    def init(self, env: Mapping[str, str], *, capture: bool = True) -> None:
        """``terraform init`` against the local backend, providers pinned by the lock file."""
        terraform.run(
            ["init", "-input=false", "-no-color", "-reconfigure", "-lockfile=readonly"],
            self.env_dir,
            capture=capture,
            extra_env=env,
        )


@contextmanager
def _exclusive(lock_path: Path, env_name: str, wait_seconds: float) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path``, waiting up to ``wait_seconds`` for another holder.

    The kernel releases the lock when its holder exits, however it exits, so a killed run never
    leaves the environment locked.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        deadline = time.monotonic() + wait_seconds
        waiting = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LocalBackendError(
                        f"Another local run (make plan, make demo or a test) is using the "
                        f"{env_name} environment with a local backend and did not finish within "
                        f"{wait_seconds:.0f} s; try again when it has ended."
                    ) from None
                if not waiting:
                    print(
                        f"Waiting for another local run of {env_name} to finish...",
                        file=sys.stderr,
                        flush=True,
                    )
                    waiting = True
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def local_backend(
    env_dir: Path, work_dir: Path, *, wait_seconds: float = DEFAULT_WAIT_SECONDS
) -> Iterator[LocalBackend]:
    """Hold ``env_dir``'s backend override, pointing at state under ``work_dir``, until exit.

    One local run of an environment at a time: a second one waits up to ``wait_seconds`` for the
    first, then fails. The override file is removed on exit, also on errors and Ctrl-C; one left
    behind by a killed run is simply rewritten by the next.
    """
    work_dir = work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    backend = LocalBackend(env_dir, work_dir, env_dir / OVERRIDE_FILE_NAME)
    folder = str(env_dir.resolve())
    lock_path = LOCK_DIR / f"{env_dir.name}-{hashlib.sha256(folder.encode()).hexdigest()[:12]}.lock"
    with _exclusive(lock_path, env_dir.name, wait_seconds):
        try:
            backend.override_file.write_text(override_text(backend.state_path), encoding="utf-8")
            yield backend
        finally:
            backend.override_file.unlink(missing_ok=True)
