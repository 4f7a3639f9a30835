"""The Lambda zip: byte-for-byte reproducible, exactly the expected files, hashed as Terraform."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from snowplow_infra import package_lambda, terraform
from snowplow_infra.package_lambda import PackagingError, package
from snowplow_infra.paths import LAMBDA_SOURCE_DIR
from tests.conftest import cli_path

# name -> (content, executable); every one of them belongs in the zip.
KEPT = {
    "handler.py": (b"def lambda_handler(event, context):\n    return {'records': []}\n", False),
    "allowlist.toml": (b'[fields]\nkeep = ["app_id"]\n', False),
    "rules/__init__.py": (b"", False),
    "rules/enriched.py": (b"FIELDS = 131\n", False),
    "rules/data/names.txt": ("caf\u00e9\n".encode(), False),
    "tools/check.sh": (b"#!/bin/sh\necho ok\n", True),
}
# Files and folders that must never reach the zip.
LEFT_OUT = (
    "__pycache__/handler.cpython-311.pyc",
    "rules/__pycache__/enriched.cpython-312.pyc",
    "handler.pyc",
    "tests/test_handler.py",
    "rules/test/helpers.py",
    "test_rules.py",
    "rules_test.py",
    "conftest.py",
    ".handler.py.swp",
    "handler.py~",
    "#handler.py#",
    ".#handler.py",
    ".DS_Store",
    ".idea/workspace.xml",
    ".pytest_cache/v/cache/nodeids",
    "pseudonymization.egg-info/PKG-INFO",
)
EXPECTED_ENTRIES = sorted([*KEPT, "rules/", "rules/data/", "tools/"])


def make_source(root: Path, *, umask: int, mtime: int) -> Path:
    """Write the test Lambda under ``root`` as if checked out with ``umask``, dated ``mtime``."""
    previous = os.umask(umask)
    try:
        for name, (content, executable) in KEPT.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            if executable:
                path.chmod(0o777 & ~umask)
        for name in LEFT_OUT:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
    finally:
        os.umask(previous)
    for path in [root, *root.rglob("*")]:
        os.utime(path, (mtime, mtime))
    return root


def build_with_cli(
    source: Path, output: Path, *, cwd: Path, umask: int, locale: str, tz: str
) -> tuple[bytes, str]:
    env = {**os.environ, "LC_ALL": locale, "LANG": locale, "TZ": tz}
    result = subprocess.run(
        [str(cli_path()), "package-lambda", "--source", str(source), "--output", str(output)],
        cwd=cwd,
        env=env,
        umask=umask,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return output.read_bytes(), result.stdout.strip()


def run_from_zip(zip_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Unpack the zip as Lambda does (into its own folder, /var/task there) and run ``code`` in a
    fresh, isolated interpreter that imports only from that folder."""
    task = zip_path.with_suffix(".task")
    with zipfile.ZipFile(zip_path) as bundle:
        bundle.extractall(task)
    return subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, sys.argv[1]); {code}", task],
        cwd=task.parent,
        capture_output=True,
        text=True,
        check=False,
    )


def test_two_builds_in_different_conditions_give_identical_bytes(tmp_path: Path) -> None:
    first = make_source(tmp_path / "a" / "src", umask=0o077, mtime=1_000_000_000)
    second = make_source(tmp_path / "b" / "deeper" / "checkout", umask=0o002, mtime=1_700_000_000)
    assert (first / "handler.py").stat().st_mode != (second / "handler.py").stat().st_mode
    one = build_with_cli(
        first, tmp_path / "out1" / "l.zip", cwd=tmp_path / "a", umask=0o077, locale="C", tz="UTC"
    )
    two = build_with_cli(
        second,
        tmp_path / "out2" / "l.zip",
        cwd=tmp_path,
        umask=0o022,
        locale="C.UTF-8",
        tz="Pacific/Auckland",
    )
    assert one == two
    assert one[1] == package_lambda.base64sha256(one[0])


def test_the_zip_lists_exactly_the_expected_entries_with_fixed_metadata(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", umask=0o022, mtime=1_600_000_000)
    built = package(source, tmp_path / "out" / "lambda.zip")
    with zipfile.ZipFile(built.zip_path) as bundle:
        infos = bundle.infolist()
        assert [i.filename for i in infos] == EXPECTED_ENTRIES
        for info in infos:
            mode = info.external_attr >> 16
            assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
            assert info.create_system == 3, info.filename
            if info.is_dir():
                assert mode == stat.S_IFDIR | 0o755, info.filename
                continue
            content, executable = KEPT[info.filename]
            assert bundle.read(info) == content
            assert mode == stat.S_IFREG | (0o755 if executable else 0o644), info.filename
            assert info.compress_type == zipfile.ZIP_DEFLATED
    assert built.entries == tuple(sorted(KEPT))


def test_one_changed_byte_changes_the_hash(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", umask=0o022, mtime=1_600_000_000)
    before = package(source, tmp_path / "one.zip").base64sha256
    path = source / "rules" / "enriched.py"
    path.write_bytes(path.read_bytes().replace(b"131", b"132"))
    after = package(source, tmp_path / "two.zip").base64sha256
    assert before != after


def test_the_hash_file_holds_exactly_the_base64_sha256_of_the_zip(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", umask=0o022, mtime=1_600_000_000)
    built = package(source, tmp_path / "lambda.zip")
    expected = base64.b64encode(hashlib.sha256(built.zip_path.read_bytes()).digest())
    assert built.hash_path == tmp_path / "lambda.zip.base64sha256"
    assert built.hash_path.read_bytes() == expected  # no trailing newline
    assert built.base64sha256 == expected.decode()


def test_an_unchanged_rebuild_leaves_the_files_untouched(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", umask=0o022, mtime=1_600_000_000)
    first = package(source, tmp_path / "lambda.zip")
    assert first.changed
    for path in (first.zip_path, first.hash_path):
        os.utime(path, ns=(1, 1))
    again = package(source, tmp_path / "lambda.zip")
    assert not again.changed
    assert [p.stat().st_mtime_ns for p in (again.zip_path, again.hash_path)] == [1, 1]
    assert stat.S_IMODE(again.zip_path.stat().st_mode) == 0o644


def test_a_new_zip_never_stands_beside_an_old_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path / "src", umask=0o022, mtime=1_600_000_000)
    built = package(source, tmp_path / "lambda.zip")
    (source / "handler.py").write_bytes(b"# changed\n")
    real_write = package_lambda._write_if_changed

    def no_room_for_the_hash(path: Path, data: bytes) -> bool:
        if path == built.hash_path:
            raise OSError(28, "No space left on device")
        return real_write(path, data)

    monkeypatch.setattr(package_lambda, "_write_if_changed", no_room_for_the_hash)
    with pytest.raises(OSError, match="No space left"):
        package(source, tmp_path / "lambda.zip")
    assert not built.hash_path.exists()


@pytest.mark.terraform
def test_terraform_filebase64sha256_agrees_with_the_hash_file(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", umask=0o022, mtime=1_600_000_000)
    built = package(source, tmp_path / "lambda.zip")
    result = subprocess.run(
        [terraform.require_binary(), "console"],
        input='filebase64sha256("lambda.zip")\n',
        cwd=tmp_path,
        env=terraform.environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == f'"{built.hash_path.read_text()}"'


def test_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", umask=0o022, mtime=1_600_000_000)
    (source / "linked.py").symlink_to(source / "handler.py")
    with pytest.raises(PackagingError, match=r"linked\.py is a symbolic link"):
        package(source, tmp_path / "lambda.zip")


def test_a_folder_with_nothing_to_package_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "__pycache__").mkdir(parents=True)
    (source / "__pycache__" / "x.pyc").write_bytes(b"x")
    with pytest.raises(PackagingError, match="holds no file to package"):
        package(source, tmp_path / "lambda.zip")
    assert not (tmp_path / "lambda.zip").exists()


def test_a_missing_source_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="does not exist"):
        package(tmp_path / "nowhere", tmp_path / "lambda.zip")


# --- requirements.txt -------------------------------------------------------------------------


def test_a_requirements_file_is_refused_not_installed_nor_left_out(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", umask=0o022, mtime=1_600_000_000)
    (source / "requirements.txt").write_text("tinypkg==1.0\n")
    with pytest.raises(PackagingError, match=r"requirements\.txt: the Lambda has no dependencies"):
        package(source, tmp_path / "lambda.zip")
    assert not (tmp_path / "lambda.zip").exists()


# --- the real Lambda folder -------------------------------------------------------------------


def test_the_real_lambda_folder_packages_into_a_loadable_zip(tmp_path: Path) -> None:
    """Whatever lambda/pseudonymization/ holds right now packages, and only those files."""
    sources = {
        p.relative_to(LAMBDA_SOURCE_DIR).as_posix(): p
        for p in LAMBDA_SOURCE_DIR.rglob("*")
        if p.is_file()
    }
    packageable = package_lambda.collect(LAMBDA_SOURCE_DIR) if LAMBDA_SOURCE_DIR.is_dir() else {}
    if not packageable:
        with pytest.raises(PackagingError):
            package(LAMBDA_SOURCE_DIR, tmp_path / "lambda.zip")
        return
    built = package(LAMBDA_SOURCE_DIR, tmp_path / "lambda.zip")
    with zipfile.ZipFile(built.zip_path) as bundle:
        files = {i.filename: bundle.read(i) for i in bundle.infolist() if not i.is_dir()}
    assert set(files) <= set(sources)
    for name, data in files.items():
        assert data == sources[name].read_bytes(), name
        assert "__pycache__" not in name and not name.endswith(".pyc"), name
        assert not any(part.startswith(".") for part in name.split("/")), name
    top_level_code = {
        n for n in sources if "/" not in n and n.endswith(".py") and not n.startswith("test_")
    }
    assert top_level_code <= set(files)
    if "handler.py" in files:
        loaded = run_from_zip(
            built.zip_path, "import handler; print(callable(handler.lambda_handler))"
        )
        assert loaded.stdout == "True\n", loaded.stderr


# --- the allowlist, validated by the Lambda's own code ------------------------------------------


def _lambda_copy(root: Path) -> Path:
    source = root / "pseudonymization"
    for path in LAMBDA_SOURCE_DIR.iterdir():
        if path.is_file() and path.suffix in (".py", ".toml", ".txt"):
            (source / path.name).parent.mkdir(parents=True, exist_ok=True)
            (source / path.name).write_bytes(path.read_bytes())
    return source


@pytest.mark.parametrize(
    "change",
    [
        ('"app_id",', '"app_id", "user_id",'),  # a never_keep field in keep
        ('keep = ["id"]', 'keep = ["id"]\nkeep_keys = ["id"]'),  # one path, two rules
        ("jsonschema/1-*-*", "jsonschema/1-x-*"),  # a malformed schema pattern
    ],
)
def test_an_allowlist_the_lambda_refuses_is_never_packaged(
    tmp_path: Path, change: tuple[str, str]
) -> None:
    source = _lambda_copy(tmp_path)
    allowlist_file = source / "allowlist.toml"
    text = allowlist_file.read_text(encoding="utf-8")
    assert change[0] in text
    allowlist_file.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    sys.path.insert(0, str(LAMBDA_SOURCE_DIR))
    try:
        from allowlist import load_allowlist  # noqa: PLC0415
        from errors import ConfigurationError  # noqa: PLC0415
    finally:
        sys.path.remove(str(LAMBDA_SOURCE_DIR))
    with pytest.raises(ConfigurationError) as lambda_refusal:
        load_allowlist(allowlist_file)
    output = tmp_path / "out" / "pseudonymization.zip"
    with pytest.raises(PackagingError) as refused:
        package(source, output)
    assert str(refused.value) == str(lambda_refusal.value), "the Lambda's own message"
    assert not output.exists()
    assert not list(source.rglob("__pycache__")), "the check leaves the source as it was"

    cli = subprocess.run(
        [str(cli_path()), "package-lambda", "--source", str(source), "--output",
         str(output)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert cli.returncode == 1
    assert cli.stderr.strip() == f"package-lambda: {lambda_refusal.value}"


def test_the_project_allowlist_passes_the_build_time_check(tmp_path: Path) -> None:
    built = package(_lambda_copy(tmp_path), tmp_path / "out" / "pseudonymization.zip")
    assert "allowlist.toml" in built.entries
