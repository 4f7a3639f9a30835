"""Run terraform the one way this project runs it: non-interactive and able to work offline.

Provider installation is decided here and nowhere else:

* If a plugin directory holds ``hashicorp/aws`` (``TF_PLUGIN_DIR``, or a known mirror folder on
  this machine), terraform installs the provider from it (a filesystem mirror, symlinked, so
  nothing is copied) and never contacts the registry for it.
* Otherwise terraform downloads from the registry as on any normal machine, through a plugin
  cache under ``build/`` so that each module does not download its own copy.

Either way terraform reads the CLI configuration this module writes to ``build/terraform/``,
never the user's ``~/.terraformrc`` or whatever ``TF_CLI_CONFIG_FILE`` pointed at.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from snowplow_infra.paths import BUILD_DIR

MIN_VERSION = (1, 7, 0)  # terraform test with mock_provider (the module tests) needs 1.7
PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
PLUGIN_DIR_VARIABLE = "TF_PLUGIN_DIR"
CLI_CONFIG_PATH = BUILD_DIR / "terraform" / "cli.tfrc"
PLUGIN_CACHE_DIR = BUILD_DIR / "terraform" / "plugin-cache"

# Terraform's own implied local mirrors on Unix, plus the layout machine images use under /opt.
_CANDIDATE_PLUGIN_DIRS = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "/opt/*",
)


class TerraformError(RuntimeError):
    """terraform is missing, too old, or a terraform command failed."""


def find_binary() -> str | None:
    """Return the path of the terraform binary on PATH, if any."""
    return shutil.which("terraform")


def require_binary() -> str:
    binary = find_binary()
    if binary is None:
        raise TerraformError(
            "terraform is not on PATH. Install Terraform >= "
            f"{'.'.join(map(str, MIN_VERSION))} "
            "(https://developer.hashicorp.com/terraform/install) and run this again."
        )
    return binary


def version(binary: str) -> tuple[int, int, int]:
    """Return terraform's version as a tuple, e.g. (1, 11, 4)."""
    result = subprocess.run(
        [binary, "version", "-json"],
        capture_output=True,
        text=True,
        check=False,
        env=environment(),
    )
    try:
        text = json.loads(result.stdout)["terraform_version"]
        major, minor, patch = (int(part) for part in text.split("-")[0].split("."))
    except (ValueError, KeyError) as error:
        raise TerraformError(f"Could not read the version of {binary}: {result.stderr}") from error
    return major, minor, patch


def provider_versions(plugin_dir: Path) -> list[str]:
    """Versions of hashicorp/aws that a plugin directory holds, newest first."""
    folder = plugin_dir / PROVIDER_SOURCE
    if not folder.is_dir():
        return []
    return sorted(
        (p.name for p in folder.iterdir() if p.is_dir()),
        key=lambda v: tuple(int(x) if x.isdigit() else 0 for x in v.split(".")),
        reverse=True,
    )


def find_plugin_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The plugin directory to install hashicorp/aws from, or None to use the registry.

    ``TF_PLUGIN_DIR`` wins when set; otherwise the first known folder holding the provider.
    """
    explicit = environ.get(PLUGIN_DIR_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    for pattern in _CANDIDATE_PLUGIN_DIRS:
        for candidate in sorted(glob.glob(os.path.expanduser(pattern))):
            if provider_versions(Path(candidate)):
                return Path(candidate)
    return None


def cli_config_text(plugin_dir: Path | None) -> str:
    """The CLI configuration for a plugin directory (or for registry downloads when None)."""
    lines = ["# Written by snowplow-infra (scripts/snowplow_infra/terraform.py). Do not edit."]
    lines.append("disable_checkpoint = true")
    if plugin_dir is None:
        lines.append(f'plugin_cache_dir = "{PLUGIN_CACHE_DIR}"')
        return "\n".join(lines) + "\n"
    lines += [
        "provider_installation {",
        "  filesystem_mirror {",
        f'    path    = "{plugin_dir}"',
        f'    include = ["{PROVIDER_SOURCE}"]',
        "  }",
        "  direct {",
        f'    exclude = ["{PROVIDER_SOURCE}"]',
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def write_cli_config(plugin_dir: Path | None) -> Path:
    """Write the CLI configuration atomically (several terraform runs may start at once)."""
    text = cli_config_text(plugin_dir)
    CLI_CONFIG_PATH.parent.mkdir(parents=True, exist_ok=True)
    if plugin_dir is None:
        PLUGIN_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    if CLI_CONFIG_PATH.is_file() and CLI_CONFIG_PATH.read_text() == text:
        return CLI_CONFIG_PATH
    temporary = CLI_CONFIG_PATH.with_suffix(f".tmp{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, CLI_CONFIG_PATH)
    return CLI_CONFIG_PATH


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment for terraform: os.environ plus ``extra``, then the project's own
    settings (CLI config, no prompts), which ``extra`` cannot override."""
    env = dict(os.environ)
    if extra:
        env.update(extra)
    env["TF_CLI_CONFIG_FILE"] = str(write_cli_config(find_plugin_dir()))
    env["TF_IN_AUTOMATION"] = "1"
    env["TF_INPUT"] = "0"
    env.pop("TF_PLUGIN_CACHE_DIR", None)
    return env


# How long an interrupted terraform may take to stop gracefully (it tells its providers to stop,
# writes its state and exits) before it is killed.
INTERRUPT_GRACE_SECONDS = 60.0


def run(
    args: Sequence[str],
    cwd: Path,
    *,
    capture: bool = False,
    extra_env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``terraform ARGS`` in ``cwd``; unless ``check`` is False, raise TerraformError
    naming the command when it exits non-zero.

    On Ctrl-C (KeyboardInterrupt) terraform, which shares the terminal's process group and so
    received the same SIGINT, is given INTERRUPT_GRACE_SECONDS to stop its providers and exit
    before it is killed; the interrupt is then raised again. (subprocess.run would kill it after
    a quarter of a second, leaving its provider processes running.)
    """
    command = [require_binary(), *args]
    pipe = subprocess.PIPE if capture else None
    with subprocess.Popen(
        command, cwd=cwd, env=environment(extra_env), stdout=pipe, stderr=pipe, text=True
    ) as process:
        try:
            stdout, stderr = process.communicate()
        except KeyboardInterrupt:
            _let_stop(process)
            raise
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if check and result.returncode != 0:
        detail = f"\n{result.stderr.strip()}" if capture and result.stderr else ""
        raise TerraformError(
            f"`terraform {' '.join(args)}` failed in {cwd} (exit {result.returncode}).{detail}"
        )
    return result


def _let_stop(process: subprocess.Popen[str]) -> None:
    """Wait (bounded) for an interrupted terraform to exit by itself, then kill it if it has not.

    No second SIGINT is sent: terraform takes a second interrupt as "exit immediately", which is
    what leaves providers behind. A second Ctrl-C from the user ends the wait.
    """
    try:
        process.communicate(timeout=INTERRUPT_GRACE_SECONDS)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        process.kill()
        process.wait()


def init(module_dir: Path, *, backend: bool = False, capture: bool = True) -> None:
    """``terraform init`` without prompts; the backend is skipped unless asked for."""
    args = ["init", "-input=false", "-no-color"]
    if not backend:
        args.append("-backend=false")
    run(args, module_dir, capture=capture)
