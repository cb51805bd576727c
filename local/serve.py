"""``make serve``: the application in template.yaml, running on this machine against the emulator.

* every ``HttpApi`` route is served on 127.0.0.1, each request turned into a payload 2.0 event;
* every ``ScheduleV2`` fires on demand (``POST /_local/schedules/<Function>/<Event>``), and on its
  cron with ``--cron`` (enabled schedules; ``--all-schedules`` for disabled ones too), its Input's
  ``<aws.scheduler.*>`` attributes filled in;
* results of scheduled and chained (asynchronous) invocations go to their destinations: on success
  to the local bus, whose ``EventBridgeRule`` subscribers run with their ``InputPath``; on failure
  to the local dead-letter list (``GET /_local/dead-letters``).

Webhook chains need nothing more: a function's ``NotifyUrls`` may name these routes.
"""

from __future__ import annotations

import argparse
import base64
import errno
import json
import os
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from alibaba_cloud.config import ConfigurationError
from alibaba_cloud.delivery.standard_webhooks import parse_secrets
from local import template as app_template
from local.aws import REPLAY_TABLE, AwsStandIn
from local.cron import Schedule
from local.emulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, EmulatorServer, seed_demo
from local.responder import Responder
from local.runtime import LambdaContext, environment, load_function

ACCOUNT = "123456789012"


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


class LocalCloud:
    """The functions of the template, loaded once each as Lambda would, and the glue between them."""

    def __init__(
        self,
        emulator_url: str,
        webhook_secret: str,
        overrides: dict[str, Any] | None = None,
        credentials: tuple[str, str] = (DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET),
        aws_environment: dict[str, str] | None = None,
    ) -> None:
        """``aws_environment``: where the AWS services the template creates stand in.

        That is a :class:`local.aws.AwsStandIn`'s environment.
        """
        self.specs = app_template.functions(app_template.load(), overrides)
        self.webhook_secret = webhook_secret
        self.functions = {}
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
            **(aws_environment or {}),
        }
        for logical_id, spec in self.specs.items():
            with environment({**spec.environment, **local_env}):
                self.functions[logical_id] = load_function(spec.code_dir.name)
        self.routes = {route: logical_id for logical_id, spec in self.specs.items() for route in spec.routes}
        self.dead_letters: list[dict[str, Any]] = []
        self.invocations: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    # Lambda's two invocation types

    def invoke_http(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        answer = self.functions[logical_id].lambda_handler(event, LambdaContext(logical_id))
        self._record(logical_id, "RequestResponse", event, answer)
        return answer

    def invoke_async(self, logical_id: str, event: Any) -> None:
        """An asynchronous invocation: no retries (as configured), then its destination."""
        spec = self.specs[logical_id]
        context = LambdaContext(logical_id)
        try:
            result = self.functions[logical_id].lambda_handler(event, context)
        except Exception as error:  # what Lambda records for a failed invocation
            record = self._destination_record(
                logical_id,
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
            record = self._destination_record(logical_id, context, event, "Success", 200, result)
            self.put_event("Lambda Function Invocation Result - Success", record)

    def _destination_record(self, logical_id, context, event, condition, status, payload) -> dict[str, Any]:
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


class _Gateway(Responder):
    server: GatewayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        cloud = self.server.cloud
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path.startswith("/_local/"):
            return self._control(method, url.path)
        route = (method, url.path) if (method, url.path) in cloud.routes else ("ANY", url.path)
        logical_id = cloud.routes.get(route)
        if logical_id is None:
            return self.send_body(404, "application/json", json.dumps({"message": "Not Found"}).encode())
        answer = cloud.invoke_http(logical_id, self._event(method, url, body, f"{route[0]} {url.path}"))
        data = (
            base64.b64decode(answer["body"]) if answer.get("isBase64Encoded") else str(answer.get("body", "")).encode()
        )
        self.send_body(
            answer.get("statusCode", 200),
            answer.get("headers", {}).get("Content-Type", "application/json"),
            data,
            {k: v for k, v in answer.get("headers", {}).items() if k != "Content-Type"},
        )

    def _event(self, method: str, url, body: bytes, route_key: str) -> dict[str, Any]:
        """What API Gateway's HTTP API (payload 2.0) gives the function for this request."""
        try:
            text, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        now = datetime.now(UTC)
        return {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": url.path,
            "rawQueryString": url.query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": "local",
                "domainName": self.headers.get("Host", ""),
                "http": {
                    "method": method,
                    "path": url.path,
                    "protocol": self.request_version,
                    "sourceIp": self.client_address[0],
                    "userAgent": self.headers.get("User-Agent", ""),
                },
                "requestId": uuid.uuid4().hex[:16],
                "routeKey": route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "body": text,
            "isBase64Encoded": encoded,
        }

    def _control(self, method: str, path: str) -> None:
        cloud = self.server.cloud
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 4 and parts[1] == "schedules":
            if parts[3] not in cloud.specs.get(parts[2], app_template.FunctionSpec("", app_template.ROOT)).schedules:
                return self.send_body(404, "application/json", json.dumps({"message": "no such schedule"}).encode())
            cloud.fire(parts[2], parts[3])
            return self.send_body(200, "application/json", json.dumps({"Fired": f"{parts[2]}/{parts[3]}"}).encode())
        if method == "GET" and parts[1:] == ["dead-letters"]:
            return self.send_body(200, "application/json", json.dumps(cloud.dead_letters, default=str).encode())
        if method == "GET" and parts[1:] == ["invocations"]:
            return self.send_body(200, "application/json", json.dumps(cloud.invocations, default=str).encode())
        self.send_body(404, "application/json", json.dumps({"message": "Not Found"}).encode())


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cloud: LocalCloud, port: int = 0) -> None:
        self.cloud = cloud
        super().__init__(("127.0.0.1", port), _Gateway)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> GatewayServer:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def taken(error: Exception, option: str, port: int) -> str:
    """One line for a port in use (the common case), else the error itself."""
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return f"Port {port} is taken: pick another with SERVE_ARGS='{option} {port + 1}'."
    return f"make serve cannot start: {error}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Serve template.yaml's routes and schedules locally, against the emulator."
    )
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--emulator-port", type=int, default=8080)
    parser.add_argument("--cron", action="store_true", help="fire enabled schedules on their expressions")
    parser.add_argument("--all-schedules", action="store_true", help="with --cron, disabled schedules too")
    args = parser.parse_args()
    # $WEBHOOK_SECRET, when it is set, is kept: callers signing with it need not change after a restart
    webhook_secret = os.environ.get("WEBHOOK_SECRET") or "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    try:
        parse_secrets(webhook_secret)
        emulator = EmulatorServer(args.emulator_port).start()
    except (ConfigurationError, OSError) as error:
        raise SystemExit(taken(error, "--emulator-port", args.emulator_port)) from None
    seed_demo(emulator)
    aws = AwsStandIn().start()  # the webhook-id table and the dead-letter queue, as DynamoDB and SQS
    cloud = LocalCloud(emulator.url, webhook_secret, aws_environment=aws.environment())
    try:
        gateway = GatewayServer(cloud, args.port).start()
    except OSError as error:
        aws.stop()
        emulator.stop()
        raise SystemExit(taken(error, "--port", args.port)) from None
    stop = threading.Event()
    if args.cron:
        threading.Thread(target=cloud.run_cron, args=(stop, args.all_schedules), daemon=True).start()
    print(f"Alibaba Cloud emulator: {emulator.url}   (state: {emulator.url}/_emulator/instances)")
    print(f"Webhook secret:         {webhook_secret}   (keep it across restarts: export WEBHOOK_SECRET=... first)")
    print(f"DynamoDB and SQS:       {aws.url}   (webhook ids: table {REPLAY_TABLE}; dead letters: {aws.queue_url})")
    for (method, path), logical_id in cloud.routes.items():
        print(f"Route:    {method} {gateway.url}{path} -> {logical_id}")
    for logical_id, name, schedule in cloud.schedules(include_disabled=True):
        state = cloud.specs[logical_id].schedules[name].get("State", "ENABLED")
        fired = "fired by --cron" if state == "ENABLED" else "fired by --cron --all-schedules"
        print(
            f"Schedule: {state:8} {schedule.expression} -> {logical_id}/{name}  ({fired}; now: "
            f"curl -X POST {gateway.url}/_local/schedules/{logical_id}/{name})"
        )
    print(
        f'\nTry:\n  export WEBHOOK_SECRET={webhook_secret}\n  eval "$(python -m local.sign --body '
        f'\'{{"InstanceId": "r-bp1zxszhcgatnx2demo", "MaintainStartTime": "04:00Z", "MaintainEndTime": "05:00Z"}}\' '
        f'--curl {gateway.url}/redis/maintain-time)"\n\nCtrl-C stops.',
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        gateway.stop()
        aws.stop()
        emulator.stop()


if __name__ == "__main__":
    main()
