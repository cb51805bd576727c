"""A local Alibaba Cloud RPC gateway for ECS and R-kvstore, on 127.0.0.1.

It answers the two actions the way Alibaba's gateway does, so the product can run and be tested
with no cloud: it verifies HMAC-SHA1 and ACS3-HMAC-SHA256 signatures with its own code (never the layer's), refuses
stale timestamps and reused nonces, applies the action documents' rules, keeps per-instance
state, and can be told to misbehave (throttling, 5xx, latency, dropped connections, garbage).

Run it: ``python -m local.emulator --port 8080`` (see ``--help``). Inspect and steer it over HTTP:

* ``GET  /_emulator/instances``      every instance and its state
* ``POST /_emulator/instances``      add or replace instances: ``[{"InstanceId": ..., "Product": "Ecs"|"R-kvstore", ...}]``
* ``POST /_emulator/faults``         queue faults: ``[{"Kind": "throttle", "Times": 2}, ...]``
* ``GET  /_emulator/requests``       what the gateway received, oldest first
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
COMMON = {
    "Action", "Version", "Format", "AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion",
    "SignatureNonce", "SignatureType", "Timestamp", "SecurityToken",
}
TAKEN_BY_EVERY_ACTION = {"RegionId"}  # aliyun-python-sdk-core sends it with every action; the gateway takes it
TIMESTAMP_TOLERANCE = timedelta(minutes=15)
V3_ALGORITHM = "ACS3-HMAC-SHA256"
HH_MM_Z = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\dZ")
RELEASE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


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


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class Instance:
    InstanceId: str
    Product: str  # "Ecs" or "R-kvstore"
    RegionId: str = "cn-hangzhou"
    InstanceChargeType: str = "PostPaid"  # "PrePaid" is a subscription instance
    AutoReleaseTime: str | None = None
    MaintainStartTime: str | None = "18:00Z"
    MaintainEndTime: str | None = "19:00Z"


@dataclass
class Fault:
    """One way to misbehave, for the next ``Times`` requests (optionally only for one ``Action``).

    Kinds: ``throttle`` (400 Throttling.User with x-acs-retry-after), ``internal`` (500
    InternalError), ``unavailable`` (503 ServiceUnavailable), ``nonce_used`` (400
    SignatureNonceUsed), ``latency`` (sleep ``Seconds`` then answer normally), ``drop`` (close the
    connection without an answer), ``reset`` (abort it with a TCP reset), ``html`` (a 502 HTML
    page), ``truncated`` (half a JSON body), ``text`` (200 with a text/plain body).
    """

    Kind: str
    Times: int = 1
    Seconds: float = 0.0
    Action: str | None = None
    RetryAfterMs: int = 100


@dataclass
class Received:
    Action: str | None
    Parameters: dict[str, str]
    Status: int = 0
    Code: str | None = None
    Nonce: str | None = None
    RequestId: str | None = None
    Arrived: float = 0.0  # time.monotonic() when the request came in
    ClientPort: int = 0  # the client's source port: one per pooled connection


@dataclass
class EmulatorState:
    credentials: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (secret, token)
    instances: dict[str, Instance] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    window_rule: str = "exactly-one-hour"
    clock_skew: timedelta = timedelta(0)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.clock_skew

    def take_fault(self, action: str | None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.Action in (None, action) and fault.Times > 0:
                    fault.Times -= 1
                    if fault.Times == 0:
                        self.faults.remove(fault)
                    return fault
        return None


# The action documents' rules, written apart from the layer's so each checks the other.


def _require_instance(state: EmulatorState, params: dict[str, str], product: str) -> Instance:
    instance_id = params.get("InstanceId")
    if not instance_id:
        raise ApiError(400, "MissingParameter", "InstanceId should not be null.")
    instance = state.instances.get(instance_id)
    if instance is None or instance.Product != product:
        raise ApiError(404, "NoSuchResource", "The specified resource is not found.")
    return instance


def modify_instance_auto_release_time(state: EmulatorState, params: dict[str, str]) -> None:
    instance = _require_instance(state, params, "Ecs")
    region = params.get("RegionId")
    if region is not None and region != instance.RegionId:
        raise ApiError(404, "NoSuchResource", "The specified resource is not found.")
    if instance.InstanceChargeType != "PostPaid":
        raise ApiError(403, "ChargeTypeViolation", "The operation is not permitted due to charge type of the instance.")
    text = params.get("AutoReleaseTime")
    if text is None:
        instance.AutoReleaseTime = None
        return
    try:
        if not RELEASE_TIME.fullmatch(text):
            raise ValueError(text)
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc, second=0)
    except ValueError:
        raise ApiError(400, "InvalidAutoReleaseTime.Malformed", "The specified parameter autoReleaseTime is not valid.") from None
    now = state.now()
    if when - now < timedelta(minutes=30):
        raise ApiError(400, "InvalidAutoReleaseTime.TooEarly", "The release time must be at least 30 minutes later than the current time.")
    try:
        latest = now.replace(year=now.year + 3)
    except ValueError:
        latest = now.replace(year=now.year + 3, day=28)
    if when > latest:
        raise ApiError(400, "InvalidAutoReleaseTime.TooLate", "The release time must be at most three years from the current time.")
    instance.AutoReleaseTime = when.strftime("%Y-%m-%dT%H:%M:%SZ")


def modify_instance_maintain_time(state: EmulatorState, params: dict[str, str]) -> None:
    instance = _require_instance(state, params, "R-kvstore")
    start, end = params.get("MaintainStartTime"), params.get("MaintainEndTime")
    if not start:
        raise ApiError(400, "MissingParameter", "MaintainStartTime should not be null.")
    if not end:
        raise ApiError(400, "MissingParameter", "MaintainEndTime should not be null.")
    if not HH_MM_Z.fullmatch(start):
        raise ApiError(400, "InvalidStartTime.Format", "Specified start time is not valid.")
    if not HH_MM_Z.fullmatch(end):
        raise ApiError(400, "InvalidEndTime.Format", "Specified end time is not valid.")
    minutes = lambda t: int(t[0:2]) * 60 + int(t[3:5])  # noqa: E731
    length = (minutes(end) - minutes(start) + 1440) % 1440
    if length != 60 and not (state.window_rule == "at-least-one-hour" and length > 60):
        raise ApiError(400, "InvalidEndTime.Format", "Specified end time is not valid.")
    instance.MaintainStartTime, instance.MaintainEndTime = start, end


ACTIONS = {
    ("2014-05-26", "ModifyInstanceAutoReleaseTime"): (
        {"InstanceId", "AutoReleaseTime"}, modify_instance_auto_release_time),
    ("2015-01-01", "ModifyInstanceMaintainTime"): (
        {"InstanceId", "MaintainStartTime", "MaintainEndTime"}, modify_instance_maintain_time),
}


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

    def handle(self, request: Request) -> None:
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
            raise ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        accepted, run = route
        extra = sorted(set(request.params) - COMMON - TAKEN_BY_EVERY_ACTION - accepted)
        if extra:
            raise ApiError(400, "UnsupportedParameter", f"The parameters is unsupported: {', '.join(extra)}.")
        with self.state.lock:
            run(self.state, request.params)

    def _credentials(self, access_key_id: str, token: str | None, timestamp: str) -> str:
        """The key's secret, once the timestamp, the key and its STS token check out."""
        try:
            stamp = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise ApiError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.") from None
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
                raise ApiError(400, "IncompleteSignature" if name.startswith("Signature") else "MissingParameter",
                               f"The input parameter \"{name}\" that is mandatory for processing this request is not supplied.")
        for name in ("Action", "Version"):
            if not params.get(name):
                raise ApiError(400, "MissingParameter", f"The input parameter \"{name}\" that is mandatory for processing this request is not supplied.")
        if params["SignatureMethod"] != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            raise ApiError(400, "InvalidSignatureMethod", "Specified signature method or version is not supported.")
        secret = self._credentials(params["AccessKeyId"], params.get("SecurityToken"), params["Timestamp"])
        to_sign = server_string_to_sign(request.method, params)
        if not hmac.compare_digest(server_signature(to_sign, secret), params["Signature"]):
            raise ApiError(400, "SignatureDoesNotMatch",
                           f"Specified signature is not matched with our calculation. server string to sign is:{to_sign}")
        return params["Action"], params["Version"]

    def _verify_v3(self, request: Request) -> tuple[str, str]:
        headers = request.headers
        fields = dict(part.strip().split("=", 1) for part in headers["authorization"][len(V3_ALGORITHM) + 1:].split(",") if "=" in part)
        signed_names = fields.get("SignedHeaders", "").split(";")
        required = ("host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
        if not fields.get("Credential") or not fields.get("Signature") or any(
                name not in signed_names or name not in headers for name in required):
            raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        if "x-acs-security-token" in headers and "x-acs-security-token" not in signed_names:
            raise ApiError(400, "IncompleteSignature", "x-acs-security-token must be signed.")
        if hashlib.sha256(request.body).hexdigest() != headers["x-acs-content-sha256"]:
            raise ApiError(400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the body.")
        secret = self._credentials(fields["Credential"], headers.get("x-acs-security-token"), headers["x-acs-date"])
        query = "&".join(f"{k}={v}" for k, v in sorted((rfc3986(k), rfc3986(v)) for k, v in request.query))
        header_lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_names)
        canonical = "\n".join((request.method, "/", query, header_lines, ";".join(signed_names), headers["x-acs-content-sha256"]))
        to_sign = f"{V3_ALGORITHM}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
        expected = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if signed_names != sorted(signed_names) or not hmac.compare_digest(expected, fields["Signature"]):
            raise ApiError(400, "SignatureDoesNotMatch",
                           f"Specified signature is not matched with our calculation. server canonical request is:{canonical}")
        return headers["x-acs-action"], headers["x-acs-version"]


class _Handler(BaseHTTPRequestHandler):
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
        record = Received(request.action, {k: v for k, v in params.items() if k not in COMMON}, Nonce=request.nonce,
                          RequestId=request_id, Arrived=time.monotonic(), ClientPort=self.client_address[1])
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
            record.Status, record.Code = self._misbehave(fault, request_id)
            return
        try:
            Gateway(state).handle(request)
        except ApiError as error:
            record.Status, record.Code = error.status, error.code
            return self._error(error.status, error.code, error.message, request_id)
        record.Status = 200
        self._send(200, {"RequestId": request_id})

    def _misbehave(self, fault: Fault, request_id: str) -> tuple[int, str | None]:
        if fault.Kind == "throttle":
            self._error(400, "Throttling.User", "Request was denied due to user flow control.", request_id,
                        {"x-acs-retry-after": str(fault.RetryAfterMs)})
            return 400, "Throttling.User"
        if fault.Kind == "internal":
            self._error(500, "InternalError", "The request processing has failed due to some unknown error, exception or failure.", request_id)
            return 500, "InternalError"
        if fault.Kind == "unavailable":
            self._error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.", request_id)
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
            self._raw(502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>")
            return 502, None
        if fault.Kind == "truncated":
            self._raw(200, "application/json", json.dumps({"RequestId": request_id}).encode()[:12])
            return 200, None
        if fault.Kind == "text":
            self._raw(200, "text/plain", b"OK")
            return 200, None
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

    def _error(self, status: int, code: str, message: str, request_id: str, headers: dict[str, str] | None = None) -> None:
        host = self.headers.get("Host", "127.0.0.1")
        self._send(status, {
            "RequestId": request_id,
            "HostId": host,
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
        }, headers)

    def _send(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self._raw(status, "application/json;charset=utf-8", json.dumps(payload).encode(), headers)

    def _raw(self, status: int, content_type: str, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


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
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="alibaba-cloud-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


DEMO_ACCESS_KEY_ID = "LTAI5tDemoEmulatorKey"
DEMO_ACCESS_KEY_SECRET = "demo-emulator-secret"


def seed_demo(server: EmulatorServer) -> None:
    """The credentials and instances ``make demo`` uses."""
    server.add_credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
    server.add_instance("r-bp1zxszhcgatnx2demo", "R-kvstore")
    server.add_instance("i-bp1env7nl3mijm2demo", "Ecs")
    server.add_instance("i-bp1subscription2demo", "Ecs", InstanceChargeType="PrePaid")
    # the placeholders of template.yaml's example schedules, so `make serve` can fire them as they are
    server.add_instance("r-bp1zxszhcgatnx****", "R-kvstore")
    server.add_instance("i-bp1env7nl3mijm2t****", "Ecs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--window-rule", choices=("exactly-one-hour", "at-least-one-hour"), default="exactly-one-hour")
    args = parser.parse_args()
    server = EmulatorServer(args.port)
    server.state.window_rule = args.window_rule
    seed_demo(server)
    print(f"Alibaba Cloud emulator on {server.url} (key {DEMO_ACCESS_KEY_ID})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
