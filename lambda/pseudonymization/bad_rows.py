"""RECORD_FORMAT=bad_rows: pseudonymize Snowplow self-describing bad rows (JSON)."""

from __future__ import annotations

from collections.abc import Callable

import json_values
from allowlist import Allowlist
from errors import MalformedRecordError
from firehose import Transformed

# The typing module costs milliseconds of cold start; annotations only need it for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def bad_rows_transform(
    allowlist: Allowlist, pseudonym: Callable[[str], str]
) -> Callable[[str], Transformed]:
    """Return ``transform(text)`` for records of bad rows.

    A record is one bad row (possibly pretty-printed) or several, one a line (LF or CRLF). Each
    bad row is an entity: its ``schema`` is kept when it is an Iglu URI, with the paths the
    allowlist names for that bad-row type; every other key, string and number is pseudonymized.
    The output is one document a line.
    """
    walk = json_values.Walker(allowlist, pseudonym).entity

    def transform(text: str) -> Transformed:
        documents = _documents(text)
        try:
            lines = [json_values.dumps(walk(document)) for document in documents]
        except RecursionError:
            raise MalformedRecordError("A bad row of the record is nested too deeply.") from None
        lines.append("")
        return Transformed("\n".join(lines), len(documents), 0)

    return transform


def _documents(text: str) -> list[Any]:
    try:
        return [json_values.loads(text)]
    except (ValueError, RecursionError):
        pass
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if lines[-1] == "":
        lines.pop()
    if not lines:
        raise MalformedRecordError("The record holds no bad row.")
    documents = []
    for number, line in enumerate(lines, start=1):
        try:
            documents.append(json_values.loads(line))
        except (ValueError, RecursionError):
            raise MalformedRecordError(
                f"Line {number} of the record is not a JSON bad row."
            ) from None
    return documents
