"""A Lambda execution environment for one function, as a process (standard library only).

Started by ``snowplow_infra.local.lambda_runtime`` as ``python -I -S lambda_worker.py TASK_ROOT
RUNTIME_PACKAGES HANDLER FUNCTION_NAME MEMORY_MB TIMEOUT_S ARN`` with the function's environment.
Without ``site``, ``sys.path`` is the standard library plus TASK_ROOT (the extracted zip) and
RUNTIME_PACKAGES (where boto3 is installed, as the Lambda runtime provides it), so the handler
imports what its package holds and nothing of the repository that runs it.

Protocol: one JSON event per line on stdin; one JSON line per event on the original stdout,
``{"payload": ...}`` or ``{"errorType": ..., "errorMessage": ...}``. Whatever the function prints
goes to stderr, which the runtime keeps as the function's log.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import uuid

TYPE_CHECKING = False  # (the typing module is not imported at run time: a Lambda does not either)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Context:
    """The attributes of Lambda's context object that a handler may read."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: str, arn: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + float(timeout_s)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    task_root, packages, handler_name, function_name, memory_mb, timeout_s, arn = sys.argv[1:8]
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the function's own output is its log
    sys.path.insert(0, task_root)
    sys.path.append(packages)
    module_name, _, attribute = handler_name.rpartition(".")
    handler: Callable[[Any, Context], Any] | None = None
    init_error: dict[str, str] | None = None
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as error:  # Lambda reports an init error on every invocation
        init_error = {"errorType": "Runtime.ImportModuleError", "errorMessage": str(error)}
        print(f"[ERROR] {init_error['errorType']}: {init_error['errorMessage']}", file=sys.stderr)
    for line in sys.stdin:
        if init_error is not None or handler is None:
            text = json.dumps(init_error)
        else:
            context = Context(function_name, int(memory_mb), timeout_s, arn)
            try:
                text = json.dumps({"payload": handler(json.loads(line), context)})
            except Exception as error:  # what Lambda returns as a function error
                reply = {"errorType": type(error).__name__, "errorMessage": str(error)}
                print(f"[ERROR] {reply['errorType']}: {reply['errorMessage']}", file=sys.stderr)
                text = json.dumps(reply)
        replies.write(text + "\n")
        replies.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    main()
