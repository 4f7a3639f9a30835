"""RECORD_FORMAT=enriched: pseudonymize Snowplow enriched events (131 TSV fields a line)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import json_values
from allowlist import Allowlist
from errors import MalformedRecordError
from event_fields import FIELD_COUNT, FIELD_NAMES, JSON_FIELDS
from firehose import Transformed
from pseudonym import Pseudonymizer

# The typing module costs milliseconds of cold start; annotations only need it for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: JSON fields remembered whole: derived contexts, such as the ua-parser one, and the contexts of
#: the events of one page view repeat exactly, so their parse and walk are done once. Fields
#: longer than JSON_CACHE_MAX_LENGTH are not remembered (the cache stays under about 12 MB).
JSON_CACHE_ENTRIES = 1024
JSON_CACHE_MAX_LENGTH = 4096


def enriched_transform(
    allowlist: Allowlist,
    pseudonymizer: Pseudonymizer,
    field_names: Sequence[str] = FIELD_NAMES,
) -> Callable[[str], Transformed]:
    """Return ``transform(text)`` for records of enriched events.

    Which fields to hash is decided once here, from the allowlist, not for every field of every
    event: empty fields stay empty, kept fields stay, the JSON fields are parsed.
    """
    hashed = tuple(
        index
        for index, name in enumerate(field_names)
        if name not in allowlist.keep_fields and name not in JSON_FIELDS
    )
    walker = json_values.Walker(allowlist, pseudonymizer)
    # Each JSON field has its own entity positions: contexts wrap an array of entities.
    walks = {
        "contexts": walker.contexts,
        "derived_contexts": walker.contexts,
        "unstruct_event": walker.unstruct_event,
    }
    json_fields = tuple((field_names.index(name), walks[name]) for name in JSON_FIELDS)
    # (field, JSON text) -> (its pseudonymized text, whether it parsed, values pseudonymized)
    json_cache: dict[tuple[int, str], tuple[str, bool, int]] = {}

    def json_field(index: int, walk: Callable[[Any], Any], text: str) -> tuple[str, bool]:
        """The pseudonymized JSON text, or the pseudonym of the whole text if it does not parse."""
        cached = json_cache.get((index, text))
        if cached is not None:
            pseudonymizer.count += cached[2]
            return cached[0], cached[1]
        before = pseudonymizer.count
        try:
            result = json_values.dumps(walk(json_values.loads(text))), True
        except (ValueError, RecursionError):
            result = pseudonymizer(text), False
        if len(text) <= JSON_CACHE_MAX_LENGTH:
            if len(json_cache) >= JSON_CACHE_ENTRIES:
                json_cache.clear()
            json_cache[index, text] = (*result, pseudonymizer.count - before)
        return result

    def transform(text: str) -> Transformed:
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the trailing newline is optional
        if not lines:
            raise MalformedRecordError("The record holds no enriched event.")
        unparsable = 0
        output = []
        for number, line in enumerate(lines, start=1):
            # A CRLF line ending: the \r belongs to the line ending, never to the last field.
            fields = (line[:-1] if line.endswith("\r") else line).split("\t")
            if len(fields) != FIELD_COUNT:
                raise MalformedRecordError(
                    f"Line {number} of the record has {len(fields)} tab-separated fields; "
                    f"an enriched event has {FIELD_COUNT}."
                )
            pseudonymizer.replace(fields, hashed)
            for index, walk in json_fields:
                if fields[index]:
                    fields[index], parsed = json_field(index, walk, fields[index])
                    unparsable += not parsed
            output.append("\t".join(fields))
        output.append("")  # every line ends with a newline
        return Transformed("\n".join(output), len(lines), unparsable)

    return transform
