"""When to try again: capped exponential backoff with full jitter, within the invocation's deadline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import AlibabaCloudError

if TYPE_CHECKING:
    from random import Random


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how far apart, and how much of the invocation to keep for reporting.

    The gateway's ``x-acs-retry-after`` wins over the computed delay. ``margin`` is kept free
    before Lambda's deadline so a failure is reported (and reaches the OnFailure destination)
    instead of the invocation being killed mid-wait.
    """

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    margin: float = 1.0
    min_attempt_time: float = 0.2  # an attempt with less time than this cannot get an answer

    def delay(self, attempt: int, error: AlibabaCloudError, rng: Random | None = None) -> float:
        if error.retry_after is not None:
            return error.retry_after
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        import random  # only a retry pays for it

        return (rng or random).uniform(0, ceiling)
