"""Metrics and logs of what a function did, in one place: counts per action, and per error code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from .errors import AlibabaCloudError


def _snake(name: str) -> str:
    """``AccessDeniedDetail`` as ``access_denied_detail``: log keys are snake case."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


class Observer:
    """EMF metrics (flushed by the function's ``log_metrics``) and structured log lines for one action."""

    def __init__(self, action_name: str, logger: Logger, metrics: Metrics) -> None:
        self.action_name = action_name
        self.logger = logger
        self.metrics = metrics

    def count(self, name: str, error_code: str | None = None, value: int = 1) -> None:
        if "Action" not in self.metrics.dimension_set:  # cleared by each flush
            self.metrics.add_dimension("Action", self.action_name)
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        if error_code:
            self.count_by_code(name, error_code, value)

    def count_by_code(self, name: str, error_code: str, value: int) -> None:
        if is_metrics_disabled():  # single_metric prints at once, setting or not
            return
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=value,
            namespace=self.metrics.namespace,
            default_dimensions={"Action": self.action_name, "ErrorCode": error_code},
        ):
            pass

    def rejected(self, error: AlibabaCloudError) -> None:
        """An event refused before any call: counted per code, and logged for the operator."""
        self.count("Rejected", error.code)
        self.logger.warning("Event rejected", extra={"error_code": error.code, "error_message": error.message,
                                                     "http_status": error.http_status})

    def call_failed(self, error: AlibabaCloudError, counted: bool = True) -> None:
        if counted:
            self.count("Failures", error.code)
        log = self.logger.error if error.http_status >= 500 else self.logger.warning
        log("Call failed", extra={
            "action": self.action_name,
            "error_code": error.code,
            "error_message": error.message,
            "request_id": error.request_id,
            "request_ids": error.request_ids,
            "attempts": error.attempts,
            "http_status": error.http_status,
            **{_snake(name): value for name, value in error.details().items()},
        })

    def batch_finished(self, lines: Sequence[dict[str, Any]], result: dict[str, Any], hop: int) -> None:
        """Totals once per batch, from this thread, and failures per code."""
        counts = result["Summary"]
        self.count("Calls", value=counts["Succeeded"] + counts["Failed"])
        for name, outcome in (("Successes", "Succeeded"), ("NotAttempted", "NotAttempted"), ("Unchanged", "Unchanged")):
            self.count(name, value=counts[outcome])
        codes = Counter(line["ErrorCode"] for line in lines if line["Outcome"] == "Failed")
        self.count("Failures", value=counts["Failed"])
        for code, count in codes.items():
            self.count_by_code("Failures", code, count)
        log = self.logger.info if result["Outcome"] == "Succeeded" else self.logger.warning
        log("Batch finished", extra={"action": self.action_name, "summary": counts, "hop": hop})

    def delivered(self, outcomes: Sequence[dict[str, Any]]) -> None:
        for outcome in outcomes:
            self.count("Delivered" if outcome["Delivered"] else "DeliveryFailures")
        failed = [o for o in outcomes if not o["Delivered"]]
        log = self.logger.warning if failed else self.logger.info
        log("Result delivered" if not failed else "Result not delivered to every URL", extra={"deliveries": outcomes})
