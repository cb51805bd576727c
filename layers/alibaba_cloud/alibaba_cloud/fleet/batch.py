"""Fleets: one action over many targets, with bounded concurrency, a request-rate cap and an error budget.

Modelled on Alibaba's Operation Orchestration Service ``RateControl``: ``Concurrency`` targets at
a time, at most ``MaxRequestsPerSecond`` requests (retries included), and once more than
``MaxErrors`` (a number, or a percentage of the targets) have failed, no new target is started.
Nor is one started when the invocation's deadline is near. Every target ends with an outcome:
``Succeeded`` (with its RequestId), ``Failed`` (with its code) or ``NotAttempted`` (with the
reason), so nothing is dropped and a re-run can take up exactly what is left.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..errors import AlibabaCloudError

MAX_CONCURRENCY = 64
PERCENT = re.compile(r"(\d{1,3})%")


def invalid(message: str) -> AlibabaCloudError:
    return AlibabaCloudError("InvalidParameter", message, http_status=400)


@dataclass(frozen=True)
class RateControl:
    concurrency: int = 10
    max_errors: int | str = 0
    max_requests_per_second: float | None = 10.0

    @classmethod
    def parse(cls, value: object) -> RateControl:
        if value is None:
            return cls()
        if not isinstance(value, dict) or set(value) - {"Concurrency", "MaxErrors", "MaxRequestsPerSecond"}:
            raise invalid("RateControl takes Concurrency, MaxErrors and MaxRequestsPerSecond.")
        concurrency = value.get("Concurrency", cls.concurrency)
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or not 1 <= concurrency <= MAX_CONCURRENCY:
            raise invalid(f"RateControl.Concurrency must be a whole number from 1 to {MAX_CONCURRENCY}.")
        max_errors = value.get("MaxErrors", cls.max_errors)
        valid_count = isinstance(max_errors, int) and not isinstance(max_errors, bool) and max_errors >= 0
        valid_percent = isinstance(max_errors, str) and (m := PERCENT.fullmatch(max_errors)) and int(m[1]) <= 100
        if not (valid_count or valid_percent):
            raise invalid('RateControl.MaxErrors must be a whole number from 0, or a percentage such as "10%".')
        rate = value.get("MaxRequestsPerSecond", cls.max_requests_per_second)
        if rate is not None and (not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate <= 1000):
            raise invalid("RateControl.MaxRequestsPerSecond must be a number above 0 and at most 1000.")
        return cls(concurrency, max_errors, None if rate is None else float(rate))

    def error_limit(self, total: int) -> int:
        """How many failures are tolerated before no new target is started."""
        if isinstance(self.max_errors, str):
            return math.floor(total * int(self.max_errors[:-1]) / 100)
        return self.max_errors

    def to_dict(self) -> dict[str, Any]:
        return {"Concurrency": self.concurrency, "MaxErrors": self.max_errors, "MaxRequestsPerSecond": self.max_requests_per_second}


class RateLimiter:
    """Hands out request slots at most ``rate`` a second, to any number of threads."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
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

    def __init__(self, rate_control: RateControl, deadline: float | None, reserve_seconds: float) -> None:
        self.rate_control = rate_control
        self.limiter = RateLimiter(rate_control.max_requests_per_second)
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
                elif (self.latest_start is not None and time.monotonic() > self.latest_start) or not pace():
                    outcome = not_attempted(target, "DeadlineNear")
                else:
                    try:
                        outcome = run_one(target, pace)
                    except Exception as exc:  # a bug must not lose the other targets' outcomes
                        outcome = {**not_attempted(target, ""), "Outcome": "Failed", "ErrorCode": "InternalError",
                                   "ErrorMessage": f"Unexpected {type(exc).__name__}; see the function's log."}
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
