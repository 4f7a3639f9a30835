"""The vendored schemas: unchanged copies with provenance, and the refresh command."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from snowplow_infra import cli
from snowplow_infra.vendored_schemas import (
    SCHEMAS_DIR,
    SOURCES_FILE,
    VendoredSchemaError,
    load_sources,
    property_paths,
    refresh,
    vendored_schemas,
)


def test_every_vendored_file_is_recorded_with_its_source_and_checksum() -> None:
    sources = load_sources()
    recorded = {}
    for repository, entry in sources["repositories"].items():
        for file in entry.get("files", []):
            assert entry["commit"] and len(entry["commit"]) == 40, repository
            recorded[file["path"]] = file["sha256"]
    on_disk = {
        str(schema.path.relative_to(SCHEMAS_DIR)): hashlib.sha256(
            schema.path.read_bytes()
        ).hexdigest()
        for schema in vendored_schemas()
    }
    assert on_disk == recorded, "a vendored schema was edited, added or removed by hand"
    for repository, entry in sources["repositories"].items():
        if entry.get("files"):
            assert (SCHEMAS_DIR / "licenses" / f"{repository.replace('/', '+')}.LICENSE").is_file()


def test_property_paths_follow_nested_objects_array_items_and_alternatives() -> None:
    schema = {
        "properties": {
            "a": {"type": "string"},
            "b": {"properties": {"c": {"type": "integer"}}},
            "d": {"type": "array", "items": {"properties": {"e": {}}}},
            "f": {"oneOf": [{"properties": {"g": {}}}, {"properties": {"h": {}}}]},
        }
    }
    assert property_paths(schema) == [
        (("a",), False),
        (("b",), True),
        (("b", "c"), False),
        (("d",), True),
        (("d", "e"), False),
        (("f",), True),
        (("f", "g"), False),
        (("f", "h"), False),
    ]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "iglu"
    schema = repo / "public" / "schemas" / "com.example" / "thing" / "jsonschema" / "1-0-0"
    schema.parent.mkdir(parents=True)
    document = {
        "self": {"vendor": "com.example", "name": "thing", "format": "jsonschema",
                 "version": "1-0-0"},
        "properties": {"kind": {"type": "string"}},
    }  # fmt: skip
    schema.write_text(json.dumps(document) + "\n", encoding="utf-8")
    (repo / "LICENSE").write_text("MIT\n", encoding="utf-8")
    (repo / "README.md").write_text("not a schema\n", encoding="utf-8")
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "x")
    return repo


def test_refresh_copies_the_selected_files_unchanged_and_records_them(
    checkout: Path, tmp_path: Path
) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    sources = schemas / "sources.json"
    sources.write_text(
        json.dumps({"repositories": {"example/iglu": {
            "url": "https://example.invalid/iglu", "license": "MIT", "license_file": "LICENSE",
            "schema_root": "public/schemas", "include": ["com.example/*/jsonschema/*"],
        }}}),
        encoding="utf-8",
    )  # fmt: skip
    (checkout / "public/schemas/com.example/thing/jsonschema/1-0-0").write_text("edited\n")
    paths = refresh("example/iglu", checkout, sources, schemas)
    assert paths == ["com.example/thing/jsonschema/1-0-0"]
    copied = schemas / paths[0]
    committed = subprocess.run(
        ["git", "-C", str(checkout), "show", "HEAD:public/schemas/" + paths[0]],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert copied.read_bytes() == committed, "HEAD is vendored, not the edited work tree"
    entry = json.loads(sources.read_text())["repositories"]["example/iglu"]
    assert len(entry["commit"]) == 40
    assert entry["files"] == [{
        "path": paths[0], "source_path": "public/schemas/" + paths[0],
        "sha256": hashlib.sha256(committed).hexdigest(),
    }]  # fmt: skip
    assert (schemas / "licenses" / "example+iglu.LICENSE").read_text() == "MIT\n"
    assert [schema.uri for schema in vendored_schemas(schemas)] == [
        "iglu:com.example/thing/jsonschema/1-0-0"
    ]


def test_refresh_refuses_an_unknown_repository_and_a_path_that_is_not_a_checkout(
    tmp_path: Path,
) -> None:
    sources = tmp_path / "sources.json"
    shutil.copy(SOURCES_FILE, sources)
    with pytest.raises(VendoredSchemaError, match="no repository 'nobody/nothing'"):
        refresh("nobody/nothing", tmp_path, sources, tmp_path)
    with pytest.raises(VendoredSchemaError, match="failed in the checkout"):
        refresh("gitlab-org/iglu", tmp_path / "missing", sources, tmp_path)


def test_the_command_exits_2_with_a_sentence_on_a_bad_checkout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["refresh-schemas", "--checkout", f"nobody/nothing={tmp_path}"])
    assert code == 2
    assert "no repository 'nobody/nothing'" in capsys.readouterr().out


def test_a_schema_whose_self_does_not_match_its_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "com.example" / "thing" / "jsonschema" / "1-0-0"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"self": {"vendor": "com.example", "name": "other",
                                         "format": "jsonschema", "version": "1-0-0"}}))  # fmt: skip
    with pytest.raises(VendoredSchemaError, match="does not describe itself"):
        list(vendored_schemas(tmp_path))
