"""The emulator's HTTP server on 127.0.0.1: each request recorded, faults taken, the gateway run, errors
answered as Alibaba's gateway shapes them."""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

from ..responder import LocalServer, Responder
from .control import PREFIX, control
from .faults import MISBEHAVIOURS
from .gateway import COMMON, RECORDED_HEADERS, V3_ALGORITHM, Gateway, Request
from .state import ApiError, EmulatorState, Fault, Instance, Received


def _credential(authorization: str) -> str | None:
    """The AccessKeyId of an ACS3 Authorization header (``Credential=<id>,``)."""
    match = re.search(r"Credential=([^,]+)", authorization)
    return match[1] if match else None


class EmulatorHandler(Responder):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if url.path.startswith(PREFIX):
            return self.send_json(*control(self.server.state, method, url.path, body))
        self._api(method, url.query, body)

    def _api(self, method: str, query: str, body: bytes) -> None:
        state = self.server.state
        request_id = str(uuid.uuid4()).upper()
        try:
            pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
            params = dict(pairs)
            if body and self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict"))
        except (UnicodeDecodeError, ValueError):
            return self.error(400, "InvalidParameter", "The request is not valid UTF-8 form data.", request_id)
        request = Request(method, params, pairs, {k.lower(): v for k, v in self.headers.items()}, body)
        record = Received(
            request.action,
            {k: v for k, v in params.items() if k not in COMMON},
            Nonce=request.nonce,
            RequestId=request_id,
            Arrived=time.monotonic(),
            ClientPort=self.client_address[1],
            Signature="V3" if request.headers.get("authorization", "").startswith(V3_ALGORITHM) else "V2",
            Headers={k: request.headers[k] for k in RECORDED_HEADERS if k in request.headers},
            AccessKeyId=params.get("AccessKeyId") or _credential(request.headers.get("authorization", "")),
        )
        with state.lock:
            state.received.append(record)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            self._answer(request, record, request_id)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _answer(self, request: Request, record: Received, request_id: str) -> None:
        state = self.server.state
        fault = state.take_fault(request.action)
        if fault and fault.Kind == "latency":
            time.sleep(fault.Seconds)
            fault = None
        if fault:
            record.Status, record.Code = MISBEHAVIOURS[fault.Kind](self, fault, request_id, request)
            return
        try:
            answer = Gateway(state).handle(request)
        except ApiError as error:
            record.Status, record.Code = error.status, error.code
            return self.error(error.status, error.code, error.message, request_id)
        record.Status = 200
        self.send_json(200, {"RequestId": request_id, **answer})

    def error(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str,
        headers: dict[str, str] | None = None,
        detail: dict[str, str] | None = None,
    ) -> None:
        """An error as Alibaba's gateway answers it: RequestId, HostId, Code, Message, Recommend."""
        body = {
            "RequestId": request_id,
            "HostId": self.headers.get("Host", "127.0.0.1"),
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
            **({"AccessDeniedDetail": detail} if detail else {}),
        }
        self.send_json(status, body, headers)

    def send_json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, "application/json;charset=utf-8", json.dumps(payload).encode(), headers)


class EmulatorServer(LocalServer):
    thread_name = "alibaba-cloud-emulator"

    def __init__(self, port: int = 0, state: EmulatorState | None = None) -> None:
        self.state = state or EmulatorState()
        super().__init__(("127.0.0.1", port), EmulatorHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # dropped connections are injected on purpose; nothing to report

    def add_credentials(self, access_key_id: str, secret: str, token: str | None = None) -> None:
        self.state.credentials[access_key_id] = (secret, token)

    def add_instance(self, instance_id: str, product: str, **fields: object) -> Instance:
        instance = Instance(instance_id, product, **fields)  # type: ignore[arg-type]
        self.state.instances[instance_id] = instance
        return instance

    def inject(self, kind: str, times: int = 1, **options: object) -> None:
        self.state.faults.append(Fault(kind, times, **options))  # type: ignore[arg-type]
