"""``snowplow-infra doctor``: what this machine has, and how to fix what it lacks."""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from snowplow_infra import terraform
from snowplow_infra.paths import CHECKOV_BINARY, REPO_ROOT

MIN_PYTHON = (3, 11)
PROVIDER_CONSTRAINT = ((5, 100), (6, 0))  # "~> 5.100": at least 5.100, below 6.0
REGISTRY_PROBE = "https://registry.terraform.io/.well-known/terraform.json"


@dataclass(frozen=True)
class Finding:
    item: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    def line(self) -> str:
        if self.ok:
            return f"{'ok':<8} {self.item}: {self.detail}"
        label = "MISSING" if self.required else "optional"
        return f"{label:<8} {self.item}: {self.detail}. Fix: {self.fix}"


def check_python() -> Finding:
    found = ".".join(map(str, sys.version_info[:3]))
    wanted = ".".join(map(str, MIN_PYTHON))
    return Finding(
        "python",
        sys.version_info[:2] >= MIN_PYTHON,
        f"{found} ({sys.executable})"
        if sys.version_info[:2] >= MIN_PYTHON
        else f"{found} is older than {wanted}",
        f"install Python {wanted} or newer and run `make setup PYTHON=python{wanted}`",
    )


def check_terraform() -> Finding:
    wanted = ".".join(map(str, terraform.MIN_VERSION))
    fix = (
        f"install Terraform >= {wanted} (https://developer.hashicorp.com/terraform/install) "
        "and put it on PATH"
    )
    binary = terraform.find_binary()
    if binary is None:
        return Finding("terraform", False, "not found on PATH", fix)
    try:
        found = terraform.version(binary)
    except terraform.TerraformError as error:
        return Finding("terraform", False, str(error), fix)
    text = ".".join(map(str, found))
    if found < terraform.MIN_VERSION:
        return Finding("terraform", False, f"{text} at {binary} is older than {wanted}", fix)
    return Finding("terraform", True, f"{text} ({binary})")


def _satisfies_constraint(version_text: str) -> bool:
    try:
        parts = tuple(int(p) for p in version_text.split(".")[:2])
    except ValueError:
        return False
    low, high = PROVIDER_CONSTRAINT
    return low <= parts < high


def _registry_reachable() -> bool:
    try:
        with urllib.request.urlopen(REGISTRY_PROBE, timeout=3):
            return True
    except (urllib.error.URLError, TimeoutError, OSError):
        return False


def check_provider() -> Finding:
    item = "hashicorp/aws provider"
    plugin_dir = terraform.find_plugin_dir()
    if plugin_dir is not None:
        usable = [v for v in terraform.provider_versions(plugin_dir) if _satisfies_constraint(v)]
        if usable:
            return Finding(item, True, f"{usable[0]} from plugin directory {plugin_dir}")
        return Finding(
            item,
            False,
            f"plugin directory {plugin_dir} holds no hashicorp/aws version matching ~> 5.100",
            f"point {terraform.PLUGIN_DIR_VARIABLE} at a folder holding "
            f"{terraform.PROVIDER_SOURCE}/5.100.x/<os>_<arch>/, or unset it to use the registry",
        )
    if _registry_reachable():
        return Finding(
            item, True, "no plugin directory; terraform will download it from the registry"
        )
    return Finding(
        item,
        False,
        "no plugin directory found and registry.terraform.io is unreachable",
        f"set {terraform.PLUGIN_DIR_VARIABLE} to a filesystem mirror holding "
        f"{terraform.PROVIDER_SOURCE}/5.100.x/, or allow access to registry.terraform.io",
    )


def _module_finding(item: str, module: str, fix: str) -> Finding:
    if importlib.util.find_spec(module) is None:
        return Finding(item, False, f"Python module {module!r} is not importable", fix)
    return Finding(item, True, f"{module} importable")


def check_moto() -> Finding:
    return _module_finding(
        "moto (local AWS emulator)",
        "moto.server",
        "run `make setup` (installs moto[server] into .venv)",
    )


def check_checkov() -> Finding:
    if CHECKOV_BINARY.is_file():
        return Finding("checkov", True, str(CHECKOV_BINARY.relative_to(REPO_ROOT)))
    return Finding(
        "checkov",
        False,
        f"{CHECKOV_BINARY.relative_to(REPO_ROOT)} does not exist",
        "run `make setup` (checkov gets its own virtualenv because it pins its own python-hcl2)",
    )


def check_shellcheck() -> Finding:
    found = shutil.which("shellcheck")
    return Finding(
        "shellcheck",
        found is not None,
        found or "not on PATH (the user-data lint test is skipped)",
        "install it (Debian/Ubuntu: apt-get install shellcheck; macOS: brew install shellcheck)",
        required=False,
    )


CHECKS: tuple[Callable[[], Finding], ...] = (
    check_python,
    check_terraform,
    check_provider,
    check_moto,
    check_checkov,
    check_shellcheck,
)


def diagnose() -> list[Finding]:
    return [check() for check in CHECKS]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check this machine for everything the project needs, with a fix for each gap",
        description=(
            f"Check Python, terraform (>= {'.'.join(map(str, terraform.MIN_VERSION[:2]))}), "
            "whether the hashicorp/aws provider can be installed "
            "(plugin directory or registry), moto and checkov. Prints one line per item with a fix "
            "for anything missing; exits 1 if something required is missing."
        ),
    )
    parser.set_defaults(handler=_main)


def _main(_: argparse.Namespace) -> int:
    findings = diagnose()
    for finding in findings:
        print(finding.line())
    missing = [f.item for f in findings if f.required and not f.ok]
    if missing:
        print(f"\n{len(missing)} required item(s) missing: {', '.join(missing)}.")
        return 1
    print("\nEverything required is here.")
    return 0
