"""Plan review for merge requests: ``snowplow-infra plan-report``.

One job per module: ``jsonstream`` reads a large JSON file member by member, ``plan`` reads and
validates the plan JSON (as a stream), ``counts`` computes GitLab's widget report, ``values``,
``textdiff`` and ``iam`` turn attribute changes into safe display values, line diffs and
statement diffs, ``entries`` renders each change once as it is read, ``markdown`` lays the review
out within a character limit, ``protection`` is the gate, ``command`` is the CLI. The note on the
merge request is ``snowplow_infra.gitlab_notes``; docs/plan-review.md describes all of it.
"""

from snowplow_infra.plan_report.command import add_parser

__all__ = ["add_parser"]
