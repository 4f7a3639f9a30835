"""Long strings as a reviewer reads them: decoded, pretty-printed, and diffed line by line.

A value that does not fit a table cell (a user-data script, a JSON dashboard, a container
definition, a long description) is shown as lines, and a change to it as a unified diff of those
lines, so a change on line 40 or after character 120 is as visible as one on line 1:

* a JSON object or array in a string is pretty-printed with sorted keys (key order and spacing
  are no change); IAM policy documents get their own statement diff (``iam``);
* base64 that decodes to UTF-8 text (cloud-init user data, optionally gzip'd) is decoded, and
  the diff says so;
* a line longer than ``LINE_LIMIT`` is cut around what changed in it, with the number of
  characters left out on each side, never silently.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import gzip
import json
import re
import zlib
from dataclasses import dataclass

CELL_LIMIT = 160  # longer values leave the table for a block of lines
LINE_LIMIT = 1000  # longer lines are cut around the change
CONTEXT_LINES = 3
CONTEXT_CHARACTERS = 60
_BASE64 = re.compile(r"^[A-Za-z0-9+/\r\n]+={0,2}\s*$")
_MAX_DECODED_BYTES = 8 << 20


@dataclass(frozen=True)
class Text:
    """A string value as lines, and how they were obtained from the value."""

    lines: tuple[str, ...]
    note: str = ""  # e.g. "base64-decoded", "JSON, pretty-printed with sorted keys"


def is_long(value: str) -> bool:
    return "\n" in value or len(value) > CELL_LIMIT


def is_encoded_text(value: str, name: str = "") -> bool:
    """True when ``value`` is base64 of text (user data): shown decoded even when short."""
    return _base64_text(value, name) is not None


def as_text(value: str, name: str = "") -> Text:
    """The lines a reviewer should read for ``value`` (of the attribute ``name``)."""
    decoded = _json_text(value)
    if decoded is not None:
        return decoded
    decoded = _base64_text(value, name)
    if decoded is not None:
        return decoded
    return Text(tuple(value.split("\n")))


def _json_text(value: str) -> Text | None:
    stripped = value.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        document = json.loads(stripped)
    except ValueError:
        return None
    pretty = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    return Text(tuple(pretty.split("\n")), "JSON, pretty-printed with sorted keys")


def _base64_text(value: str, name: str) -> Text | None:
    """Decoded text when ``value`` is base64 of UTF-8 text (user data usually is)."""
    if len(value) < 16 or not _BASE64.match(value):
        return None
    try:
        raw = base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return None
    note = "base64-decoded"
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)[:_MAX_DECODED_BYTES]
        except (OSError, EOFError, zlib.error):
            return None
        note = "base64-decoded, gunzipped"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = all(c.isprintable() or c in "\n\r\t" for c in text)
    # Short base64-looking identifiers decode to noise; text with lines is what user data is.
    if not printable or not ("\n" in text or "user_data" in name):
        return None
    return Text(tuple(text.replace("\r\n", "\n").split("\n")), note)


def diff(before: Text | None, after: Text | None) -> list[str]:
    """Unified diff lines (``@@`` hunks, `` ``/``-``/``+`` lines) from ``before`` to ``after``."""
    old = list(before.lines) if before is not None else []
    new = list(after.lines) if after is not None else []
    lines: list[str] = []
    for line in difflib.unified_diff(old, new, n=CONTEXT_LINES, lineterm=""):
        if line.startswith(("---", "+++")):
            continue
        lines.append(line)
    return _cut_long_lines(lines)


def _cut_long_lines(lines: list[str]) -> list[str]:
    """Shorten lines over LINE_LIMIT; a removed line and the added line that replaces it are
    cut around the characters where they differ."""
    result = list(lines)
    index = 0
    while index < len(result):
        removed = index
        while removed < len(result) and result[removed].startswith("-"):
            removed += 1
        added = removed
        while added < len(result) and result[added].startswith("+"):
            added += 1
        if removed == index:
            result[index] = _cut(result[index])
            index += 1
            continue
        old, new = result[index:removed], result[removed:added]
        for k in range(max(len(old), len(new))):
            if k < len(old) and k < len(new):
                old[k], new[k] = _cut_pair(old[k], new[k])
            elif k < len(old):
                old[k] = _cut(old[k])
            else:
                new[k] = _cut(new[k])
        result[index:added] = old + new
        index = added
    return result


def _cut(line: str) -> str:
    if len(line) <= LINE_LIMIT:
        return line
    kept = LINE_LIMIT - 1
    return f"{line[:kept]}[…{len(line) - kept} more characters…]"


def _cut_pair(old: str, new: str) -> tuple[str, str]:
    if len(old) <= LINE_LIMIT and len(new) <= LINE_LIMIT:
        return old, new
    sign_old, sign_new, a, b = old[0], new[0], old[1:], new[1:]
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(a), len(b)) - prefix and a[len(a) - 1 - suffix] == b[len(b) - 1 - suffix]
    ):
        suffix += 1
    start = max(prefix - CONTEXT_CHARACTERS, 0)
    return (
        sign_old + _window(a, start, suffix),
        sign_new + _window(b, start, suffix),
    )


def _window(text: str, start: int, suffix: int) -> str:
    end = max(len(text) - max(suffix - CONTEXT_CHARACTERS, 0), start)
    middle = text[start:end]
    if len(middle) > LINE_LIMIT:
        middle = _cut(middle)
    head = f"[…{start} unchanged characters…]" if start else ""
    tail = f"[…{len(text) - end} unchanged characters…]" if end < len(text) else ""
    return head + middle + tail
