"""The repository's own conventions stay true: the licence file is the one pyproject declares,
CODEOWNERS names paths that exist, the pre-commit hooks run only local tools, every Terraform root
and module asks for the same Terraform version as the tooling, and the Snowplow licence is linked
at one version, and no file points at this project's issue tracker (the word "issue" and a
number): code and docs say why, not which ticket asked."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib

import yaml

from snowplow_infra import terraform
from snowplow_infra.paths import REPO_ROOT, TERRAFORM_DIR

CODEOWNERS = REPO_ROOT / ".gitlab" / "CODEOWNERS"
PRE_COMMIT_CONFIG = REPO_ROOT / ".pre-commit-config.yaml"


def test_the_licence_file_is_the_licence_pyproject_declares() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["license-files"] == ["LICENSE"]
    first_line = (REPO_ROOT / "LICENSE").read_text().splitlines()[0]
    assert first_line == f"{project['license']} License"


def _owned_paths() -> list[str]:
    paths = []
    for line in CODEOWNERS.read_text().splitlines():
        entry = line.strip()
        if entry and not entry.startswith(("#", "[")):
            paths.append(entry.split()[0])
    return paths


def test_every_codeowners_path_exists() -> None:
    paths = _owned_paths()
    assert paths
    missing = [path for path in paths if not (REPO_ROOT / path.strip("/")).exists()]
    assert not missing, f"{CODEOWNERS} names paths that do not exist: {missing}"


def test_codeowners_placeholders_are_marked_for_replacement() -> None:
    text = CODEOWNERS.read_text()
    owners = {word for line in text.splitlines() if line.startswith("[") for word in line.split()}
    placeholders = {owner for owner in owners if owner.startswith("@example-org/")}
    assert placeholders
    assert "REPLACE BEFORE USE" in text


def test_pre_commit_hooks_are_local_tools_that_exist() -> None:
    config = yaml.safe_load(PRE_COMMIT_CONFIG.read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    for hook in hooks:
        assert hook["language"] == "system", hook["id"]
        program = hook["entry"].split()[0]
        if program == "env":  # env VARIABLE=value PROGRAM ...
            program = next(w for w in hook["entry"].split()[1:] if "=" not in w)
        found = (REPO_ROOT / program).is_file() if "/" in program else shutil.which(program)
        assert found, f"{PRE_COMMIT_CONFIG}: hook {hook['id']} runs {program}, which is missing"


def test_make_lint_runs_the_pre_commit_hooks() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "pre-commit run --all-files" in lint


def test_every_terraform_root_and_module_requires_the_tooling_s_minimum_version() -> None:
    wanted = ".".join(map(str, terraform.MIN_VERSION[:2]))
    files = sorted(TERRAFORM_DIR.glob("**/versions.tf"))
    files = [path for path in files if ".terraform" not in path.parts]
    assert files
    for path in files:
        found = re.findall(r'required_version\s*=\s*"([^"]*)"', path.read_text())
        assert found == [f">= {wanted}"], f"{path}: required_version is {found}"


def test_the_snowplow_licence_is_linked_at_one_version() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    versions: dict[str, set[str]] = {}
    for name in filter(None, tracked):
        path = REPO_ROOT / name
        if name.startswith("tests/fixtures/") or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for version in re.findall(r"docs\.snowplow\.io/limited-use-license-([0-9.]*[0-9])", text):
            versions.setdefault(version, set()).add(name)
    assert len(versions) == 1, f"the Snowplow licence is linked at several versions: {versions}"


# The word "issue" or "issues", then a number (with or without "#"): a ticket of this project's
# tracker.
_TRACKER_REFERENCE = re.compile(r"\bissues? #?\d+", re.IGNORECASE)
# Issues of other projects may be cited, with the project named on the same line.
_OTHER_PROJECT = re.compile(r"terraform-provider-\w+ issue|github\.com/|gitlab\.com/\S+/-/issues")


def test_no_file_refers_to_this_projects_issue_tracker() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    found = []
    for name in filter(None, tracked):
        path = REPO_ROOT / name
        if name.startswith("tests/fixtures/") or name == "package-lock.json" or not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(lines, start=1):
            if _TRACKER_REFERENCE.search(line) and not _OTHER_PROJECT.search(line):
                found.append(f"{name}:{number}: {line.strip()[:80]}")
    assert not found, "tracker references (say why instead):\n" + "\n".join(found)


# Paths whose changes are privacy decisions: each needs an owner in a section of the
# data-protection group and in the infrastructure owners' section.
PRIVACY_CRITICAL = (
    "lambda/pseudonymization/allowlist.toml",
    "lambda/pseudonymization/handler.py",
    "schemas/decisions.toml",
    "schemas/sources.json",
    "policies/",
    ".gitlab-ci.yml",
    ".gitlab/CODEOWNERS",
)


def _sections() -> dict[str, tuple[list[str], list[str]]]:
    """Section name -> (owners, paths)."""
    sections: dict[str, tuple[list[str], list[str]]] = {}
    current: tuple[list[str], list[str]] | None = None
    for line in CODEOWNERS.read_text().splitlines():
        entry = line.strip()
        if entry.startswith("["):
            name = entry[1 : entry.index("]")]
            current = sections.setdefault(name, ([], []))
            current[0].extend(word for word in entry.split()[1:] if word.startswith("@"))
        elif entry and not entry.startswith("#") and current is not None:
            current[1].append(entry.split()[0])
    return sections


def _covers(pattern: str, path: str) -> bool:
    pattern = pattern.lstrip("/")
    return path == pattern or (pattern.endswith("/") and path.startswith(pattern))


def test_each_privacy_critical_path_needs_the_privacy_and_the_infra_owners() -> None:
    sections = _sections()
    for path in PRIVACY_CRITICAL:
        owners = {
            owner
            for section_owners, paths in sections.values()
            if any(_covers(pattern, path) for pattern in paths)
            for owner in section_owners
        }
        assert "@example-org/data-protection" in owners, path
        assert "@example-org/snowplow-infra" in owners, path
