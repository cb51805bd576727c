"""The emulator's gateway: what Alibaba's RPC gateway does before an action runs.

It verifies HMAC-SHA1 and ACS3-HMAC-SHA256 signatures with its own code (never the layer's),
refuses stale timestamps and reused nonces and parameters the action does not take, then runs the
action in its product's module (:mod:`local.emulator.ecs`, :mod:`local.emulator.r_kvstore`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from . import ecs, r_kvstore, sts
from .state import ApiError, EmulatorState

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
ACTIONS = {**ecs.ACTIONS, **r_kvstore.ACTIONS, **sts.ACTIONS}  # (version, action) -> (takes(name), run(state, params))


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
        anonymous = (request.params.get("Version"), request.action) in sts.ANONYMOUS
        anonymous = anonymous and "AccessKeyId" not in request.params and "authorization" not in request.headers
        if anonymous:
            action, version = request.action or "", request.params["Version"]
        elif request.headers.get("authorization", "").startswith(V3_ALGORITHM + " "):
            action, version = self._verify_v3(request)
        else:
            action, version = self._verify_v2(request)
        with self.state.lock:
            if not anonymous and request.nonce in self.state.nonces:
                raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            if not anonymous:
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
        expires = self.state.expiry.get(access_key_id)
        if expires is not None and self.state.now() >= expires:
            raise ApiError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
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
