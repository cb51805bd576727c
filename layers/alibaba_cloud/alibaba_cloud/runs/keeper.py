"""What a run leaves in the runs store: its status while it writes and once done, and every change it made.

A record that cannot be kept does not lose the change: the result's lines carry each write, the log
line ``Changes not recorded`` carries every change, and the result says the record failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import AlibabaCloudError

if TYPE_CHECKING:
    from .store import RunsStore


class RunKeeper:
    def __init__(self, store: RunsStore, ttl_seconds: float, logger: Any) -> None:
        self.store, self.ttl, self.logger = store, ttl_seconds, logger

    def started(
        self, correlation_id: str | None, fleet: bool, before_write: Callable[[], None] | None
    ) -> Callable[[], None]:
        """Before the first write: the caller's own step, then a fleet's status ``InProgress`` (``{"Run": id}``)."""

        def started() -> None:
            if before_write is not None:
                before_write()
            if fleet:
                try:
                    status = {"State": "InProgress", "StartedAt": _now()}
                    self.store.put_status(correlation_id or "", status, time.time() + self.ttl, None)
                except AlibabaCloudError as error:
                    self.logger.error("The run's status could not be kept", extra={"reason": error.message})

        return started

    def keep(
        self,
        correlation_id: str | None,
        result: dict[str, Any],
        changes: Sequence[dict[str, Any]],
        origin: str,
        deadline: float | None,
        account: str | None = None,
    ) -> dict[str, Any] | None:
        """Every change on record (with the run, who asked, and the account it acted in) and the run's status
        with its result; what the result says of the records."""
        expires = time.time() + self.ttl
        run = {"CorrelationId": correlation_id, "Origin": origin, **({"Account": account} if account else {})}
        recorded = [{**c, **run} for c in changes]
        try:
            if recorded:
                self.store.record(correlation_id or "", recorded, expires, deadline)
            status = {"State": "Done", "FinishedAt": _now(), "Result": result}
            self.store.put_status(correlation_id or "", status, expires, deadline)
        except AlibabaCloudError as error:
            self.logger.error("Changes not recorded", extra={"reason": error.message, "changes": recorded})
            return {"Stored": False, "Error": error.message}
        return {"Stored": len(recorded)} if recorded else None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
