"""docs/alarms.md states the thresholds aws-snowplow deploys: each number of the runbook that is a
threshold is compared with the value in the plan (terraform.tfvars' alarm_thresholds, or the
monitoring module's default for one left out), in the alarm's table row and in its section."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from snowplow_infra.paths import REPO_ROOT
from snowplow_infra.plan import PlanResult

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

RUNBOOK = REPO_ROOT / "docs" / "alarms.md"


def grouped(value: float) -> str:
    """``5 500 000``: thousands separated by spaces, as the runbook writes them."""
    return f"{value:,.0f}".replace(",", " ") if value == int(value) else f"{value:,}"


def percent(value: float) -> str:
    return f"{value:g}%"


def duration(seconds: float) -> str:
    """``1 h``, ``15 min`` or ``45 s``."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:g} {unit}"
    return f"{seconds:g} s"


# threshold variable: (the alarm in the table, its runbook section, how the runbook writes it)
THRESHOLDS: dict[str, tuple[str, str, Callable[[float], str]]] = {
    "collector_5xx_rate_percent": ("collector-5xx-rate", "collector-5xx-rate", percent),
    "enrichment_lag_seconds": (
        "enrichment-lagging",
        "enrichment-stalled and enrichment-lagging",
        duration,
    ),
    "enrichment_stalled_seconds": (
        "enrichment-stalled",
        "enrichment-stalled and enrichment-lagging",
        duration,
    ),
    "delivery_lag_seconds": ("delivery-stalled", "delivery-stalled", duration),
    "delivery_freshness_seconds": ("<delivery>-delivery-freshness", "delivery-freshness", duration),
    "lambda_response_bytes_threshold": (
        "<format>-response-near-cap",
        "response-near-cap",
        lambda value: f"{grouped(value)} bytes",
    ),
    "low_good_events_threshold": ("good-events-low", "good-events-low", grouped),
    "bad_to_good_ratio_percent": ("bad-to-good-ratio", "bad-to-good-ratio", percent),
}


def monitoring_call(plan: dict[str, Any]) -> dict[str, Any]:
    call: dict[str, Any] = plan["configuration"]["root_module"]["module_calls"]["monitoring"]
    return call


def deployed_thresholds(environment_plan: PlanResult) -> dict[str, float]:
    """Each threshold as the plan applies it: the environment's value, or the module's default."""
    given = environment_plan.plan["variables"]["alarm_thresholds"]["value"]
    declared = monitoring_call(environment_plan.plan)["module"]["variables"]
    return {
        name: given[name] if given.get(name) is not None else declared[name]["default"]
        for name in THRESHOLDS
    }


def table_row(text: str, alarm: str) -> str:
    row = re.search(rf"^\| `snowplow-{re.escape(alarm)}_P[123]` \|.*$", text, re.MULTILINE)
    assert row, f"docs/alarms.md has no table row for snowplow-{alarm}"
    return row[0]


def meaning(text: str, heading: str) -> str:
    """The **Means:** paragraph of a section, on one line."""
    section = re.search(rf"^## {re.escape(heading)}\n\n\*\*Means:\*\*(.+?)\n\n", text, re.M | re.S)
    assert section, f"docs/alarms.md has no section '{heading}' opening with **Means:**"
    return section[1].replace("\n", " ")


def mentions(text: str, number: str) -> bool:
    """True when ``number`` stands in ``text`` as a whole number (not inside ``11 000``)."""
    return re.search(rf"(?<!\d)(?<!\d ){re.escape(number)}(?! ?\d)", text) is not None


def test_the_environment_sets_every_threshold_through_alarm_thresholds(
    environment_plan: PlanResult,
) -> None:
    given = environment_plan.plan["variables"]["alarm_thresholds"]["value"]
    assert set(given) == set(THRESHOLDS)
    expressions = monitoring_call(environment_plan.plan)["expressions"]
    for name in THRESHOLDS:
        assert f"var.alarm_thresholds.{name}" in expressions[name]["references"], name


@pytest.mark.parametrize("name", sorted(THRESHOLDS))
def test_the_runbook_states_the_deployed_threshold(environment_plan: PlanResult, name: str) -> None:
    alarm, heading, written = THRESHOLDS[name]
    number = written(deployed_thresholds(environment_plan)[name])
    text = RUNBOOK.read_text(encoding="utf-8")
    assert mentions(table_row(text, alarm), number), (
        f"docs/alarms.md's row for {alarm} must say {number!r} ({name})"
    )
    assert mentions(meaning(text, heading), number), (
        f"docs/alarms.md's section '{heading}' must say {number!r} ({name})"
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [(3600, "1 h"), (900, "15 min"), (5400, "90 min"), (45, "45 s"), (1800, "30 min")],
)
def test_durations_are_written_in_the_largest_whole_unit(value: int, written: str) -> None:
    assert duration(value) == written


@pytest.mark.parametrize(
    ("text", "number", "found"),
    [
        ("over 5% of requests", "5%", True),
        ("over 15% of requests", "5%", False),
        ("under 1 000 good events", "1 000", True),
        ("under 11 000 good events", "1 000", False),
        ("under 1 0000 good events", "1 000", False),
        ("under 1 000 000 good events", "1 000", False),
        ("above 5 500 000 bytes", "500 000 bytes", False),
        ("older than 15 min for", "15 min", True),
        ("older than 115 min for", "15 min", False),
    ],
)
def test_a_number_counts_only_when_it_stands_alone(text: str, number: str, found: bool) -> None:
    assert mentions(text, number) is found
