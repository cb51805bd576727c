"""Lambda's Invoke API on 127.0.0.1, for the runs a webhook hands on: ``POST
/2015-03-31/functions/<name>/invocations`` with ``X-Amz-Invocation-Type: Event``, signed with SigV4
(service ``lambda``) by credentials it knows, answered 202 and run in the background as the local
cloud runs any asynchronous invocation (its destinations included)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

from local.responder import LocalServer, Responder, signing_key_id

INVOKE_PATH = re.compile(r"/2015-03-31/functions/([^/]+)/invocations")


class LambdaStandIn(LocalServer):
    def __init__(self, run_async: Callable[[str, Any], None], credentials: dict[str, str]) -> None:
        """``run_async(function, event)`` runs an asynchronous invocation; ``credentials`` maps key ids to secrets."""
        self.run_async, self.credentials = run_async, credentials
        self.received: list[tuple[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        self.start()


class _Handler(Responder):
    server: LambdaStandIn
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = INVOKE_PATH.fullmatch(self.path)
        if match is None:
            return self._answer(404, {"Type": "User", "Message": f"No such route: {self.path}"})
        if not self._signed(body):
            return self._answer(403, {"Type": "User", "Message": "The request signature is not valid."})
        if self.headers.get("X-Amz-Invocation-Type") != "Event":
            return self._answer(400, {"Type": "User", "Message": "Only asynchronous invocations (Event) are served."})
        try:
            event = json.loads(body)
        except ValueError:
            return self._answer(400, {"Type": "User", "Message": "The payload is not JSON."})
        function = match[1]
        self.server.received.append((function, event))
        threading.Thread(target=self.server.run_async, args=(function, event), daemon=True).start()
        self.send_body(202, "application/json", b"")

    def _signed(self, body: bytes) -> bool:
        """Whether the request is signed as Lambda checks it: a known key, its scope, its signed headers."""
        return signing_key_id(self, body, self.server.credentials, "lambda") is not None

    def _answer(self, status: int, body: dict[str, str]) -> None:
        self.send_body(status, "application/json", json.dumps(body).encode())
