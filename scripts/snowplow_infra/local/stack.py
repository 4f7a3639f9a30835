"""terraform apply, output and destroy of an environment in the emulator, with a local backend.

The configuration is the one CI applies; three things differ, none of them in a .tf file that is
committed: the state backend (``snowplow_infra.local_backend``: a git-ignored override pointing at
``<work dir>/terraform/terraform.tfstate``, held only while terraform runs), the API endpoint and
credentials (the emulator's environment variables), and the local-only variable file that
``snowplow_infra.local.seed`` writes. ``terraform.tfvars`` is still read first; the variable file
overrides only what it names.

One setting reaches the provider for local runs only: ``max_retries = 2``, through a git-ignored
``local_emulator_override.tf`` that exists while terraform runs (with the backend override, under
the same lock). hashicorp/aws 5.100 sets its retry count itself (25 by default) and ignores
``AWS_MAX_ATTEMPTS``, so an API call moto does not implement (HTTP 500) would be retried with
growing back-off for half an hour instead of failing in seconds. Terraform merges the block into
the provider configuration; every other argument stays the one CI uses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snowplow_infra import terraform
from snowplow_infra.local.server import Server
from snowplow_infra.local_backend import local_backend
from snowplow_infra.paths import MODULES_DIR

TERRAFORM_DIR_NAME = "terraform"
APPLIED_FILE_NAME = "applied.json"
PROVIDER_OVERRIDE_FILE_NAME = "local_emulator_override.tf"
PROVIDER_OVERRIDE = (
    "# Written by snowplow-infra (scripts/snowplow_infra/local/stack.py) for a local run\n"
    "# against the emulator and removed when it ends. hashicorp/aws ignores AWS_MAX_ATTEMPTS:\n"
    "# without this, a call the emulator does not implement is retried for half an hour.\n"
    'provider "aws" {\n'
    "  max_retries = 2\n"
    "}\n"
)


@contextmanager
def _provider_override(env_dir: Path) -> Iterator[None]:
    """The local-only provider setting, present while the block runs (inside the backend lock)."""
    path = env_dir / PROVIDER_OVERRIDE_FILE_NAME
    try:
        path.write_text(PROVIDER_OVERRIDE, encoding="utf-8")
        yield
    finally:
        path.unlink(missing_ok=True)


def _read_by_apply(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts if path != root else ()
    if ".terraform" in parts or "tests" in parts or path.suffix == ".md":
        return False
    if path.name.endswith("_override.tf"):
        return False
    return not (root == MODULES_DIR and path.name == ".terraform.lock.hcl")


@dataclass(frozen=True)
class Stack:
    """One environment applied from one work directory to one emulator."""

    env_dir: Path
    work_dir: Path
    region: str

    @property
    def terraform_dir(self) -> Path:
        """The local state, the Terraform data folder and terraform's logs."""
        return self.work_dir / TERRAFORM_DIR_NAME

    @property
    def state_path(self) -> Path:
        return self.terraform_dir / "terraform.tfstate"

    def has_state(self) -> bool:
        """True when local state exists that records at least one resource."""
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return bool(state.get("resources"))

    def resource_count(self) -> int:
        """How many resource instances the local state records (managed resources only, as
        terraform counts them in "Resources: N destroyed")."""
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return 0
        return sum(
            len(resource.get("instances", []))
            for resource in state.get("resources", [])
            if resource.get("mode") == "managed"
        )

    @property
    def applied_path(self) -> Path:
        """What was applied last: the fingerprint of every input terraform read."""
        return self.terraform_dir / APPLIED_FILE_NAME

    def discard_state(self) -> None:
        """Forget the local state (the resources it describes are gone with their emulator)."""
        for path in [*self.terraform_dir.glob("terraform.tfstate*"), self.applied_path]:
            path.unlink(missing_ok=True)

    def fingerprint(self, var_file: Path, artifacts: Sequence[Path]) -> str:
        """SHA-256 over every file an apply reads: the environment, the modules, the local
        variable file and the build artifacts. Left out: what apply does not read (terraform's
        folders, module lock files, tests, READMEs) and the local runs' override files."""
        digest = hashlib.sha256()
        for root in (self.env_dir, MODULES_DIR, var_file, *artifacts):
            for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
                if path.is_file() and _read_by_apply(path, root):
                    digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def is_current(self, fingerprint: str) -> bool:
        """True when the state was applied, completely, from inputs with this fingerprint."""
        try:
            applied = json.loads(self.applied_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return self.has_state() and applied.get("fingerprint") == fingerprint

    def _run(
        self, server: Server, commands: Sequence[Sequence[str]], *, capture: bool, log_name: str
    ) -> list[str]:
        """Init, then run each terraform command in order; return the captured outputs."""
        outputs = []
        with (
            local_backend(self.env_dir, self.terraform_dir) as backend,
            _provider_override(self.env_dir),
        ):
            env = backend.environment(server, self.region)
            backend.init(env)
            log = self.terraform_dir / log_name
            log.unlink(missing_ok=True)
            for command in commands:
                quiet = capture or command[0] in ("output", "show")
                result = terraform.run(
                    command, self.env_dir, capture=quiet, extra_env=env, check=False
                )
                if quiet:  # (a plan's JSON, which `show` prints, is the caller's, not the log's)
                    with log.open("a", encoding="utf-8") as handle:
                        shown = "" if command[0] == "show" else result.stdout
                        handle.write(shown + result.stderr)
                if result.returncode != 0:
                    detail = f"; its output is in {log}" if quiet else ""
                    raise terraform.TerraformError(
                        f"`terraform {command[0]}` of {self.env_dir.name} failed "
                        f"(exit {result.returncode}){detail}.\n{(result.stderr or '').strip()}"
                    )
                outputs.append(result.stdout if quiet else "")
        return outputs

    def apply(
        self, server: Server, var_file: Path, *, capture: bool, fingerprint: str
    ) -> dict[str, Any]:
        """``terraform apply`` with the local variable file (terraform prints unless
        ``capture``), record the inputs' fingerprint, and return the root module's outputs."""
        self.applied_path.unlink(missing_ok=True)
        *_, text = self._run(
            server,
            [
                ["apply", "-input=false", "-no-color", "-auto-approve", f"-var-file={var_file}"],
                ["output", "-json", "-no-color"],
            ],
            capture=capture,
            log_name="apply.log",
        )
        self.applied_path.write_text(json.dumps({"fingerprint": fingerprint}), encoding="utf-8")
        return _outputs(text)

    def plan(self, server: Server, var_file: Path, tfplan: Path, *, capture: bool) -> str:
        """``terraform plan`` against the local state with the local variable file, saved to
        ``tfplan`` (terraform prints it unless ``capture``); return its ``show -json``."""
        tfplan.unlink(missing_ok=True)
        _, shown = self._run(
            server,
            [
                ["plan", "-input=false", "-no-color", f"-var-file={var_file}", f"-out={tfplan}"],
                ["show", "-json", "-no-color", str(tfplan)],
            ],
            capture=capture,
            log_name="plan.log",
        )
        return shown

    def outputs(self, server: Server) -> dict[str, Any]:
        """The root module's outputs, by name."""
        (text,) = self._run(
            server, [["output", "-json", "-no-color"]], capture=True, log_name="output.log"
        )
        return _outputs(text)

    def destroy(self, server: Server, var_file: Path, *, capture: bool) -> None:
        """``terraform destroy``; the local state is left empty."""
        self._run(
            server,
            [["destroy", "-input=false", "-no-color", "-auto-approve", f"-var-file={var_file}"]],
            capture=capture,
            log_name="destroy.log",
        )


def _outputs(text: str) -> dict[str, Any]:
    return {name: output["value"] for name, output in json.loads(text).items()}
