"""Targets run through a thread pool under a :class:`~alibaba_cloud.events.batch.RateControl`.

``Concurrency`` targets at a time, request slots at most ``MaxRequestsPerSecond`` (retries
included), no new target once more than ``MaxErrors`` have failed or when the invocation's deadline
is near. Every target ends with an outcome line: ``Succeeded`` (with its RequestId), ``Failed``
(with its code) or ``NotAttempted`` (with the reason), so nothing is dropped and a re-run can take
up exactly what is left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...events.batch import RateControl

ASSUMED_CALL_SECONDS = 0.25  # what one write to Alibaba takes, to estimate a batch before it runs


def estimated_seconds(writes: int, rate_control: RateControl) -> float:
    """How long ``writes`` calls take under ``rate_control``: its rate cap, or its concurrency at a usual latency."""
    rate = rate_control.concurrency / ASSUMED_CALL_SECONDS
    if rate_control.max_requests_per_second is not None:
        rate = min(rate, rate_control.max_requests_per_second)
    return writes / rate


class RateLimiter:
    """Hands out request slots at most ``rate`` a second, to any number of threads."""

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1 / rate if rate else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = clock()
        self._lock = threading.Lock()

    def acquire(self, not_after: float | None = None) -> bool:
        """Wait for a slot; ``False`` (without waiting) if the slot would come after ``not_after``."""
        if not self.interval:
            return True
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            if not_after is not None and slot > not_after:
                return False
            self._next = slot + self.interval
        if slot > now:
            self.sleep(slot - now)
        return True


RunOne = Callable[[Any, Callable[[], bool]], dict[str, Any]]
NotAttempted = Callable[[Any, str], dict[str, Any]]


class BatchRunner:
    """Runs targets through ``run_one`` (which returns a target's outcome line) under a rate control;
    a target not started gets ``not_attempted(target, reason)``'s line."""

    def __init__(
        self,
        rate_control: RateControl,
        deadline: float | None,
        reserve_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate_control = rate_control
        self.clock = clock
        self.limiter = RateLimiter(rate_control.max_requests_per_second, clock, sleep)
        self.latest_start = None if deadline is None else deadline - reserve_seconds
        self._lock = threading.Lock()

    def run(self, targets: Sequence[Any], run_one: RunOne, not_attempted: NotAttempted) -> list[dict[str, Any]]:
        if not targets:
            return []
        outcomes: list[dict[str, Any] | None] = [None] * len(targets)
        limit = self.rate_control.error_limit(len(targets))
        state = {"next": 0, "failed": 0}

        def pace() -> bool:
            return self.limiter.acquire(self.latest_start)

        def worker() -> None:
            while True:
                with self._lock:
                    index = state["next"]
                    if index >= len(targets):
                        return
                    state["next"] += 1
                    over_budget = state["failed"] > limit
                target = targets[index]
                if over_budget:
                    outcome = not_attempted(target, "MaxErrorsExceeded")
                elif (self.latest_start is not None and self.clock() > self.latest_start) or not pace():
                    outcome = not_attempted(target, "DeadlineNear")
                else:
                    try:
                        outcome = run_one(target, pace)
                    except Exception as exc:  # a bug must not lose the other targets' outcomes
                        outcome = {
                            **not_attempted(target, ""),
                            "Outcome": "Failed",
                            "ErrorCode": "InternalError",
                            "ErrorMessage": f"Unexpected {type(exc).__name__}; see the function's log.",
                        }
                        outcome.pop("Reason", None)
                with self._lock:
                    outcomes[index] = outcome
                    if outcome["Outcome"] == "Failed":
                        state["failed"] += 1

        workers = min(self.rate_control.concurrency, len(targets))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="target") as pool:
            for future in [pool.submit(worker) for _ in range(workers)]:
                future.result()
        return [outcome for outcome in outcomes if outcome is not None]
