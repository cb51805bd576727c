"""A schedule's, a rule's or a caller's direct event: the result returned, or the error raised for
Lambda to report (its message starts with the code), so the OnFailure destination receives it."""

from __future__ import annotations

from typing import Any

from ..errors import AlibabaCloudError, internal_error
from ..runner import Runner, deadline_of
from .common import event_size


class DirectTrigger:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        observer = self.runner.observer
        correlation_id = getattr(context, "aws_request_id", None)
        observer.logger.set_correlation_id(correlation_id)
        try:
            try:
                size = event_size(event)  # held to a webhook body's limit: its result must fit beside it
            except AlibabaCloudError as error:
                observer.rejected(error)
                raise
            origin = "schedule" if isinstance(event, dict) and "ScheduledTime" in event else "direct"
            result, error = self.runner.run(event, correlation_id, deadline_of(context), size, origin=origin)
        except AlibabaCloudError:
            raise
        except Exception:
            observer.logger.exception("Unexpected failure")
            raise internal_error() from None
        if error is not None:
            raise error
        return result
