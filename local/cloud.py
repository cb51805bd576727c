"""The functions of template.yaml, loaded once each as Lambda would, and the glue between them.

Lambda's two invocation types (a webhook's synchronous one, a schedule's or a rule's asynchronous
one with its destinations), the event bus whose ``EventBridgeRule`` subscribers run with their
``InputPath``, and the scheduler that fires ``ScheduleV2`` events with their Input's
``<aws.scheduler.*>`` attributes filled in.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from local import template as app_template
from local.cron import Schedule
from local.emulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET
from local.lambda_api import LambdaStandIn
from local.runtime import LambdaContext, environment, load_function

ACCOUNT = "123456789012"
# what the functions sign AWS calls with when no stand-in of AWS gives its own (the Lambda Invoke stand-in checks it)
LOCAL_AWS_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDLOCALCLOUD",
    "AWS_SECRET_ACCESS_KEY": "local-cloud-secret",
    "AWS_REGION": "us-east-1",
}


def matches(pattern: Any, value: Any) -> bool:
    """EventBridge's exact-value matching: every pattern key present, leaves a list of allowed values."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            key in value and matches(sub, value[key]) for key, sub in pattern.items()
        )
    if isinstance(pattern, list):
        return any(matches(p, v) for p in pattern for v in (value if isinstance(value, list) else [value]))
    return pattern == value


def input_path(event: Any, path: str) -> Any:
    for part in path.removeprefix("$").strip(".").split("."):
        if part:
            event = event[part]
    return event


def account(outcome: Any) -> str:
    """One line for an invocation's outcome: an HTTP answer's status and code, a result's outcome and counts."""
    if isinstance(outcome, dict) and "statusCode" in outcome:
        try:
            body = json.loads(outcome.get("body") or "{}")
        except ValueError:
            body = {}
        return f"HTTP {outcome['statusCode']} " + account(body if isinstance(body, dict) else {})
    if not isinstance(outcome, dict):
        return str(outcome)[:200]
    if "errorMessage" in outcome:
        return f"failed: {outcome['errorMessage'][:200]}"
    parts = [outcome.get("Outcome") or outcome.get("Code") or ""]
    for key in ("Summary", "Planned", "Inventory"):
        if isinstance(outcome.get(key), dict):
            parts.append(" ".join(f"{k}={v}" for k, v in outcome[key].items() if v))
    if outcome.get("ErrorCode") or outcome.get("Message"):
        parts.append(str(outcome.get("ErrorCode") or outcome.get("Message"))[:120])
    return " ".join(p for p in parts if p)


def destination_record(context: LambdaContext, event: Any, condition: str, status: int, payload: Any) -> dict[str, Any]:
    """What Lambda sends an asynchronous invocation's destination: the request, the response, the condition."""
    now = datetime.now(UTC).isoformat()
    return {
        "version": "1.0",
        "timestamp": now,
        "requestContext": {
            "requestId": context.aws_request_id,
            "functionArn": context.invoked_function_arn + ":$LATEST",
            "condition": condition,
            "approximateInvokeCount": 1,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": status, "executedVersion": "$LATEST"},
        "responsePayload": payload,
    }


class LocalCloud:
    """The functions of the template, loaded once each as Lambda would, and the glue between them."""

    def __init__(
        self,
        emulator_url: str,
        webhook_secret: str,
        overrides: dict[str, Any] | None = None,
        credentials: tuple[str, str] = (DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET),
        aws_environment: dict[str, str] | None = None,
        report: Callable[[str], None] | None = None,
    ) -> None:
        """``aws_environment``: where the AWS services the template creates stand in.

        That is a :class:`local.aws.AwsStandIn`'s environment. ``report``: a one-line account of each
        invocation is given to it (``make serve`` prints them unless ``--verbose`` shows the logs).
        """
        self.report = report
        self.specs = app_template.functions(app_template.load(), overrides)
        self.webhook_secret = webhook_secret
        self.functions = {}
        aws_env = {**LOCAL_AWS_CREDENTIALS, **(aws_environment or {})}
        # the runs a webhook hands on come back here, as Lambda's Invoke API would take them
        self.lambda_api = LambdaStandIn(
            self.invoke_async, {aws_env["AWS_ACCESS_KEY_ID"]: aws_env["AWS_SECRET_ACCESS_KEY"]}
        )
        local_env = {
            "ALIBABA_CLOUD_ENDPOINT": emulator_url,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": credentials[0],
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": credentials[1],
            "WEBHOOK_SECRET": webhook_secret,
            "ALIBABA_CLOUD_CREDENTIALS_SECRET_ID": None,
            "WEBHOOK_SECRET_ID": None,
            "NOTIFY_ALLOW_HTTP": "true",
            # a laptop's receivers and functions listen on loopback, which events may not reach in AWS
            "NOTIFY_ALLOWED_NETWORKS": "127.0.0.0/8",
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_api.url,
            **aws_env,
        }
        for logical_id, spec in self.specs.items():
            with environment({**spec.environment, **local_env, "AWS_LAMBDA_FUNCTION_NAME": logical_id}):
                self.functions[logical_id] = load_function(spec.code_dir.name)
        self.routes = {route: logical_id for logical_id, spec in self.specs.items() for route in spec.routes}
        self.dead_letters: list[dict[str, Any]] = []
        self.invocations: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    # Lambda's two invocation types

    def invoke_http(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        answer = self.functions[logical_id].lambda_handler(event, self._context(logical_id))
        self._record(logical_id, "RequestResponse", event, answer)
        return answer

    def invoke_async(self, logical_id: str, event: Any) -> None:
        """An asynchronous invocation: no retries (as configured), then its destination."""
        spec = self.specs[logical_id]
        context = self._context(logical_id)
        try:
            result = self.functions[logical_id].lambda_handler(event, context)
        except Exception as error:  # what Lambda records for a failed invocation
            record = destination_record(
                context,
                event,
                "RetriesExhausted",
                200,
                {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": []},
            )
            self._record(logical_id, "Event", event, record["responsePayload"])
            if spec.on_failure:
                with self.lock:
                    self.dead_letters.append(record)
            return
        self._record(logical_id, "Event", event, result)
        if spec.on_success == "EventBridge":
            record = destination_record(context, event, "Success", 200, result)
            self.put_event("Lambda Function Invocation Result - Success", record)

    def _context(self, logical_id: str) -> LambdaContext:
        """A context with the function's own timeout left, as Lambda starts an invocation."""
        return LambdaContext(logical_id, remaining_ms=self.specs[logical_id].timeout * 1000)

    def stop(self) -> None:
        self.lambda_api.stop()

    # The bus and the scheduler

    def put_event(self, detail_type: str, detail: dict[str, Any]) -> None:
        envelope = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "lambda",
            "account": ACCOUNT,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
        for logical_id, spec in self.specs.items():
            for rule in spec.rules.values():
                if matches(rule.get("Pattern", {}), envelope):
                    self.invoke_async(logical_id, input_path(envelope, rule.get("InputPath", "$")))

    def fire(self, logical_id: str, event_name: str, scheduled_time: datetime | None = None) -> None:
        schedule = self.specs[logical_id].schedules[event_name]
        when = (scheduled_time or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = schedule.get("Input") or "{}"
        for name, value in {
            "scheduled-time": when,
            "execution-id": str(uuid.uuid4()),
            "attempt-number": "1",
            "schedule-arn": f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/default/{logical_id}-{event_name}",
        }.items():
            text = text.replace(f"<aws.scheduler.{name}>", value)
        self.invoke_async(logical_id, json.loads(text))

    def schedules(self, include_disabled: bool = False) -> list[tuple[str, str, Schedule]]:
        found = []
        for logical_id, spec in self.specs.items():
            for name, props in spec.schedules.items():
                if include_disabled or props.get("State", "ENABLED") == "ENABLED":
                    found.append(
                        (
                            logical_id,
                            name,
                            Schedule(props["ScheduleExpression"], props.get("ScheduleExpressionTimezone")),
                        )
                    )
        return found

    def run_cron(self, stop: threading.Event, include_disabled: bool = False) -> None:
        entries = self.schedules(include_disabled)
        while not stop.is_set():
            now = datetime.now(UTC)
            stop.wait(60 - now.second - now.microsecond / 1e6)
            minute = datetime.now(UTC).replace(second=0, microsecond=0)
            for logical_id, name, schedule in entries:
                if not stop.is_set() and schedule.due(minute):
                    threading.Thread(target=self.fire, args=(logical_id, name, minute), daemon=True).start()

    def _record(self, logical_id: str, kind: str, event: Any, outcome: Any) -> None:
        with self.lock:
            self.invocations.append(
                {"Function": logical_id, "InvocationType": kind, "Event": event, "Outcome": outcome}
            )
