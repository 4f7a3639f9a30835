"""The GitLab merge-request widget report: ``{"create": N, "update": N, "delete": N}``.

GitLab documents the report as the output of this jq program over ``terraform show -json``::

    ([.resource_changes[]?.change.actions?] | flatten)
    | {"create": (map(select(. == "create")) | length),
       "update": (map(select(. == "update")) | length),
       "delete": (map(select(. == "delete")) | length)}

so every entry of every ``change.actions`` counts: a replace adds one create and one delete, and
``read``, ``no-op`` and ``forget`` add nothing. Resource drift is not counted.
"""

from __future__ import annotations

from snowplow_infra.plan_report.plan import Plan

WIDGET_ACTIONS = ("create", "update", "delete")


def widget_counts(plan: Plan) -> dict[str, int]:
    """The counts GitLab's documented jq gives for this plan, in its key order."""
    actions = [action for change in plan.resource_changes for action in change.actions]
    return {name: actions.count(name) for name in WIDGET_ACTIONS}
