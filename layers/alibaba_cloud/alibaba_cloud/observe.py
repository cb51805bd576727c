"""Metrics and logs of what a function did, in one place: counts per action, and per error code.

Only the runner and the triggers observe; the run paths return what they did and this module
says it. Metrics are Powertools' EMF, used as documented: the ``Action`` dimension is a default
dimension of the function's ``Metrics``, and a count per error code (another dimension set) is an
``EphemeralMetrics`` blob flushed at once, which honours ``POWERTOOLS_METRICS_DISABLED`` as the
function's own metrics do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

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
        self.begin()

    def account(self, name: str) -> None:
        """The run acts in another Alibaba account: every log line and the metrics blob name it (as metadata:
        the metrics' dimensions, which the alarms read, stay the same)."""
        self.logger.append_keys(account=name)
        self.metrics.add_metadata(key="Account", value=name)

    def begin(self) -> None:
        """The ``Action`` dimension, a default one (kept across flushes, for every metric). Set again only
        where several functions share a process (local runs): Powertools keeps one set per process."""
        if self.metrics.default_dimensions.get("Action") != self.action_name:
            self.metrics.set_default_dimensions(Action=self.action_name)

    def count(self, name: str, error_code: str | None = None, value: int = 1) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        if error_code:
            self.count_by_code(name, error_code, value)

    def count_by_code(self, name: str, error_code: str, value: int) -> None:
        by_code = EphemeralMetrics(namespace=self.metrics.namespace)
        by_code.add_dimension(name="Action", value=self.action_name)
        by_code.add_dimension(name="ErrorCode", value=error_code)
        by_code.add_metric(name=name, unit=MetricUnit.Count, value=value)
        by_code.flush_metrics()

    def rejected(self, error: AlibabaCloudError) -> None:
        """An event refused before any call: counted per code, and logged for the operator."""
        self.count("Rejected", error.code)
        self.logger.warning(
            "Event rejected",
            extra={"error_code": error.code, "error_message": error.message, "http_status": error.http_status},
        )

    def call_succeeded(self, parameters: dict[str, str], request_id: str | None, attempts: int, hop: int) -> None:
        self.count("Calls")
        self.count("Successes")
        self.logger.info(
            "Call succeeded",
            extra={
                "action": self.action_name,
                "parameters": parameters,
                "request_id": request_id,
                "attempts": attempts,
                "hop": hop,
            },
        )

    def call_failed(self, error: AlibabaCloudError, counted: bool = True) -> None:
        if counted:
            self.count("Failures", error.code)
        log = self.logger.error if error.http_status >= 500 else self.logger.warning
        log(
            "Call failed",
            extra={
                "action": self.action_name,
                "error_code": error.code,
                "error_message": error.message,
                "request_id": error.request_id,
                "request_ids": error.request_ids,
                "attempts": error.attempts,
                "http_status": error.http_status,
                **{_snake(name): value for name, value in error.details().items()},
            },
        )

    def batch_finished(
        self, lines: Sequence[dict[str, Any]], result: dict[str, Any], hop: int, refused: Sequence[str] = ()
    ) -> None:
        """Totals once per batch, and per code: a target refused before any call (``refused``, its codes)
        is ``Rejected``, one whose call failed a ``Failure``; a batch with targets not attempted, or a
        selection not read to its end, is ``Incomplete``."""
        counts = result["Summary"]
        refusals = Counter(refused)
        failures = Counter(line["ErrorCode"] for line in lines if line["Outcome"] == "Failed") - refusals
        self.count("Calls", value=counts["Succeeded"] + failures.total())
        for name, outcome in (("Successes", "Succeeded"), ("NotAttempted", "NotAttempted"), ("Unchanged", "Unchanged")):
            self.count(name, value=counts[outcome])
        self.count("Failures", value=failures.total())
        for code, count in failures.items():
            self.count_by_code("Failures", code, count)
        if refusals:
            self.count("Rejected", value=refusals.total())
            for code, count in refusals.items():
                self.count_by_code("Rejected", code, count)
        if counts["NotAttempted"] or (result.get("Selection") or {}).get("Complete") is False:
            self.count("Incomplete")
        log = self.logger.info if result["Outcome"] == "Succeeded" else self.logger.warning
        log("Batch finished", extra={"action": self.action_name, "summary": counts, "hop": hop})

    def delivered(self, outcomes: Sequence[dict[str, Any]]) -> None:
        for outcome in outcomes:
            self.count("Delivered" if outcome["Delivered"] else "DeliveryFailures")
        failed = [o for o in outcomes if not o["Delivered"]]
        log = self.logger.warning if failed else self.logger.info
        log("Result delivered" if not failed else "Result not delivered to every URL", extra={"deliveries": outcomes})

    def deferred(self, result: dict[str, Any]) -> None:
        self.count("Deferred")
        self.logger.info(
            "Run goes on asynchronously", extra={"run_id": result.get("RunId"), "planned": result.get("Planned")}
        )

    def dead_lettered(self, error: AlibabaCloudError) -> None:
        self.count("DeadLettered", error.code)
        self.logger.warning(
            "Sent to the dead-letter queue at once: it can never succeed", extra={"error_code": error.code}
        )
