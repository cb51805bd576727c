"""The HTTP API of template.yaml on 127.0.0.1: every ``HttpApi`` route, each request turned into the
payload 2.0 event API Gateway gives a function, and the local control endpoints:

* ``POST /_local/schedules/<Function>/<Event>``  fire a schedule now
* ``GET  /_local/dead-letters``                  what asynchronous invocations sent to their OnFailure destination
* ``GET  /_local/invocations``                   every invocation, its event and its outcome
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from local import template as app_template
from local.cloud import ACCOUNT, LocalCloud
from local.responder import LocalServer, Responder


class _Gateway(Responder):
    server: GatewayServer
    protocol_version = "HTTP/1.1"

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


class GatewayServer(LocalServer):
    def __init__(self, cloud: LocalCloud, port: int = 0) -> None:
        self.cloud = cloud
        super().__init__(("127.0.0.1", port), _Gateway)

    def stop(self) -> None:
        super().stop()
        self.cloud.stop()
