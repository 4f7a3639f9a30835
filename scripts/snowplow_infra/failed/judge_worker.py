"""Judge failed records with the packaged Lambda's own functions (standard library only).

Run by ``snowplow_infra.failed.judge`` as ``python -I -S judge_worker.py TASK_ROOT``: without
``site`` and with TASK_ROOT (the extracted Lambda zip) first on ``sys.path``, the modules imported
are the package's, as the Lambda runtime imports them. Reads one JSON request on stdin,
``{"record_format": ..., "records": [base64 data, ...], "describe": [index, ...]}``, and writes
``{"reasons": [...], "shapes": {index: ...}}``: per record its reason code (reasons.py), ``null``
when the Lambda would transform it now, or ``TooLarge`` when its pseudonymized output alone
would not fit in a Lambda response; and for the records to describe, the names and lengths of
their fields, never a value. The salt is random and thrown away: whether a record transforms
does not depend on it.
"""

from __future__ import annotations

import binascii
import json
import os
import sys

TOO_LARGE = "TooLarge"


def shape(data: str, record_format: str, field_names: tuple[str, ...]) -> dict[str, object]:
    """The field names and lengths of one record (no values)."""
    try:
        raw = binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error:
        return {"base64_characters": len(data)}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return {"bytes": len(raw), "first_invalid_utf8_byte": error.start}
    if record_format == "enriched":
        lines: list[list[dict[str, object]]] = []
        for line in text.split("\n"):
            if line:
                values = line.split("\t")
                names = field_names if len(values) == len(field_names) else ()
                lines.append(
                    [
                        {
                            "field": names[i] if names else f"#{i + 1}",
                            "length": len(value),
                        }
                        for i, value in enumerate(values)
                    ]
                )
        return {"characters": len(text), "lines": lines}
    try:
        document = json.loads(text)
    except ValueError as error:
        return {"characters": len(text), "json_error_at": error.pos if hasattr(error, "pos") else 0}
    if not isinstance(document, dict):
        return {"characters": len(text), "json_type": type(document).__name__}
    parts: list[dict[str, object]] = []
    for key, value in document.items():
        inner = value.items() if isinstance(value, dict) else ()
        parts.append({"field": key, "length": len(json.dumps(value))})
        parts += [{"field": f"{key}.{k}", "length": len(json.dumps(v))} for k, v in inner]
    return {"characters": len(text), "fields": parts}


def main() -> None:
    task_root = sys.argv[1]
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything the package prints stays out of the reply
    sys.path.insert(0, task_root)
    import event_fields  # noqa: PLC0415
    import firehose  # noqa: PLC0415
    import handler  # noqa: PLC0415
    import reasons  # noqa: PLC0415

    request = json.loads(sys.stdin.read())
    record_format = request["record_format"]
    transform = handler.transform_for(record_format, os.urandom(32))
    malformed = reasons.MALFORMED_BY_FORMAT[record_format]
    verdicts: list[str | None] = []
    for data in request["records"]:
        batch = firehose.transform_records(
            [{"recordId": "1", "data": data}], transform, firehose.MAX_RESPONSE_BYTES, malformed
        )
        if not batch.complete:
            verdicts.append(TOO_LARGE)
        elif batch.ok:
            verdicts.append(None)
        else:
            (reason,) = batch.failure_reasons
            verdicts.append(reason)
    shapes = {
        str(index): shape(request["records"][index], record_format, event_fields.FIELD_NAMES)
        for index in request.get("describe", [])
    }
    replies.write(json.dumps({"reasons": verdicts, "shapes": shapes}) + "\n")
    replies.flush()


if __name__ == "__main__":
    main()
