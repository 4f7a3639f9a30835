"""``snowplow-infra plan-seal``: keep a plan's full JSON encrypted while it is a CI artifact.

``terraform show -json`` writes every value in clear, the sensitive ones included (they are only
marked in ``after_sensitive``), so the full plan JSON must not be an artifact a project member
can download as it is. The plan job seals it with Fernet (the ``cryptography`` package: AES-128
in CBC mode with an HMAC-SHA256 over the whole token, so a changed or truncated file is refused,
never half-read) under a key from a masked CI/CD variable; the apply job unseals the reviewed plan
with the same key. ``plan-seal new-key`` prints a key to store in that variable.

The key is read from the environment variable ``--key-variable`` names, never from the command
line (where logs and process lists would show it), and is never printed by ``seal``/``unseal``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

DEFAULT_KEY_VARIABLE = "PLAN_ENCRYPTION_KEY"
EXIT_OK = 0
EXIT_REFUSED = 1  # the sealed file is not one this key sealed, or it was changed
EXIT_BAD_INPUT = 2


class SealError(ValueError):
    """The key is missing or malformed, or a file cannot be read or written."""


def key_from_environment(variable: str = DEFAULT_KEY_VARIABLE) -> Fernet:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise SealError(
            f"the environment variable {variable} is not set: store the output of "
            "`snowplow-infra plan-seal new-key` in a masked (and hidden) CI/CD variable of that "
            "name."
        )
    try:
        return Fernet(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SealError(
            f"the environment variable {variable} does not hold a Fernet key (32 bytes in "
            "URL-safe base64, 44 characters); make one with `snowplow-infra plan-seal new-key`."
        ) from None


def seal(source: Path, target: Path, key: Fernet) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(key.encrypt(_read(source)))


def unseal(source: Path, target: Path, key: Fernet) -> None:
    """Raise InvalidToken when ``source`` was not sealed with ``key`` or has been changed."""
    plain = key.decrypt(_read(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(plain)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SealError(f"{path} does not exist.") from None
    except OSError as error:
        raise SealError(f"cannot read {path}: {error.strerror}.") from None


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan-seal",
        help="encrypt or decrypt a plan's full JSON (or binary plan) for CI artifacts",
        description=(
            "seal SOURCE TARGET encrypts SOURCE with the Fernet key in the environment "
            "variable --key-variable names (authenticated: a changed file is refused); unseal "
            "SOURCE TARGET decrypts it; new-key prints a fresh key for that variable. "
            "Exit status: 0 done; 1 SOURCE was not sealed with this key or was changed; "
            "2 the key is missing or malformed, or a file cannot be read or written."
        ),
    )
    parser.add_argument("action", choices=("seal", "unseal", "new-key"))
    parser.add_argument("source", type=Path, nargs="?", metavar="SOURCE")
    parser.add_argument("target", type=Path, nargs="?", metavar="TARGET")
    parser.add_argument(
        "--key-variable",
        default=DEFAULT_KEY_VARIABLE,
        metavar="NAME",
        help="the environment variable holding the key (default: %(default)s)",
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    if args.action == "new-key":
        print(Fernet.generate_key().decode("ascii"))
        return EXIT_OK
    if args.source is None or args.target is None:
        print(f"plan-seal {args.action}: give SOURCE and TARGET.", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        key = key_from_environment(args.key_variable)
        if args.action == "seal":
            seal(args.source, args.target, key)
        else:
            unseal(args.source, args.target, key)
    except InvalidToken:
        print(
            f"plan-seal: {args.source} was not sealed with the key in {args.key_variable}, or "
            "it was changed since; it is not used.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    except SealError as error:
        print(f"plan-seal: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(f"plan-seal: cannot write {args.target}: {error.strerror}.", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"plan-seal: {args.action}ed {args.source} into {args.target}.")
    return EXIT_OK
