"""Read the top-level JSON object of a large file one member at a time.

``terraform show -json`` of a big plan is tens of megabytes: ``planned_values``, ``prior_state``
and ``resource_changes`` each describe every resource again. Decoding it whole holds all of it as
Python objects at once (about four times the text). ``ObjectStream`` instead reads the text in
chunks, decodes only the members its caller asks for, decodes an array element by element, and
skips a member it is not asked for without building it, so what is held at once is one chunk, one
element and whatever the caller keeps.

Usage::

    stream = ObjectStream(text_file, "plan.json")
    for key in stream.names():
        if key == "resource_changes":
            for entry in stream.elements():
                ...
        elif key == "format_version":
            version = stream.value()
        # any member not read is skipped when the next key is asked for

Errors are ``JSONStreamError`` with a sentence and the line and column of the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

CHUNK_CHARACTERS = 1 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Everything up to the next bracket or quote, and whole strings: what skipping can jump over.
_SKIP = re.compile(r'(?:[^"{}\[\]]+|"[^"\\]*(?:\\.[^"\\]*)*")*')
_SCALAR = re.compile(r"[^,\]}\s]*")
_DECODER = json.JSONDecoder()


class JSONStreamError(ValueError):
    """The text is not the JSON the caller expected."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} at line {line}, column {column}")
        self.reason = message
        self.line = line
        self.column = column


class ObjectStream:
    """The members of the JSON object that ``stream`` holds, read in order."""

    def __init__(self, stream: TextIO, chunk: int = CHUNK_CHARACTERS) -> None:
        self._stream = stream
        self._chunk = chunk
        self._buffer = ""
        self._position = 0
        self._eof = False
        # Where the buffer starts in the whole text, for error positions.
        self._dropped_lines = 0
        self._dropped_column = 0
        self._pending = False  # a member's value has not been read yet

    # --- the buffer -----------------------------------------------------------------------------

    def _fill(self, grow: bool = False) -> bool:
        """Read another chunk (``grow``: as much again as is buffered, so that decoding one long
        value reads it in a number of steps that grows only with its logarithm); False at the
        end of the text."""
        if self._eof:
            return False
        if self._position > self._chunk:  # drop what was consumed, remembering its lines
            consumed = self._buffer[: self._position]
            newlines = consumed.count("\n")
            if newlines:
                self._dropped_lines += newlines
                self._dropped_column = len(consumed) - consumed.rfind("\n") - 1
            else:
                self._dropped_column += len(consumed)
            self._buffer = self._buffer[self._position :]
            self._position = 0
        wanted = max(self._chunk, len(self._buffer) - self._position) if grow else self._chunk
        text = self._stream.read(wanted)
        if not text:
            self._eof = True
            return False
        self._buffer += text
        return True

    def _where(self, position: int) -> tuple[int, int]:
        """Line and column (1-based) of a buffer position in the whole text."""
        before = self._buffer[:position]
        newlines = before.count("\n")
        if newlines:
            return self._dropped_lines + newlines + 1, position - before.rfind("\n")
        return self._dropped_lines + 1, self._dropped_column + position + 1

    def _error(self, message: str, position: int | None = None) -> JSONStreamError:
        line, column = self._where(self._position if position is None else position)
        return JSONStreamError(message, line, column)

    def _end(self, pattern: re.Pattern[str]) -> int:
        """Where ``pattern`` (one that also matches nothing) stops matching from here."""
        match = pattern.match(self._buffer, self._position)
        assert match is not None
        return match.end()

    def _peek(self) -> str:
        """The next character that is not whitespace ("" at the end), without consuming it."""
        while True:
            self._position = self._end(_WHITESPACE)
            if self._position < len(self._buffer):
                return self._buffer[self._position]
            if not self._fill():
                return ""

    def _expect(self, character: str, what: str) -> None:
        found = self._peek()
        if found != character:
            shown = repr(found) if found else "the end of the text"
            raise self._error(f"Expecting {what}, found {shown}")
        self._position += 1

    def _decode(self) -> Any:
        """Decode the one JSON value that starts here, reading more text until it is whole."""
        if self._peek() not in ('"', "{", "["):
            # A number or literal ends at a delimiter: have it in the buffer, or the end of the
            # text, so that one cut by the chunk boundary is not decoded short.
            while self._end(_SCALAR) == len(self._buffer) and self._fill():
                pass
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buffer, self._position)
            except json.JSONDecodeError as error:
                # Incomplete in the buffer, or wrong: only the end of the text tells them apart.
                if self._fill(grow=True):
                    continue
                raise self._error(error.msg, error.pos) from None
            self._position = end
            return value

    def _skip(self) -> None:
        """Step over the value that starts here without building it."""
        opener = self._peek()
        if opener not in ("{", "["):
            self._decode()
            return
        depth = 0
        while True:
            self._position = self._end(_SKIP)
            if self._position >= len(self._buffer):
                if not self._fill():
                    raise self._error("Unterminated value")
                continue
            character = self._buffer[self._position]
            if character == '"':  # a string that goes on past the buffer
                if not self._fill():
                    raise self._error("Unterminated string starting")
                continue
            self._position += 1
            depth += 1 if character in "{[" else -1
            if depth == 0:
                return

    # --- what callers use -----------------------------------------------------------------------

    def names(self) -> Iterator[str]:
        """The top-level object's keys in order; the value of each is read by value(),
        elements() or members() before asking for the next key, or skipped."""
        self._expect("{", "'{' (a JSON object)")
        first = True
        while True:
            if self._pending:
                self._skip()
                self._pending = False
            if self._peek() == "}":
                self._position += 1
                break
            if not first:
                self._expect(",", "',' or '}' after an object member")
            first = False
            if self._peek() != '"':
                raise self._error("Expecting property name enclosed in double quotes")
            key = self._decode()
            self._expect(":", "':' after a property name")
            self._pending = True
            yield key
        if self._peek():
            raise self._error("Extra data")

    def value(self) -> Any:
        """The current member's whole value."""
        self._pending = False
        return self._decode()

    def at_end(self) -> bool:
        """True when nothing but whitespace is left."""
        return self._peek() == ""

    def kind(self) -> str:
        """The JSON type of the value that starts here (the current member's, or the whole
        text's before names()), without reading it."""
        character = self._peek()
        kinds = {"{": "object", "[": "array", '"': "string", "t": "boolean", "f": "boolean"}
        if character == "n":
            return "null"
        return kinds.get(character, "number")

    def elements(self) -> Iterator[Any]:
        """The current member's value, an array, one decoded element at a time."""
        self._pending = False
        self._expect("[", "'[' (a JSON array)")
        if self._peek() == "]":
            self._position += 1
            return
        while True:
            yield self._decode()
            if self._peek() == "]":
                self._position += 1
                return
            self._expect(",", "',' or ']' after an array element")

    def members(self) -> Iterator[tuple[str, Any]]:
        """The current member's value, an object, one decoded (key, value) pair at a time."""
        self._pending = False
        self._expect("{", "'{' (a JSON object)")
        if self._peek() == "}":
            self._position += 1
            return
        while True:
            if self._peek() != '"':
                raise self._error("Expecting property name enclosed in double quotes")
            key = self._decode()
            self._expect(":", "':' after a property name")
            yield key, self._decode()
            if self._peek() == "}":
                self._position += 1
                return
            self._expect(",", "',' or '}' after an object member")
