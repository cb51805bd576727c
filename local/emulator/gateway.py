"""The emulator's gateway: what Alibaba's RPC gateway does before an action runs, and the HTTP server.

It verifies HMAC-SHA1 and ACS3-HMAC-SHA256 signatures with its own code (never the layer's),
refuses stale timestamps and reused nonces and parameters the action does not take, and can be
told to misbehave (throttling, 5xx, latency, dropped connections, garbage). Each product's state
and rules are in their own module (:mod:`local.emulator.ecs`, :mod:`local.emulator.r_kvstore`).

Inspect and steer it over HTTP:

* ``GET  /_emulator/instances``      every instance and its state
* ``POST /_emulator/instances``      add or replace instances:
  ``[{"InstanceId": ..., "Product": "Ecs"|"R-kvstore", ...}]``
* ``POST /_emulator/faults``         queue faults: ``[{"Kind": "throttle", "Times": 2}, ...]``
* ``GET  /_emulator/requests``       what the gateway received, oldest first
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import struct
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from ..responder import Responder
from . import ecs, r_kvstore
from .state import ApiError, EmulatorState, Fault, Instance, Received

UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
COMMON = {
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "SignatureType",
    "Timestamp",
    "SecurityToken",
}
# RegionId: aliyun-python-sdk-core sends it with every action. The owner parameters: every action of
# both products' official models lists them.
TAKEN_BY_EVERY_ACTION = {"RegionId", "OwnerId", "OwnerAccount", "ResourceOwnerAccount", "ResourceOwnerId"}
LONG_PARAMETERS = ("OwnerId", "ResourceOwnerId")
TIMESTAMP_TOLERANCE = timedelta(minutes=15)
V3_ALGORITHM = "ACS3-HMAC-SHA256"
RECORDED_HEADERS = ("user-agent", "accept")
ACTIONS = {**ecs.ACTIONS, **r_kvstore.ACTIONS}  # (version, action) -> (takes(name), run(state, params))


def rfc3986(text: str) -> str:
    """Alibaba's percent-encoding, byte by byte (deliberately not the layer's implementation)."""
    return "".join(chr(b) if b in UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def server_string_to_sign(method: str, params: dict[str, str]) -> str:
    pairs = sorted((k.encode("utf-8"), k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for _, k, v in pairs)
    return "&".join((method, rfc3986("/"), rfc3986(canonical)))


def server_signature(string_to_sign: str, secret: str) -> str:
    mac = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


@dataclass
class Request:
    method: str
    params: dict[str, str]  # query and form body together
    query: list[tuple[str, str]]  # the query alone, as sent
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def action(self) -> str | None:
        return self.params.get("Action") or self.headers.get("x-acs-action")

    @property
    def nonce(self) -> str | None:
        return self.params.get("SignatureNonce") or self.headers.get("x-acs-signature-nonce")


class Gateway:
    """Checks a request as Alibaba's gateway does (either signature scheme), then runs the action."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def handle(self, request: Request) -> dict:
        """The action's answer fields beside RequestId, once the request passes the gateway's checks."""
        if request.headers.get("authorization", "").startswith(V3_ALGORITHM + " "):
            action, version = self._verify_v3(request)
        else:
            action, version = self._verify_v2(request)
        with self.state.lock:
            if request.nonce in self.state.nonces:
                raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self.state.nonces.add(request.nonce)
        route = ACTIONS.get((version, action))
        if route is None:
            raise ApiError(
                404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."
            )
        takes, run = route
        extra = sorted(name for name in set(request.params) - COMMON - TAKEN_BY_EVERY_ACTION if not takes(name))
        if extra:
            raise ApiError(400, "UnsupportedParameter", f"The parameters is unsupported: {', '.join(extra)}.")
        for name in LONG_PARAMETERS:
            if name in request.params and not request.params[name].isdigit():
                raise ApiError(400, "InvalidParameter", f"The specified parameter {name} is not valid.")
        with self.state.lock:
            return run(self.state, request.params) or {}

    def _credentials(self, access_key_id: str, token: str | None, timestamp: str) -> str:
        """The key's secret, once the timestamp, the key and its STS token check out."""
        try:
            stamp = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise ApiError(
                400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            ) from None
        if abs(self.state.now() - stamp) > TIMESTAMP_TOLERANCE:
            raise ApiError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        known = self.state.credentials.get(access_key_id)
        if known is None:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        secret, expected_token = known
        if expected_token is not None and token != expected_token:
            raise ApiError(400, "InvalidSecurityToken.Mismatch", "Specified SecurityToken mismatch with the AccessKey.")
        return secret

    def _verify_v2(self, request: Request) -> tuple[str, str]:
        params = request.params
        for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp", "SignatureMethod"):
            if not params.get(name):
                raise ApiError(
                    400,
                    "IncompleteSignature" if name.startswith("Signature") else "MissingParameter",
                    f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
                )
        for name in ("Action", "Version"):
            if not params.get(name):
                raise ApiError(
                    400,
                    "MissingParameter",
                    f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
                )
        if params["SignatureMethod"] != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            raise ApiError(400, "InvalidSignatureMethod", "Specified signature method or version is not supported.")
        secret = self._credentials(params["AccessKeyId"], params.get("SecurityToken"), params["Timestamp"])
        to_sign = server_string_to_sign(request.method, params)
        if not hmac.compare_digest(server_signature(to_sign, secret), params["Signature"]):
            raise ApiError(
                400,
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. server string to sign is:{to_sign}",
            )
        return params["Action"], params["Version"]

    def _verify_v3(self, request: Request) -> tuple[str, str]:
        headers = request.headers
        fields = dict(
            part.strip().split("=", 1)
            for part in headers["authorization"][len(V3_ALGORITHM) + 1 :].split(",")
            if "=" in part
        )
        signed_names = fields.get("SignedHeaders", "").split(";")
        required = (
            "host",
            "x-acs-action",
            "x-acs-version",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
        )
        if (
            not fields.get("Credential")
            or not fields.get("Signature")
            or any(name not in signed_names or name not in headers for name in required)
        ):
            raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        for name in ("x-acs-security-token", "x-acs-accesskey-id"):
            if name in headers and name not in signed_names:
                raise ApiError(400, "IncompleteSignature", f"{name} must be signed.")
        if headers.get("x-acs-accesskey-id", fields["Credential"]) != fields["Credential"]:
            raise ApiError(400, "IncompleteSignature", "x-acs-accesskey-id is not the key of the Credential.")
        if hashlib.sha256(request.body).hexdigest() != headers["x-acs-content-sha256"]:
            raise ApiError(400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the body.")
        secret = self._credentials(fields["Credential"], headers.get("x-acs-security-token"), headers["x-acs-date"])
        query = "&".join(f"{k}={v}" for k, v in sorted((rfc3986(k), rfc3986(v)) for k, v in request.query))
        header_lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_names)
        canonical = "\n".join(
            (request.method, "/", query, header_lines, ";".join(signed_names), headers["x-acs-content-sha256"])
        )
        to_sign = f"{V3_ALGORITHM}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
        expected = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if signed_names != sorted(signed_names) or not hmac.compare_digest(expected, fields["Signature"]):
            raise ApiError(
                400,
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. server canonical request is:{canonical}",
            )
        return headers["x-acs-action"], headers["x-acs-version"]


def access_denied_detail(request: Request) -> dict[str, str]:
    """What Alibaba's RAM answers beside Forbidden.RAM: which policy type denied which action, for whom."""
    action = request.action or ""
    product = (
        "ecs" if (request.params.get("Version") or request.headers.get("x-acs-version")) == ecs.VERSION else "kvstore"
    )
    return {
        "PolicyType": "AccountLevelIdentityBasedPolicy",
        "NoPermissionType": "ImplicitDeny",
        "AuthAction": f"{product}:{action}",
        "AuthPrincipalType": "SubUser",
        "AuthPrincipalDisplayName": "lifecycle-functions",
        "AuthPrincipalOwnerId": "1234567890123456",
        "EncodedDiagnosticMessage": base64.b64encode(f"deny {product}:{action}".encode()).decode(),
    }


class _Handler(Responder):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet: tests read state, not logs
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if url.path.startswith("/_emulator/"):
            return self._control(method, url.path, body)
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
            return self._error(400, "InvalidParameter", "The request is not valid UTF-8 form data.", request_id)
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
            record.Status, record.Code = self._misbehave(fault, request_id, request)
            return
        try:
            answer = Gateway(state).handle(request)
        except ApiError as error:
            record.Status, record.Code = error.status, error.code
            return self._error(error.status, error.code, error.message, request_id)
        record.Status = 200
        self._send(200, {"RequestId": request_id, **answer})

    def _misbehave(self, fault: Fault, request_id: str, request: Request) -> tuple[int, str | None]:
        if fault.Kind == "throttle":
            self._error(
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
                request_id,
                {"x-acs-retry-after": str(fault.RetryAfterMs)},
            )
            return 400, "Throttling.User"
        if fault.Kind == "internal":
            self._error(
                500,
                "InternalError",
                "The request processing has failed due to some unknown error, exception or failure.",
                request_id,
            )
            return 500, "InternalError"
        if fault.Kind == "unavailable":
            self._error(
                503,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
                request_id,
            )
            return 503, "ServiceUnavailable"
        if fault.Kind == "nonce_used":
            self._error(400, "SignatureNonceUsed", "Specified signature nonce was used already.", request_id)
            return 400, "SignatureNonceUsed"
        if fault.Kind == "reset":  # abortive close: the client reads a TCP RST
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return 0, None
        if fault.Kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return 0, None
        if fault.Kind == "html":
            self.send_body(502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>")
            return 502, None
        if fault.Kind == "truncated":
            self.send_body(200, "application/json", json.dumps({"RequestId": request_id}).encode()[:12])
            return 200, None
        if fault.Kind == "text":
            self.send_body(200, "text/plain", b"OK")
            return 200, None
        if fault.Kind == "denied":
            self._error(
                403,
                "Forbidden.RAM",
                "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
                request_id,
                detail=access_denied_detail(request),
            )
            return 403, "Forbidden.RAM"
        if fault.Kind == "xml":
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><RequestId>{request_id}</RequestId>'
                f"<HostId>{self.headers.get('Host', '')}</HostId><Code>InternalError</Code>"
                "<Message>The request processing has failed due to some unknown error.</Message>"
                "<Recommend>https://api.aliyun.com/troubleshoot?q=InternalError</Recommend></Error>"
            )
            self.send_body(500, "text/xml;charset=utf-8", body.encode())
            return 500, "InternalError"
        raise ValueError(f"unknown fault kind {fault.Kind!r}")

    def _control(self, method: str, path: str, body: bytes) -> None:
        state = self.server.state
        with state.lock:
            if path == "/_emulator/instances" and method == "GET":
                return self._send(200, {i: asdict(x) for i, x in state.instances.items()})
            if path == "/_emulator/requests" and method == "GET":
                return self._send(200, [asdict(r) for r in state.received])
            try:
                items = json.loads(body or b"[]")
                if path == "/_emulator/instances" and method == "POST":
                    for item in items:
                        state.instances[item["InstanceId"]] = Instance(**item)
                    return self._send(200, {"Added": len(items)})
                if path == "/_emulator/faults" and method == "POST":
                    state.faults.extend(Fault(**item) for item in items)
                    return self._send(200, {"Queued": len(items)})
            except (ValueError, TypeError, KeyError) as exc:
                return self._send(400, {"Code": "InvalidParameter", "Message": str(exc)})
        self._send(404, {"Code": "NotFound", "Message": path})

    def _error(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str,
        headers: dict[str, str] | None = None,
        detail: dict[str, str] | None = None,
    ) -> None:
        host = self.headers.get("Host", "127.0.0.1")
        self._send(
            status,
            {
                "RequestId": request_id,
                "HostId": host,
                "Code": code,
                "Message": message,
                "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
                **({"AccessDeniedDetail": detail} if detail else {}),
            },
            headers,
        )

    def _send(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, "application/json;charset=utf-8", json.dumps(payload).encode(), headers)


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, state: EmulatorState | None = None) -> None:
        self.state = state or EmulatorState()
        super().__init__(("127.0.0.1", port), _Handler)
        self._thread: threading.Thread | None = None

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # dropped connections are injected on purpose; nothing to report

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add_credentials(self, access_key_id: str, secret: str, token: str | None = None) -> None:
        self.state.credentials[access_key_id] = (secret, token)

    def add_instance(self, instance_id: str, product: str, **fields: object) -> Instance:
        instance = Instance(instance_id, product, **fields)  # type: ignore[arg-type]
        self.state.instances[instance_id] = instance
        return instance

    def inject(self, kind: str, times: int = 1, **options: object) -> None:
        self.state.faults.append(Fault(kind, times, **options))  # type: ignore[arg-type]

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="alibaba-cloud-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
