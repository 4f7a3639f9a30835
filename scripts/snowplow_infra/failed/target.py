"""Where the commands run: the deployed environment on AWS, or the demo's emulator (``--local``).

On AWS the clients use the caller's credentials (the replay role, assumed from the break-glass
role: docs/alarms.md); in the emulator, the server ``snowplow-infra local up`` left running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from snowplow_infra import pipeline
from snowplow_infra.local import server


class TargetError(RuntimeError):
    """The environment cannot be reached."""


@dataclass(frozen=True)
class Target:
    values: pipeline.Pipeline
    emulator: server.Server | None

    @property
    def region(self) -> str:
        return self.values.region

    @property
    def description(self) -> str:
        if self.emulator is not None:
            return f"the emulator at {self.emulator.endpoint}"
        return f"AWS ({self.region})"

    def client(self, service: str) -> Any:
        if self.emulator is not None:
            return self.emulator.client(service, self.region)
        return boto3.client(service, region_name=self.region)


def resolve(environment: str, local: bool, work_dir: Path) -> Target:
    values = pipeline.load(environment)
    if not local:
        return Target(values, None)
    running = server.find(work_dir)
    if running is None:
        raise TargetError(
            f"No emulator is running for {pipeline.display_path(work_dir)}: start the demo with "
            "`make demo` (or `snowplow-infra local demo`) first."
        )
    return Target(values, running)
