"""The base class of the project's checks (this file defines no check)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

GUIDELINE = "docs/plan-review.md#policies"


class SnowplowCheck(BaseResourceCheck):
    """A resource check that explains its verdict in ``details`` and fails closed on errors.

    checkov drops a check that raises from its report, so an error here would pass silently;
    instead it fails the resource and says why.
    """

    def __init__(
        self, check_id: str, name: str, category: CheckCategories, resources: list[str]
    ) -> None:
        super().__init__(
            name=name,
            id=check_id,
            categories=[category],
            supported_resources=resources,
            guideline=GUIDELINE,
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        try:
            problems = self.problems(conf)
        except Exception as error:  # fail closed, with the reason
            self.details.append(f"{self.id} could not evaluate this resource: {error!r}.")
            return CheckResult.FAILED
        if problems is None:
            return CheckResult.UNKNOWN
        if problems:
            self.details.extend(problems)
            return CheckResult.FAILED
        return CheckResult.PASSED

    @abstractmethod
    def problems(self, conf: dict[str, Any]) -> list[str] | None:
        """Sentences naming what is wrong; empty when the resource passes; None when this scan
        cannot judge the resource at all (checkov then reports nothing for it).

        Notes about what could not be judged go to ``self.details`` directly.
        """
