"""Where things live in the repository. Every other module asks here."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = REPO_ROOT / "build"
TERRAFORM_DIR = REPO_ROOT / "terraform"
MODULES_DIR = TERRAFORM_DIR / "modules"
ENVIRONMENTS_DIR = TERRAFORM_DIR / "environments"
LAMBDA_SOURCE_DIR = REPO_ROOT / "lambda" / "pseudonymization"
# checkov's own virtualenv, made by `make setup` (it pins packages that clash with the project's).
CHECKOV_BINARY = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


def environment_dir(name: str) -> Path:
    """Return the root module of a Terraform environment, failing clearly if it does not exist."""
    path = (ENVIRONMENTS_DIR / name).resolve()
    if not (path / "versions.tf").is_file():
        known = sorted(p.name for p in ENVIRONMENTS_DIR.iterdir() if p.is_dir())
        raise FileNotFoundError(
            f"There is no Terraform environment named {name!r} under {ENVIRONMENTS_DIR}; "
            f"known environments: {', '.join(known) or 'none'}."
        )
    return path
