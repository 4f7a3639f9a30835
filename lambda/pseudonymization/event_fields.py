"""The canonical fields of a Snowplow enriched event, read from ``enriched_fields.txt``.

That file is the repository's single list of the 131 names, in TSV order; the sample-event
generator in ``snowplow_infra`` reads the same file.
"""

from __future__ import annotations

import os

from errors import ConfigurationError

FIELDS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "enriched_fields.txt")
FIELD_COUNT = 131
JSON_FIELDS = ("contexts", "unstruct_event", "derived_contexts")


def load_field_names(path: str = FIELDS_FILE) -> tuple[str, ...]:
    """Return the field names in TSV order, checking that there are 131 distinct ones."""
    with open(path, encoding="utf-8") as file:
        names = tuple(line.strip() for line in file)
    names = tuple(name for name in names if name and not name.startswith("#"))
    if len(names) != FIELD_COUNT or len(set(names)) != FIELD_COUNT:
        raise ConfigurationError(
            f"{path} must list {FIELD_COUNT} distinct enriched-event field names, one a line; "
            f"it lists {len(names)} ({len(set(names))} distinct)."
        )
    missing = [name for name in JSON_FIELDS if name not in names]
    if missing:
        raise ConfigurationError(f"{path} lacks the JSON fields {', '.join(missing)}.")
    return names


FIELD_NAMES = load_field_names()
