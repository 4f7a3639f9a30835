"""The repository's own conventions stay true: the licence file is the one pyproject declares,
CODEOWNERS names paths that exist, and the pre-commit hooks run only local tools."""

from __future__ import annotations

import shutil
import tomllib

import yaml

from snowplow_infra.paths import REPO_ROOT

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
