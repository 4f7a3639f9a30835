"""The emulator's lifetime across commands: started by one, found by the next, stopped by ``down``.

``emulator.start`` runs moto server in its own session, so it outlives the command that started
it. The command records the server's pid and port in ``<work dir>/emulator.json``; later commands
find it there and check that the process is still that moto server (its command line names
``moto.server`` and the port) and that it answers. moto keeps everything in memory: when the
process is gone, so is every resource Terraform created in it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from snowplow_infra import emulator

RECORD_FILE_NAME = "emulator.json"
STOP_TIMEOUT_SECONDS = 10.0
# moto's own settings for the demo's server: AWS managed policies (the fleets' roles attach
# AmazonSSMManagedInstanceCore) exist in moto only when it is told to load them.
MOTO_SETTINGS = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}


@dataclass(frozen=True)
class Server(emulator.Endpoint):
    """A moto server recorded under a work directory (started by an earlier command)."""

    pid: int

    def client(self, service: str, region: str) -> Any:
        """A boto3 client of this server, whatever the user's AWS configuration says."""
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id=emulator.FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=emulator.FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )


def record_path(work_dir: Path) -> Path:
    return work_dir / RECORD_FILE_NAME


def state_dir(work_dir: Path) -> Path:
    """Where the server writes its log."""
    return work_dir / "emulator"


def _command_line(pid: int) -> str | None:
    """The process's command line (``ps``, so that it works on Linux and macOS), or None.

    ``-ww``: without it ps cuts the line at 80 columns when its output is not a terminal, and a
    long checkout path would push the port out of sight."""
    result = subprocess.run(
        ["ps", "-ww", "-p", str(pid), "-o", "args="], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def is_recorded_server(server: Server) -> bool:
    """True when the pid is still the moto server started on the recorded port."""
    command = _command_line(server.pid)
    return command is not None and "moto.server" in command and f"-p {server.port}" in command


def find(work_dir: Path) -> Server | None:
    """The server recorded under ``work_dir`` if it is still running and answering, else None."""
    try:
        data = json.loads(record_path(work_dir).read_text(encoding="utf-8"))
        server = Server(pid=int(data["pid"]), port=int(data["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if is_recorded_server(server) and emulator.is_up(server.endpoint):
        return server
    return None


def start(work_dir: Path) -> Server:
    """Start a moto server on a free port of 127.0.0.1 and record it under ``work_dir``."""
    running = emulator.start(state_dir(work_dir), settings=MOTO_SETTINGS)
    server = Server(pid=running.process.pid, port=running.port)
    work_dir.mkdir(parents=True, exist_ok=True)
    temporary = record_path(work_dir).with_suffix(".tmp")
    temporary.write_text(json.dumps({"pid": server.pid, "port": server.port}), encoding="utf-8")
    os.replace(temporary, record_path(work_dir))
    return server


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child of this process that has exited stays a zombie until reaped; reap it if it is ours.
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return _command_line(pid) is not None
    return reaped == 0


def stop(work_dir: Path) -> bool:
    """Stop the server recorded under ``work_dir`` (if it still runs) and forget it.

    Returns True when a running server was stopped. Only the recorded pid is signalled, and only
    while it is still that moto server.
    """
    path = record_path(work_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        server = Server(pid=int(data["pid"]), port=int(data["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)
        return False
    stopped = False
    if is_recorded_server(server):
        os.kill(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while _exists(server.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _exists(server.pid) and is_recorded_server(server):
            os.kill(server.pid, signal.SIGKILL)
        stopped = True
    path.unlink(missing_ok=True)
    return stopped
