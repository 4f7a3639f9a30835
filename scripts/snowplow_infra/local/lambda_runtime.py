"""The deployed Lambda function, run on this machine: moto's Lambda cannot invoke without Docker.

What runs is exactly what Terraform deployed: the built zip (``build/lambda/pseudonymization.zip``)
is checked against the function's ``CodeSha256`` in the emulator, extracted to a temporary folder
and imported in a separate process (``lambda_worker.py``, ``python -I -S``) whose ``sys.path``
holds the standard library, that folder, and the folder boto3 is installed in (the Lambda runtime
provides boto3), so the handler sees nothing of this repository. The process gets the function's
environment from GetFunctionConfiguration (``SALT_SECRET_ID``, ``RECORD_FORMAT``), Lambda's
reserved variables, and the emulator's endpoint and fake credentials in place of the execution
role's. It lives across invocations, like a warm
Lambda container, and is killed when an invocation outlives the function's timeout.

What the function prints (its EMF metric lines) goes to ``<log dir>/<function name>.log``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from snowplow_infra.local import firehose
from snowplow_infra.package_lambda import base64sha256

WORKER = Path(__file__).with_name("lambda_worker.py")


def runtime_packages() -> str:
    """The folder that holds boto3 (and botocore and their dependencies) for this interpreter."""
    spec = importlib.util.find_spec("boto3")
    if spec is None or spec.origin is None:
        raise LambdaRuntimeError("boto3 is not installed; run `make setup`.")
    return str(Path(spec.origin).parents[1])


class LambdaRuntimeError(RuntimeError):
    """The function cannot be run locally as deployed."""


@dataclass(frozen=True)
class FunctionConfiguration:
    """The parts of GetFunctionConfiguration that running the function needs."""

    name: str
    arn: str
    handler: str
    runtime: str
    memory_mb: int
    timeout_seconds: int
    code_sha256: str
    variables: Mapping[str, str]

    @classmethod
    def from_api(cls, response: Mapping[str, Any]) -> FunctionConfiguration:
        return cls(
            name=response["FunctionName"],
            arn=response["FunctionArn"],
            handler=response["Handler"],
            runtime=response["Runtime"],
            memory_mb=int(response["MemorySize"]),
            timeout_seconds=int(response["Timeout"]),
            code_sha256=response["CodeSha256"],
            variables=dict((response.get("Environment") or {}).get("Variables") or {}),
        )


class LocalFunction:
    """One function's execution environment; use as a context manager."""

    def __init__(
        self,
        configuration: FunctionConfiguration,
        package: Path,
        client_environment: Mapping[str, str],
        log_dir: Path,
    ) -> None:
        self.configuration = configuration
        self.package = package
        self.client_environment = dict(client_environment)
        self.log_path = log_dir / f"{configuration.name}.log"
        self.errors = 0
        self._task_root: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> LocalFunction:
        try:
            data = self.package.read_bytes()
        except OSError as error:
            raise LambdaRuntimeError(
                f"Cannot read the Lambda package {self.package} ({error.strerror}); build it with "
                "`make lambda`."
            ) from None
        if base64sha256(data) != self.configuration.code_sha256:
            raise LambdaRuntimeError(
                f"{self.package} is not the code deployed as {self.configuration.name} (their "
                "SHA-256 differ): apply the environment again (`snowplow-infra local up`)."
            )
        self._task_root = tempfile.TemporaryDirectory(prefix=f"{self.configuration.name}-")
        with zipfile.ZipFile(self.package) as bundle:
            bundle.extractall(self._task_root.name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the process and remove the extracted package."""
        self._stop()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._task_root is not None:
            self._task_root.cleanup()
            self._task_root = None

    def environment(self, task_root: str) -> dict[str, str]:
        """The process environment: the function's variables, then Lambda's reserved ones."""
        config = self.configuration
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            **config.variables,
            **self.client_environment,
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "LAMBDA_TASK_ROOT": task_root,
            "_HANDLER": config.handler,
        }

    def _start(self) -> subprocess.Popen[bytes]:
        if self._task_root is None or self._log is None:
            raise LambdaRuntimeError("The function is not open; use it as a context manager.")
        config = self.configuration
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-S",
                str(WORKER),
                self._task_root.name,
                runtime_packages(),
                config.handler,
                config.name,
                str(config.memory_mb),
                str(config.timeout_seconds),
                config.arn,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=self.environment(self._task_root.name),
            cwd=self._task_root.name,
        )
        return self._process

    def _stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                pipe.close()
        self._process = None

    def invoke(self, event: Mapping[str, Any]) -> firehose.Invocation:
        """Invoke synchronously, as Firehose does: the response or a Firehose error code."""
        process = self._process if self._process and self._process.poll() is None else None
        process = process or self._start()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(event).encode("utf-8") + b"\n")
            process.stdin.flush()
        except BrokenPipeError:
            return self._failed(firehose.FUNCTION_ERROR)
        ready, _, _ = select.select([process.stdout], [], [], self.configuration.timeout_seconds)
        if not ready:
            return self._failed(firehose.FUNCTION_TIMED_OUT)
        line = process.stdout.readline()
        if not line:
            return self._failed(firehose.FUNCTION_ERROR)
        reply = json.loads(line)
        if "payload" not in reply:
            self.errors += 1
            return firehose.Invocation(error=firehose.FUNCTION_ERROR)
        return firehose.Invocation(response=reply["payload"])

    def _failed(self, code: tuple[str, str]) -> firehose.Invocation:
        """The process died or hung: discard it (the next invocation starts a new one)."""
        self.errors += 1
        self._stop()
        return firehose.Invocation(error=code)
