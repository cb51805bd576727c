"""What the tests share: the test account, real-shaped events and the readers of what a function printed.

Fixtures live in ``conftest.py``; everything a test module imports comes from here, so no test
module imports another.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from alibaba_cloud.delivery.standard_webhooks import decode_secret, sign_headers
from local.runtime import sample_event

ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEY_ID = "LTAI5tTestAccessKey01"
ACCESS_KEY_SECRET = "tEsT-sEcReT/with+odd=chars&%"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"webhook-key-for-tests-0123456789").decode()
REDIS_ID = "r-bp1zxszhcgatnx1test"
ECS_ID = "i-bp1env7nl3mijm2test"
PREPAID_ID = "i-bp1subscription1test"
MAINTAIN = "modify_instance_maintain_time"
RELEASE = "modify_instance_auto_release_time"

# Settings that a developer's shell might carry must not leak into the tests.
CLEAN_ENV = {
    name: None
    for name in (
        "ALIBABA_CLOUD_ENDPOINT",
        "ALIBABA_CLOUD_REGION_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
        "ALIBABA_CLOUD_CREDENTIALS_SECRET_ID",
        "ALIBABA_CLOUD_NETWORK",
        "ALIBABA_CLOUD_READ_TIMEOUT",
        "ALIBABA_CLOUD_CONNECT_TIMEOUT",
        "WEBHOOK_SECRET",
        "WEBHOOK_SECRET_ID",
        "MAINTAIN_WINDOW_RULE",
        "POWERTOOLS_METRICS_DISABLED",
        "NOTIFY_URLS",
        "NOTIFY_ALLOW_HTTP",
        "NOTIFY_ALLOWED_HOSTS",
        "NOTIFY_ALLOWED_NETWORKS",
        "CHAIN_MAX_HOPS",
        "CHAIN_MAX_INVOCATIONS",
        "ALIBABA_CLOUD_SIGNATURE_VERSION",
        "ALIBABA_CLOUD_MAX_ATTEMPTS",
        "ALIBABA_CLOUD_RETRY_BASE_DELAY",
        "ALIBABA_CLOUD_RETRY_MAX_DELAY",
        "ALIBABA_CLOUD_DEADLINE_MARGIN",
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
        "AWS_SESSION_TOKEN",
    )
}


def add_fleet(emulator, count: int, product: str = "Ecs", prefix: str = "i-tagged", **fields) -> list[str]:
    """``count`` instances ``<prefix>00000``…, tagged env=dev unless ``Tags`` says otherwise (each its own copy)."""
    tags = fields.pop("Tags", {"env": "dev"})
    ids = [f"{prefix}{n:05d}" for n in range(count)]
    for instance_id in ids:
        emulator.add_instance(instance_id, product, Tags=dict(tags), **fields)
    return ids


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def in_future(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


# A maintenance window every test may set: one hour, as the API requires.
WINDOW = {"MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}
GOOD = {"InstanceId": REDIS_ID, **WINDOW}
SESSION_TOKEN = "aws-session-token-for-the-extension"


def webhook_event(
    function: str,
    body: str | bytes | dict,
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    base64_body: bool = False,
    headers: dict | None = None,
) -> dict:
    """The function's sample API Gateway HTTP API event, with this body, signed now (or as told)."""
    raw = json.dumps(body).encode() if isinstance(body, dict) else body if isinstance(body, bytes) else body.encode()
    event = sample_event(function, "webhook")
    event["body"] = base64.b64encode(raw).decode() if base64_body else raw.decode()
    event["isBase64Encoded"] = base64_body
    event["headers"].update(sign_headers(decode_secret(secret), f"msg_{uuid.uuid4().hex}", raw, timestamp))
    event["headers"].update(headers or {})
    event["requestContext"]["requestId"] = uuid.uuid4().hex
    return event


def answer_of(response: dict) -> tuple[int, dict]:
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def sqs_event(*bodies: object) -> dict:
    """The maintain function's sample SQS event with one record per body (a dict is sent as JSON)."""
    event = sample_event(MAINTAIN, "sqs")
    template = event["Records"][0]
    event["Records"] = [
        {**template, "messageId": f"m-{i}", "body": body if isinstance(body, str) else json.dumps(body)}
        for i, body in enumerate(bodies)
    ]
    return event


def closed_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (bound a moment to find it, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unresolvable(monkeypatch, *hosts: str) -> None:
    """Make ``hosts`` not resolve, in-process: no query leaves the machine."""
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host in hosts:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)


def emf(printed: str) -> list[dict]:
    """The EMF metric blobs among what a function printed (one JSON object a line)."""
    return [json.loads(line) for line in printed.splitlines() if line.startswith('{"_aws"')]


def log_lines(printed: str) -> list[dict]:
    """Every JSON line a function printed: its log lines and its EMF blobs."""
    return [json.loads(line) for line in printed.splitlines() if line.startswith("{")]


class FakeExtension(ThreadingHTTPServer):
    """Answers GET /secretsmanager/get?secretId=... like the extension, checking its token header."""

    def __init__(self, secrets: dict[str, str]):
        self.secrets = secrets
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                secret_id = parse_qs(url.query).get("secretId", [""])[0]
                outer.requests.append(secret_id)
                if self.headers.get("X-Aws-Parameters-Secrets-Token") != SESSION_TOKEN:
                    status, body = 401, {"message": "missing token"}
                elif url.path != "/secretsmanager/get" or secret_id not in outer.secrets:
                    status, body = 400, {"message": "not found"}
                else:
                    status, body = 200, {"Name": secret_id, "SecretString": outer.secrets[secret_id]}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.shutdown()
        self.server_close()
