"""The vendored Iglu schemas under schemas/: what they are, where they came from, how to refresh.

``schemas/sources.json`` names, per public repository, its licence and the files to take (globs
relative to the repository's schema root); after a refresh it also records the commit and, per
file, its path there and SHA-256. The files are copied byte for byte into
``schemas/<vendor>/<name>/jsonschema/<version>`` (the Iglu layout, as in the repositories).

There is no internet on the build machines, so ``snowplow-infra refresh-schemas`` reads a local
git checkout (a work tree or a bare mirror) of each repository::

    snowplow-infra refresh-schemas --checkout snowplow/iglu-central=/path/to/iglu-central

It reads the files of the checkout's HEAD with git (so uncommitted edits are never vendored),
replaces the vendored files of that repository, and rewrites sources.json. Repositories not
given keep their files.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snowplow_infra.paths import REPO_ROOT

SCHEMAS_DIR = REPO_ROOT / "schemas"
SOURCES_FILE = SCHEMAS_DIR / "sources.json"


class VendoredSchemaError(RuntimeError):
    """The sources file, a checkout or a vendored schema cannot be used as it is."""


@dataclass(frozen=True)
class VendoredSchema:
    """One vendored schema file and its Iglu key."""

    vendor: str
    name: str
    version: str
    path: Path
    document: Mapping[str, Any]

    @property
    def uri(self) -> str:
        return f"iglu:{self.vendor}/{self.name}/jsonschema/{self.version}"


def load_sources(path: Path = SOURCES_FILE) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VendoredSchemaError(f"Cannot read the schema sources file {path}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("repositories"), dict):
        raise VendoredSchemaError(f"{path} must be an object with a 'repositories' object.")
    return document


def vendored_schemas(schemas_dir: Path = SCHEMAS_DIR) -> Iterator[VendoredSchema]:
    """Every vendored schema, in path order; a file that is not a self-describing schema whose
    ``self`` matches its path is an error naming the file."""
    for path in sorted(schemas_dir.glob("*/*/jsonschema/*")):
        vendor, name, _, version = path.relative_to(schemas_dir).parts
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise VendoredSchemaError(f"Cannot read the vendored schema {path}: {error}") from None
        described = document.get("self") if isinstance(document, dict) else None
        expected = {"vendor": vendor, "name": name, "format": "jsonschema", "version": version}
        if not isinstance(described, dict) or any(
            described.get(key) != value for key, value in expected.items()
        ):
            raise VendoredSchemaError(
                f"The vendored schema {path} does not describe itself as "
                f"iglu:{vendor}/{name}/jsonschema/{version}."
            )
        yield VendoredSchema(vendor, name, version, path, document)


def _git(checkout: Path, *args: str) -> bytes:
    try:
        result = subprocess.run(
            ["git", "-C", str(checkout), *args], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError) as error:
        raise VendoredSchemaError(
            f"git {' '.join(args[:2])} failed in the checkout {checkout}; give a git work tree "
            "or bare repository of the schema repository."
        ) from error
    return result.stdout


def refresh(
    repository: str,
    checkout: Path,
    sources_path: Path = SOURCES_FILE,
    schemas_dir: Path = SCHEMAS_DIR,
) -> list[str]:
    """Copy the selected files of ``repository`` from ``checkout``'s HEAD; return their paths."""
    sources = load_sources(sources_path)
    entry = sources["repositories"].get(repository)
    if not isinstance(entry, dict):
        known = ", ".join(sorted(sources["repositories"]))
        raise VendoredSchemaError(
            f"{sources_path} has no repository {repository!r}; known: {known}."
        )
    root = str(entry["schema_root"]).strip("/")
    commit = _git(checkout, "rev-parse", "HEAD").decode().strip()
    names = _git(checkout, "ls-tree", "-r", "--name-only", "HEAD", "--", root).decode().split("\n")
    selected = sorted(
        name
        for name in names
        if name
        and any(fnmatch.fnmatchcase(name[len(root) + 1 :], glob) for glob in entry["include"])
    )
    if not selected:
        raise VendoredSchemaError(
            f"The checkout {checkout} of {repository} has no file under {root}/ matching "
            f"{', '.join(entry['include'])}."
        )
    for old in entry.get("files", []):
        (schemas_dir / old["path"]).unlink(missing_ok=True)
    files = []
    for name in selected:
        content = _git(checkout, "show", f"HEAD:{name}")
        relative = name[len(root) + 1 :]
        target = schemas_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        files.append(
            {"path": relative, "source_path": name, "sha256": hashlib.sha256(content).hexdigest()}
        )
    license_text = _git(checkout, "show", f"HEAD:{entry['license_file']}")
    licenses = schemas_dir / "licenses"
    licenses.mkdir(parents=True, exist_ok=True)
    (licenses / f"{repository.replace('/', '+')}.LICENSE").write_bytes(license_text)
    entry["commit"] = commit
    entry["files"] = files
    sources_path.write_text(json.dumps(sources, indent=2) + "\n", encoding="utf-8")
    return [file["path"] for file in files]


def _checkout_argument(text: str) -> tuple[str, Path]:
    repository, sep, path = text.partition("=")
    if not sep or not repository or not path:
        raise argparse.ArgumentTypeError(f"{text!r} is not OWNER/NAME=PATH")
    return repository, Path(path)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "refresh-schemas",
        help="copy the vendored Iglu schemas again from local checkouts of their repositories",
        description=(
            "Copy the schemas listed in schemas/sources.json from local git checkouts (HEAD) of "
            "their repositories into schemas/, unchanged, and record the commit and checksums."
        ),
    )
    parser.add_argument(
        "--checkout",
        action="append",
        required=True,
        type=_checkout_argument,
        metavar="OWNER/NAME=PATH",
        help="a repository of sources.json and the path of its local checkout (repeatable)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    checkouts: Sequence[tuple[str, Path]] = args.checkout
    try:
        for repository, checkout in checkouts:
            paths = refresh(repository, checkout)
            print(f"{repository}: {len(paths)} schema files vendored from {checkout}.")
    except VendoredSchemaError as error:
        print(error)
        return 2
    return 0


def property_paths(schema: Mapping[str, Any]) -> list[tuple[tuple[str, ...], bool]]:
    """The property paths a schema declares, as (path, has_sub_properties), in schema order.

    Paths are keys inside the entity's data, the way the allowlist names them: the properties of
    array items are under their array's path, and the alternatives of ``oneOf``, ``anyOf`` and
    ``allOf`` all count. A path declared by several alternatives appears once.
    """
    found: dict[tuple[str, ...], bool] = {}
    _walk(schema, (), found)
    return list(found.items())


def _walk(node: Any, path: tuple[str, ...], found: dict[tuple[str, ...], bool]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, path, found)
        return
    if not isinstance(node, dict):
        return
    properties = node.get("properties")
    if isinstance(properties, dict):
        if path:
            found[path] = True
        for key, sub in properties.items():
            child = (*path, key)
            found.setdefault(child, False)
            _walk(sub, child, found)
    for keyword in ("items", "oneOf", "anyOf", "allOf"):
        if keyword in node:
            _walk(node[keyword], path, found)
