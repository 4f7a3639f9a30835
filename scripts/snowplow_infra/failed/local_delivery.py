"""After ``failed replay --local --execute``: play Firehose for the replayed records.

On AWS, Firehose reads the replayed records from the source streams by itself. In the demo's
emulator nothing does until the demo plays Firehose's part, so the replay does it right away
(``snowplow_infra.local.flow.deliver``, from where each delivery stream last stopped), then
counts what every delivery stream has delivered in total (``snowplow_infra.local.delivered``).
"""

from __future__ import annotations

from pathlib import Path

from snowplow_infra.failed.target import Target
from snowplow_infra.local import delivered, flow
from snowplow_infra.local.stack import Stack
from snowplow_infra.paths import environment_dir


def deliver_replayed(target: Target, environment: str, work_dir: Path) -> None:
    """Deliver what arrived on the source streams and print the delivered totals."""
    assert target.emulator is not None
    outputs = Stack(environment_dir(environment), work_dir, target.region).outputs(target.emulator)
    print("==> playing Firehose's part for the replayed records (as the demo does)")
    flow.deliver(
        target.emulator,
        target.region,
        outputs,
        work_dir,
        progress=lambda message: print(f"==>   {message}"),
    )
    found = delivered.delivered(target.client("s3"), outputs)
    print("\nEverything the delivery streams have delivered (pseudonymized) so far:\n")
    print(delivered.delivered_table(found))
    duplicates = sum(d.duplicates or 0 for d in found.values())
    print(
        "\nEvery enriched event was delivered exactly once."
        if not duplicates
        else f"\n{duplicates} enriched events were delivered more than once."
    )
