"""``snowplow-infra package-lambda``: the pseudonymization Lambda as a reproducible zip.

The zip holds the files of ``lambda/pseudonymization/`` at its root and nothing else: the
function uses the standard library and the runtime's own boto3, so there are no dependencies to
install, and a ``requirements.txt`` in the folder is refused rather than silently left out. Its
bytes depend only on the file names, contents and executable bits:

* entries sorted by name, folders included, each dated 1980-01-01 00:00 (the zip epoch);
* permissions 0644 for files, 0755 for executables and folders, Unix as the creating system;
* deflate at level 9 (the bytes of a level are zlib's: the same zlib gives the same zip);
* no ``__pycache__``, ``.pyc``, tests, hidden or editor files.

Before it builds anything, it validates the allowlist with the Lambda's own code: when the source
holds ``allowlist.py``, a fresh interpreter imports it from the source and loads the allowlist
exactly as the Lambda does at start-up, so a zip the Lambda would refuse is never built, and the
error is the Lambda's own message.

So umask, mtimes, checkout path, locale and machine do not change the zip, and a rebuild of
unchanged sources leaves ``build/lambda/pseudonymization.zip`` untouched. Beside it,
``pseudonymization.zip.base64sha256`` holds exactly what Terraform's ``filebase64sha256()``
returns for it (no newline), which Terraform uses as the function's ``source_code_hash``.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import io
import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from snowplow_infra import pipeline
from snowplow_infra.paths import BUILD_DIR, LAMBDA_SOURCE_DIR

ZIP_PATH = BUILD_DIR / "lambda" / "pseudonymization.zip"
HASH_SUFFIX = ".base64sha256"
REQUIREMENTS_FILE = "requirements.txt"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
COMPRESSION_LEVEL = 9
FILE_MODE = 0o644
EXECUTABLE_MODE = 0o755
FOLDER_MODE = 0o755
UNIX = 3  # the zip "version made by" host system: permissions live in the external attributes

# Never packaged from the source folder. Hidden names (starting with ".") are skipped as well:
# .git, .pytest_cache, .venv, .DS_Store, vim's .*.swp, emacs' .#lock files...
EXCLUDED_FOLDERS = ("__pycache__", "tests", "test", "*.egg-info", "node_modules")
EXCLUDED_FILES = (
    "*.pyc",
    "*.pyo",
    "*~",
    "#*#",
    "*.swp",
    "*.swo",
    "*.bak",
    "*.orig",
    "*.rej",
    "Thumbs.db",
    "test_*.py",
    "*_test.py",
    "conftest.py",
)


#: The Lambda module whose load_allowlist() validates allowlist.toml at start-up.
ALLOWLIST_VALIDATOR = "allowlist.py"
_INVALID_ALLOWLIST_EXIT = 3
# Run in a fresh, isolated interpreter (-I: no PYTHON* variables, no user site; -B: no
# __pycache__ in the source), with the source first on sys.path as the Lambda runtime has it.
_VALIDATE_ALLOWLIST = f"""
import sys
sys.path.insert(0, sys.argv[1])
from errors import ConfigurationError
try:
    import allowlist
    allowlist.load_allowlist()
except ConfigurationError as error:
    print(error, file=sys.stderr)
    sys.exit({_INVALID_ALLOWLIST_EXIT})
"""


class PackagingError(RuntimeError):
    """The Lambda cannot be packaged; the message names the path or the command at fault."""


def validate_allowlist(source: Path) -> None:
    """Refuse a source whose allowlist its own ``allowlist.py`` refuses, with the Lambda's message.

    A source without ``allowlist.py`` has no allowlist to validate.
    """
    if not (source / ALLOWLIST_VALIDATOR).is_file():
        return
    command = [sys.executable, "-I", "-B", "-c", _VALIDATE_ALLOWLIST, str(source)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode == _INVALID_ALLOWLIST_EXIT:
        raise PackagingError(result.stderr.strip())
    if result.returncode != 0:
        raise PackagingError(
            f"validating the allowlist with {source / ALLOWLIST_VALIDATOR} failed "
            f"(exit {result.returncode}):\n{result.stderr.strip()}"
        )


@dataclass(frozen=True)
class Package:
    zip_path: Path
    hash_path: Path
    base64sha256: str
    entries: tuple[str, ...]
    changed: bool


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def collect(
    root: Path,
    skip_folders: Iterable[str] = EXCLUDED_FOLDERS,
    skip_files: Iterable[str] = EXCLUDED_FILES,
    *,
    skip_hidden: bool = True,
) -> dict[str, Path]:
    """Archive name (POSIX, relative to ``root``) to file, for every file to package."""
    skip_folders, skip_files = tuple(skip_folders), tuple(skip_files)

    def skipped(name: str, patterns: tuple[str, ...]) -> bool:
        return _matches(name, patterns) or (skip_hidden and name.startswith("."))

    found: dict[str, Path] = {}
    for directory, subfolders, names in os.walk(root):
        here = Path(directory)
        subfolders[:] = sorted(name for name in subfolders if not skipped(name, skip_folders))
        for name in subfolders + [n for n in names if not skipped(n, skip_files)]:
            path = here / name
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                raise PackagingError(
                    f"{path} is a symbolic link or not a regular file; the package holds regular "
                    "files only, so that its bytes do not depend on what a link points at."
                )
            if path.is_file():
                found[path.relative_to(root).as_posix()] = path
    return found


def _zip_info(name: str, *, folder: bool, executable: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name + "/" if folder else name, date_time=ZIP_EPOCH)
    info.create_system = UNIX
    if folder:
        info.external_attr = (stat.S_IFDIR | FOLDER_MODE) << 16 | 0x10  # 0x10: MS-DOS folder
        info.CRC = info.compress_size = info.file_size = 0  # ZipFile.mkdir leaves them unset
    else:
        mode = EXECUTABLE_MODE if executable else FILE_MODE
        info.external_attr = (stat.S_IFREG | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
    return info


def archive(files: Mapping[str, Path]) -> bytes:
    """The zip of these files (archive name to path) with every parent folder, as bytes."""
    folders = {str(parent) for name in files for parent in PurePosixPath(name).parents}
    folders.discard(".")
    entries = sorted([(name, None) for name in folders] + list(files.items()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, path in entries:
            if path is None:
                bundle.mkdir(_zip_info(name, folder=True))
                continue
            executable = bool(path.stat().st_mode & stat.S_IXUSR)
            info = _zip_info(name, folder=False, executable=executable)
            bundle.writestr(info, path.read_bytes(), compresslevel=COMPRESSION_LEVEL)
    return buffer.getvalue()


def base64sha256(data: bytes) -> str:
    """What Terraform's filebase64sha256() returns for a file holding ``data``."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace ``path`` with ``data`` (mode 0644) unless it already holds just that."""
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def package(source: Path, output: Path) -> Package:
    """Build ``output`` (and ``output`` + .base64sha256) from ``source``."""
    if not source.is_dir():
        raise PackagingError(f"the Lambda source folder {source} does not exist.")
    requirements = source / REQUIREMENTS_FILE
    if requirements.exists():
        raise PackagingError(
            f"{requirements}: the Lambda has no dependencies to install (it uses the standard "
            "library and the runtime's boto3), and package-lambda installs none; vendor a "
            "pure-Python module into the folder instead, or remove the file "
            "(docs/build-artifacts.md)."
        )
    validate_allowlist(source)
    files = collect(source)
    if not files:
        raise PackagingError(
            f"{source} holds no file to package (after excluding tests, caches, hidden and "
            "editor files)."
        )
    data = archive(files)
    digest = base64sha256(data)
    hash_path = output.with_name(output.name + HASH_SUFFIX)
    if not (output.is_file() and output.read_bytes() == data):
        # Never leave a new zip beside an old hash: without a hash file Terraform fails loudly.
        hash_path.unlink(missing_ok=True)
    changed = _write_if_changed(output, data)
    changed = _write_if_changed(hash_path, digest.encode("ascii")) or changed
    return Package(output, hash_path, digest, tuple(sorted(files)), changed)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "package-lambda",
        help="build the pseudonymization Lambda zip, byte-for-byte reproducibly",
        description=(
            "Zip lambda/pseudonymization/ into build/lambda/pseudonymization.zip with sorted "
            "entries, 1980-01-01 timestamps, 0644/0755 permissions and a fixed compression "
            "level, leaving out caches, tests, hidden and editor files. Writes "
            "pseudonymization.zip.base64sha256 beside it (what Terraform's filebase64sha256() "
            "returns) and prints that hash. Unchanged sources give the identical file, which is "
            "then left untouched."
        ),
        epilog="See docs/build-artifacts.md for what is excluded and why the bytes are stable.",
    )
    parser.add_argument(
        "--source", type=Path, default=LAMBDA_SOURCE_DIR, metavar="DIR", help="the Lambda folder"
    )
    parser.add_argument(
        "--output", type=Path, default=ZIP_PATH, metavar="ZIP", help="the zip to write"
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        built = package(args.source, args.output)
    except (PackagingError, FileNotFoundError) as error:
        print(f"package-lambda: {error}", file=sys.stderr)
        return 1
    state = "written" if built.changed else "unchanged"
    print(
        f"{pipeline.display_path(built.zip_path)}: {len(built.entries)} files, "
        f"{built.zip_path.stat().st_size} bytes, {state}",
        file=sys.stderr,
    )
    print(built.base64sha256)
    return 0
