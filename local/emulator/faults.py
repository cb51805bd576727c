"""How the emulator misbehaves when told to: one answer per fault kind (see :class:`.state.Fault`).

Each takes the answering handler, the fault, the request's id and the request, answers (or does
not), and returns the status and code it recorded. ``latency`` is not here: it delays a normal answer.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import ecs
from .gateway import Request
from .state import Fault

if TYPE_CHECKING:
    from .server import EmulatorHandler

Misbehave = Callable[["EmulatorHandler", Fault, str, Request], tuple[int, str | None]]


def access_denied_detail(request: Request) -> dict[str, str]:
    """What Alibaba's RAM answers beside Forbidden.RAM: which policy type denied which action, for whom."""
    action = request.action or ""
    version = request.params.get("Version") or request.headers.get("x-acs-version")
    product = "ecs" if version == ecs.VERSION else "kvstore"
    return {
        "PolicyType": "AccountLevelIdentityBasedPolicy",
        "NoPermissionType": "ImplicitDeny",
        "AuthAction": f"{product}:{action}",
        "AuthPrincipalType": "SubUser",
        "AuthPrincipalDisplayName": "lifecycle-functions",
        "AuthPrincipalOwnerId": "1234567890123456",
        "EncodedDiagnosticMessage": base64.b64encode(f"deny {product}:{action}".encode()).decode(),
    }


def _error(status: int, code: str, message: str) -> Misbehave:
    """A fault that is an error answer like the gateway's own."""

    def answer(handler: EmulatorHandler, fault: Fault, request_id: str, request: Request) -> tuple[int, str | None]:
        handler.error(status, code, message, request_id)
        return status, code

    return answer


def _throttle(handler: EmulatorHandler, fault: Fault, request_id: str, request: Request) -> tuple[int, str | None]:
    fault_headers = {"x-acs-retry-after": str(fault.RetryAfterMs)}
    handler.error(400, "Throttling.User", "Request was denied due to user flow control.", request_id, fault_headers)
    return 400, "Throttling.User"


def _reset(handler: EmulatorHandler, fault: Fault, request_id: str, request: Request) -> tuple[int, str | None]:
    """An abortive close: the client reads a TCP RST."""
    handler.close_connection = True
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    return 0, None


def _drop(handler: EmulatorHandler, fault: Fault, request_id: str, request: Request) -> tuple[int, str | None]:
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)
    return 0, None


def _body(status: int, content_type: str, data: bytes | Callable[[str], bytes]) -> Misbehave:
    def answer(handler: EmulatorHandler, fault: Fault, request_id: str, request: Request) -> tuple[int, str | None]:
        handler.send_body(status, content_type, data(request_id) if callable(data) else data)
        return status, None

    return answer


def _denied(handler: EmulatorHandler, fault: Fault, request_id: str, request: Request) -> tuple[int, str | None]:
    message = "User not authorized to operate on the specified resource, or this API doesn't support RAM."
    handler.error(403, "Forbidden.RAM", message, request_id, detail=access_denied_detail(request))
    return 403, "Forbidden.RAM"


def _xml(handler: EmulatorHandler, fault: Fault, request_id: str, request: Request) -> tuple[int, str | None]:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><RequestId>{request_id}</RequestId>'
        f"<HostId>{handler.headers.get('Host', '')}</HostId><Code>InternalError</Code>"
        "<Message>The request processing has failed due to some unknown error.</Message>"
        "<Recommend>https://api.aliyun.com/troubleshoot?q=InternalError</Recommend></Error>"
    )
    handler.send_body(500, "text/xml;charset=utf-8", body.encode())
    return 500, "InternalError"


def _half_an_answer(request_id: str) -> bytes:
    return json.dumps({"RequestId": request_id}).encode()[:12]


MISBEHAVIOURS: dict[str, Misbehave] = {
    "throttle": _throttle,
    "internal": _error(
        500, "InternalError", "The request processing has failed due to some unknown error, exception or failure."
    ),
    "unavailable": _error(
        503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."
    ),
    "nonce_used": _error(400, "SignatureNonceUsed", "Specified signature nonce was used already."),
    "reset": _reset,
    "drop": _drop,
    "html": _body(502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "truncated": _body(200, "application/json", _half_an_answer),
    "text": _body(200, "text/plain", b"OK"),
    "denied": _denied,
    "xml": _xml,
}
