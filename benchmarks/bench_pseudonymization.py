"""Benchmark of the pseudonymization Lambda (``make bench``).

Builds a Firehose event of realistic enriched events (``snowplow_infra.sample_events``) as large
as the 6 MiB response cap allows, then measures, on one core:

* the Lambda's transform (the functions ``handler.lambda_handler`` composes, with a cold
  pseudonym cache, as in a new container): events/s and MB/s of input;
* a straightforward implementation in the same run (one HMAC per value, no caching, every field
  looked up by name), after checking that both give byte-identical output;
* peak memory of one invocation (tracemalloc) against the size of the event;
* ``import handler`` in a fresh interpreter.

Targets: >= 3x the straightforward implementation, peak memory < 5x the payload, import < 50 ms.
The script exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import hmac
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from snowplow_infra import sample_events
from snowplow_infra.paths import LAMBDA_SOURCE_DIR

sys.path.insert(0, str(LAMBDA_SOURCE_DIR))

import handler
import json_values
from allowlist import Allowlist, PathNode, is_iglu_uri
from enriched import enriched_transform
from event_fields import FIELD_NAMES, JSON_FIELDS
from firehose import MAX_RESPONSE_BYTES, Transformed, transform_records
from pseudonym import Pseudonymizer

SALT = b"benchmark-salt-not-a-secret"
TARGET_SPEEDUP = 3.0
TARGET_MEMORY_RATIO = 5.0
TARGET_IMPORT_MS = 50.0


def straightforward_json(
    allowlist: Allowlist, pseudonym: Callable[[str], str]
) -> Callable[[str, Any], Any]:
    """The JSON rules, obviously: entities by position, keys and values kept only where the
    allowlist names them, the allowlist resolved again for every entity."""

    def walk(value: Any, node: PathNode | None) -> Any:
        if isinstance(value, str):
            if node is not None and node.keep:
                return json.loads(value) if type(value) is json_values.JsonNumber else value
            return pseudonym(value)
        if isinstance(value, list):
            return [walk(item, node) for item in value]
        if isinstance(value, dict):
            result = {}
            for key, item in value.items():
                child = node.children.get(key) if node is not None else None
                result[key if child is not None else pseudonym(key)] = walk(item, child)
            return result
        return value

    def entity(value: Any) -> Any:
        if not isinstance(value, dict):
            return walk(value, None)
        schema = value.get("schema")
        node = None
        valid = False
        if isinstance(schema, str) and is_iglu_uri(schema):
            valid = True
            node = allowlist.resolve(schema)
        result = {}
        for key, item in value.items():
            if key == "schema":
                result[key] = item if valid else walk(item, None)
            elif key == "data":
                result[key] = walk(item, node)
            else:
                result[pseudonym(key)] = walk(item, None)
        return result

    def wrapper(name: str, value: Any) -> Any:
        if not isinstance(value, dict):
            return walk(value, None)
        result = entity({key: None if key == "data" else item for key, item in value.items()})
        data = value.get("data")
        if "data" in value:
            if name == "unstruct_event":
                result["data"] = entity(data)
            elif isinstance(data, list):
                result["data"] = [entity(item) for item in data]
            else:
                result["data"] = walk(data, None)
        return result

    return wrapper


def straightforward_transform(allowlist: Allowlist, salt: bytes) -> Callable[[str], Transformed]:
    """The obvious implementation of the same rules: one HMAC per value, nothing cached (not
    even which allowlist rules match a schema), every field looked up by name."""

    def pseudonym(value: str) -> str:
        return hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()

    wrapper = straightforward_json(allowlist, pseudonym)

    def transform(text: str) -> Transformed:
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        output = []
        unparsable = 0
        for line in lines:
            values = line.split("\t")
            fields = []
            for name, value in zip(FIELD_NAMES, values, strict=True):
                if not value or name in allowlist.keep_fields:
                    fields.append(value)
                elif name in JSON_FIELDS:
                    try:
                        fields.append(json_values.dumps(wrapper(name, json_values.loads(value))))
                    except ValueError:
                        fields.append(pseudonym(value))
                        unparsable += 1
                else:
                    fields.append(pseudonym(value))
            output.append("\t".join(fields) + "\n")
        return Transformed("".join(output), len(lines), unparsable)

    return transform


def build_event(seed: int) -> dict[str, Any]:
    """The largest event of realistic enriched events whose response stays under the cap."""
    samples = sample_events.enriched_events(4000, seed=seed)
    transform = enriched_transform(handler.ALLOWLIST, Pseudonymizer(SALT))
    event = sample_events.firehose_event(sample_events.samples_text(samples), seed=seed)
    batch = transform_records(event["records"], transform, MAX_RESPONSE_BYTES)
    fits = len(batch.records) - 1 if not batch.complete else len(batch.records)
    event["records"] = event["records"][: int(fits * 0.99)]
    return event


def best_of(runs: int, function: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``runs`` timed calls (noise from other processes only adds time)."""
    times = []
    result = None
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def import_time_ms() -> float:
    """Median time of ``import handler`` in 5 fresh interpreters (interpreter start excluded)."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); "
        "import handler; print((time.perf_counter() - t) * 1000)"
    )
    samples = [
        float(subprocess.check_output([sys.executable, "-c", code, str(LAMBDA_SOURCE_DIR)]))
        for _ in range(5)
    ]
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each implementation")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated events")
    args = parser.parse_args()

    event = build_event(args.seed)
    records = event["records"]
    payload_bytes = len(json.dumps(event))
    data_bytes = sum(len(base64.b64decode(record["data"])) for record in records)

    def lambda_transform() -> Any:
        transform = enriched_transform(handler.ALLOWLIST, Pseudonymizer(SALT))
        batch = transform_records(records, transform, MAX_RESPONSE_BYTES)
        return {"records": batch.records}

    def straightforward() -> Any:
        transform = straightforward_transform(handler.ALLOWLIST, SALT)
        return {"records": transform_records(records, transform, MAX_RESPONSE_BYTES).records}

    fast_seconds, fast_response = best_of(args.runs, lambda_transform)
    slow_seconds, slow_response = best_of(args.runs, straightforward)
    if fast_response != slow_response:
        print("The Lambda and the straightforward implementation disagree.", file=sys.stderr)
        return 1
    response_bytes = len(json.dumps(fast_response))
    output_bytes = sum(len(base64.b64decode(record["data"])) for record in fast_response["records"])

    gc.collect()
    tracemalloc.start()
    lambda_transform()
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    import_ms = import_time_ms()

    speedup = slow_seconds / fast_seconds
    memory_ratio = peak_bytes / payload_bytes
    events = len(records)
    mb = 1024 * 1024
    print(
        f"event: {events} realistic enriched events, {data_bytes / mb:.2f} MiB of data; "
        f"request {payload_bytes / mb:.2f} MiB, response {response_bytes / mb:.2f} MiB "
        f"(cap {MAX_RESPONSE_BYTES / mb:.0f} MiB); the data grows x{output_bytes / data_bytes:.2f}"
    )
    for name, seconds in (("lambda", fast_seconds), ("straightforward", slow_seconds)):
        print(
            f"{name:>16}: {seconds * 1000:8.1f} ms  {events / seconds:9.0f} events/s  "
            f"{data_bytes / mb / seconds:6.1f} MiB/s"
        )
    checks = (
        ("speed-up", f"x{speedup:.2f}", speedup >= TARGET_SPEEDUP, f">= x{TARGET_SPEEDUP:.0f}"),
        (
            "peak memory",
            f"{peak_bytes / mb:.1f} MiB = x{memory_ratio:.2f} the payload",
            memory_ratio < TARGET_MEMORY_RATIO,
            f"< x{TARGET_MEMORY_RATIO:.0f}",
        ),
        (
            "import handler",
            f"{import_ms:.1f} ms",
            import_ms < TARGET_IMPORT_MS,
            f"< {TARGET_IMPORT_MS:.0f} ms",
        ),
    )
    failed = False
    for name, value, ok, target in checks:
        print(f"{name:>16}: {value}  (target {target}: {'ok' if ok else 'MISSED'})")
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
