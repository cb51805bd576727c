"""What every run path is given, and what it gives back for the runner to account for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..actions.declaring import Action
from ..actions.validation import ValidationContext
from ..config import Settings
from ..errors import AlibabaCloudError
from ..events.invocation import Invocation
from ..rpc.client import CallResult, RpcClient

if TYPE_CHECKING:
    from ..runs.store import RunsStore


@dataclass(frozen=True)
class RunContext:
    """One run, as the runner sets it up: the action, the deployment, the client, the event read, the limits."""

    action: Action
    settings: Settings
    client: RpcClient
    invocation: Invocation
    deadline: float | None  # a time.monotonic() value, from Lambda's remaining time
    now: datetime
    request_size: int = 0  # the event's size in bytes: a result must fit beside it
    synchronous: bool = False  # the caller waits for the answer (a webhook): it may take up to 6 MB
    # a waiting caller's limit (time.monotonic()): writes that cannot end by then are not started here,
    # the run is answered Accepted and goes on asynchronously; None: this run does all its work
    defer_after: float | None = None
    # called once before the first request that may change anything is sent (a webhook holds its id for
    # good then); it raises, with nothing sent, when the change must not be made
    before_write: Callable[[], None] = field(default=lambda: None, compare=False)
    runs: RunsStore | None = None  # plans, change records and run statuses (RUNS_TABLE), when configured
    origin: str = "direct"  # who asked: a webhook's id, a schedule, a queue message

    def validation(self) -> ValidationContext:
        return ValidationContext(
            now=self.now, maintain_window=self.settings.maintain_window, scheduled_time=self.invocation.scheduled_time
        )


@dataclass(frozen=True)
class Ran:
    """What a path did. ``error`` failed the run (a direct caller gets it raised). ``call`` is a single
    call's success; a fleet has ``lines`` (one per target) and ``failed_calls``, the errors of its
    targets' calls, each to be logged, or is ``deferred``."""

    result: dict[str, Any]
    error: AlibabaCloudError | None = None
    call: CallResult | None = None
    lines: Sequence[dict[str, Any]] | None = None
    failed_calls: Sequence[AlibabaCloudError] = field(default_factory=tuple)
    deferred: bool = False  # nothing written: the work goes on in an asynchronous run (result Outcome Accepted)
    refused_codes: Sequence[str] = field(default_factory=tuple)  # a fleet's targets refused before any call
    throttled: int = 0  # attempts Alibaba throttled, every path's
    changes: Sequence[dict[str, Any]] = field(default_factory=tuple)  # every write that succeeded, for the record
