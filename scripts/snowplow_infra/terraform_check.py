"""``snowplow-infra check-terraform``: fmt, validate and test every module and environment."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from snowplow_infra import terraform
from snowplow_infra.paths import ENVIRONMENTS_DIR, MODULES_DIR, REPO_ROOT, TERRAFORM_DIR


def root_modules() -> list[Path]:
    """Every module and environment folder that holds Terraform files, modules first."""
    found: list[Path] = []
    for parent in (MODULES_DIR, ENVIRONMENTS_DIR):
        if parent.is_dir():
            found += sorted(p for p in parent.iterdir() if p.is_dir() and any(p.glob("*.tf")))
    # The account bootstrap, a root of its own applied once before the first pipeline.
    bootstrap = TERRAFORM_DIR / "bootstrap"
    if any(bootstrap.glob("*.tf")):
        found.append(bootstrap)
    return found


def has_tests(module: Path) -> bool:
    return any((module / "tests").glob("*.tftest.hcl"))


def check(modules: list[Path], *, run_tests: bool = True) -> None:
    """Run every check, printing one line per step; raise TerraformError on the first failure."""
    started = time.monotonic()
    terraform.run(["fmt", "-check", "-recursive", "-diff", "-no-color"], TERRAFORM_DIR)
    print(f"ok   terraform fmt -check -recursive {TERRAFORM_DIR.relative_to(REPO_ROOT)}")
    for module in modules:
        name = module.relative_to(REPO_ROOT)
        step = time.monotonic()
        terraform.init(module)
        terraform.run(["validate", "-no-color"], module, capture=True)
        done = ["init", "validate"]
        if run_tests and has_tests(module):
            terraform.run(["test", "-no-color"], module, capture=True)
            done.append("test")
        print(f"ok   {name}: {', '.join(done)} ({time.monotonic() - step:.1f} s)")
    print(f"All Terraform checks passed in {time.monotonic() - started:.1f} s.")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check-terraform",
        help="terraform fmt -check, then init, validate and test every module and environment",
        description=(
            "Check every Terraform root under terraform/modules and terraform/environments: "
            "formatting, `terraform validate` with the real AWS provider, and the module's "
            "native `terraform test` files (tests/*.tftest.hcl). Works offline when a provider "
            "mirror is available (see `snowplow-infra doctor`)."
        ),
    )
    parser.add_argument(
        "modules",
        nargs="*",
        type=Path,
        help="only these module folders (default: all of them)",
    )
    parser.add_argument("--no-tests", action="store_true", help="skip `terraform test`")
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    modules = [p.resolve() for p in args.modules] or root_modules()
    try:
        check(modules, run_tests=not args.no_tests)
    except terraform.TerraformError as error:
        print(f"FAIL {error}", file=sys.stderr)
        return 1
    return 0
