"""Plan review for merge requests: ``snowplow-infra plan-report``.

One job per module: ``plan`` reads and validates the plan JSON, ``counts`` computes GitLab's widget
report, ``values`` and ``iam`` turn attribute changes into safe display values and statement
diffs, ``markdown`` writes the review, ``protection`` is the gate, ``command`` is the CLI.
"""

from snowplow_infra.plan_report.command import add_parser

__all__ = ["add_parser"]
