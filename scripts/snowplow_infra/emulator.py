"""The local AWS emulator: moto server on 127.0.0.1, and the environment that points clients at it.

terraform and boto3 are pointed at the emulator only through environment variables
(``AWS_ENDPOINT_URL`` and fake credentials), so the Terraform configuration that runs locally is
byte-for-byte the one CI plans against real AWS.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
START_TIMEOUT_SECONDS = 30


class EmulatorError(RuntimeError):
    """moto server could not be started or reached."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def client_environment(endpoint: str, region: str) -> dict[str, str]:
    """Variables that point terraform's AWS provider and boto3 at the emulator."""
    return {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # moto answers unimplemented calls with HTTP 500; default retries would hang for minutes.
        "AWS_MAX_ATTEMPTS": "2",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


# Variables that would make a client use real credentials or a real account instead.
CLEARED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


def terraform_environment(endpoint: str, region: str) -> dict[str, str]:
    """What terraform.run's ``extra_env`` needs to use the emulator: the client variables, and the
    variables that would reach a real account set empty (terraform's SDK treats empty as unset;
    boto3 does not, so Python clients use process_environment instead)."""
    cleared = dict.fromkeys(CLEARED_VARIABLES, "")
    return cleared | client_environment(endpoint, region)


def process_environment(endpoint: str, region: str) -> dict[str, str]:
    """The whole environment for a child process (terraform, a demo step) that uses the emulator."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_VARIABLES}
    return env | client_environment(endpoint, region)


@dataclass(frozen=True)
class Endpoint:
    """A moto server reachable on a port of 127.0.0.1, and the environments that point at it."""

    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self, region: str) -> dict[str, str]:
        """The full process environment of a child (not terraform) that talks to the server."""
        return process_environment(self.endpoint, region)

    def terraform_environment(self, region: str) -> dict[str, str]:
        """What terraform.run's ``extra_env`` needs to talk to the server."""
        return terraform_environment(self.endpoint, region)

    def client_environment(self, region: str) -> dict[str, str]:
        """Only the variables that point a client at the server."""
        return client_environment(self.endpoint, region)


@dataclass(frozen=True)
class Emulator(Endpoint):
    """A moto server this process started, whose log is written under ``state_dir``."""

    process: subprocess.Popen[bytes]
    state_dir: Path

    def stop(self) -> None:
        """Stop the server and wait for it; safe to call twice."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def is_up(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start(
    state_dir: Path, port: int | None = None, settings: Mapping[str, str] | None = None
) -> Emulator:
    """Start moto server on 127.0.0.1 (a free port unless given) and wait until it answers.

    ``settings`` are extra environment variables for the server (moto's own switches)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise EmulatorError(f"Port {port} on 127.0.0.1 is already in use; choose another.")
    with (state_dir / "moto.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **FAKE_CREDENTIALS, **(settings or {})},
            start_new_session=True,  # Ctrl-C in the terminal is handled by us, not sent to moto.
        )
    emulator = Emulator(port=port, process=process, state_dir=state_dir)
    try:
        _wait_until_up(emulator)
    except BaseException:  # Ctrl-C while waiting included: never leave a server behind.
        emulator.stop()
        raise
    return emulator


def _wait_until_up(emulator: Emulator) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if emulator.process.poll() is not None:
            raise EmulatorError(
                f"moto server exited with code {emulator.process.returncode} before answering; "
                f"see {emulator.state_dir / 'moto.log'}."
            )
        if is_up(emulator.endpoint):
            return
        time.sleep(0.2)
    raise EmulatorError(
        f"moto server did not answer on {emulator.endpoint} within {START_TIMEOUT_SECONDS} s; "
        f"see {emulator.state_dir / 'moto.log'}."
    )
