"""Why each failed record fails today, decided by the packaged Lambda's own functions.

The records go, one at a time, through the deployed package's ``firehose.transform_records`` with
the transform its handler builds (``handler.transform_for``), in a separate process
(``judge_worker.py``, ``python -I -S``) that imports the package as the Lambda runtime does. The
package is the built zip, checked against the function's CodeSha256, so the verdict is the one
the deployed function would reach. A record the function would transform now failed for a
transient cause (a salt outage, a Lambda error or timeout): its verdict is WOULD_NOW_SUCCEED.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from snowplow_infra.package_lambda import base64sha256

WORKER = Path(__file__).with_name("judge_worker.py")
WOULD_NOW_SUCCEED = "WouldNowSucceed"
#: What each verdict means, for the command's output and the runbook.
MEANINGS = {
    WOULD_NOW_SUCCEED: "would now succeed (a transient cause: salt outage, Lambda error)",
    "MalformedBase64": "malformed: not base64, or no data",
    "MalformedUtf8": "malformed: not UTF-8 (or escapes a lone surrogate)",
    "WrongFieldCount": "malformed: not 131 tab-separated fields of an enriched event",
    "UnparsableBadRow": "malformed: not a JSON bad row",
    "TooLarge": "too large: its pseudonymized form alone exceeds the 6 MiB Lambda response",
}


class JudgeError(RuntimeError):
    """The package cannot judge records: missing, not the deployed code, or it failed."""


@dataclass(frozen=True)
class Verdicts:
    """Per record (in the order given) its verdict, and the shapes of the records described."""

    reasons: list[str]
    shapes: Mapping[int, Any]


def check_deployed(package: Path, lambdas: Any, function_arn: str) -> bytes:
    """The package's bytes, once they are known to be the function's deployed code."""
    try:
        data = package.read_bytes()
    except OSError as error:
        raise JudgeError(
            f"Cannot read the Lambda package {package} ({error.strerror}); build it with "
            "`make lambda` at the revision that is deployed."
        ) from None
    try:
        deployed = lambdas.get_function_configuration(FunctionName=function_arn)["CodeSha256"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "an error")
        raise JudgeError(f"Cannot read the configuration of {function_arn}: {code}.") from None
    if base64sha256(data) != deployed:
        raise JudgeError(
            f"{package} is not the code deployed as {function_arn} (their SHA-256 differ), so "
            "its verdicts could differ from the function's: build the package at the deployed "
            "revision (`make lambda`), or pass it with --package."
        )
    return data


def judge(
    package: bytes, record_format: str, records: Sequence[str], describe: Sequence[int] = ()
) -> Verdicts:
    """The verdict of each base64 record (WOULD_NOW_SUCCEED or a reason code)."""
    with tempfile.TemporaryDirectory(prefix="snowplow-failed-") as task_root:
        archive = Path(task_root) / "package.zip"
        archive.write_bytes(package)
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(Path(task_root) / "task")
        request = {"record_format": record_format, "records": list(records), "describe": describe}
        result = subprocess.run(
            [sys.executable, "-I", "-S", str(WORKER), str(Path(task_root) / "task")],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        # The worker's stderr may quote a record; only its exception type is repeated.
        last = (result.stderr.strip().splitlines() or ["no output"])[-1].split(":", 1)[0]
        raise JudgeError(
            f"The Lambda package could not judge the records ({last}); is it built from this "
            "revision (it needs handler.transform_for and reasons.py)?"
        )
    reply = json.loads(result.stdout)
    reasons = [reason or WOULD_NOW_SUCCEED for reason in reply["reasons"]]
    return Verdicts(reasons, {int(index): shape for index, shape in reply["shapes"].items()})
