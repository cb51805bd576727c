"""Alibaba Cloud request signing: HMAC-SHA1 (RPC "signature version 1.0", Alibaba's "V2") and
ACS3-HMAC-SHA256 ("V3", what Alibaba recommends today).

Byte-identical to the official SDKs for any input: the encoding is RFC 3986 over UTF-8 (space is
``%20``, ``*`` is ``%2A``, ``~`` stays), which is what ``quote(value, safe="~")`` does and what
``requests``' own ``params=`` encoding does not do.

Both schemes produce a :class:`SignedRequest`; which one is used is a setting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"
V3_ALGORITHM = "ACS3-HMAC-SHA256"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class SignedRequest:
    """What goes on the wire: the query string (already encoded), headers and body."""

    query: str
    headers: dict[str, str]
    body: bytes


def percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 text, as Alibaba's signature requires."""
    return quote(text, safe="~")


def canonical_query(params: Mapping[str, str | None]) -> str:
    """Sorted ``name=value`` pairs joined by ``&``; absent (``None``) values are left out, empty ones kept."""
    return "&".join(
        f"{percent_encode(name)}={percent_encode(value)}" for name, value in sorted(params.items()) if value is not None
    )


def string_to_sign(method: str, params: Mapping[str, str | None]) -> str:
    """``METHOD&%2F&`` followed by the canonical query, encoded a second time."""
    return f"{method}&%2F&{percent_encode(canonical_query(params))}"


def rpc_signature(method: str, params: Mapping[str, str | None], secret: str) -> str:
    """Base64 HMAC-SHA1 of the StringToSign, keyed with the secret followed by ``&``."""
    key = f"{secret}&".encode()
    digest = hmac.new(key, string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def utc_timestamp(now: datetime | None = None) -> str:
    """Alibaba's ``Timestamp`` format: UTC ``yyyy-MM-ddTHH:mm:ssZ``."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_nonce() -> str:
    """A fresh ``SignatureNonce``: the gateway rejects any nonce it has seen before."""
    return os.urandom(16).hex()  # 32 hex digits, as uuid4().hex gives, without importing uuid


def sign_request(
    *,
    method: str,
    action: str,
    version: str,
    params: Mapping[str, str],
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None = None,
    nonce: str | None = None,
    timestamp: str | None = None,
) -> dict[str, str]:
    """Every parameter to send: the business ones, the common ones and ``Signature``.

    Call it once per attempt: each attempt needs its own nonce and timestamp.
    """
    signed = dict(params)
    signed.update(
        Action=action,
        Version=version,
        Format="JSON",
        AccessKeyId=access_key_id,
        SignatureMethod=SIGNATURE_METHOD,
        SignatureVersion=SIGNATURE_VERSION,
        SignatureNonce=nonce or new_nonce(),
        Timestamp=timestamp or utc_timestamp(),
    )
    if security_token:
        signed["SecurityToken"] = security_token
    signed["Signature"] = rpc_signature(method, signed, access_key_secret)
    return signed


def encode_form(params: Mapping[str, str]) -> str:
    """The request body: every parameter encoded the way it was signed."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items())


def sign_v2(*, host: str, **fields: Any) -> SignedRequest:
    """HMAC-SHA1 (the host is not part of it): every parameter, the signature included, in a form
    body, which keeps them out of URL logs. ``fields`` are :func:`sign_request`'s."""
    signed = sign_request(**fields)
    return SignedRequest("", {"Content-Type": FORM}, encode_form(signed).encode())


# ACS3-HMAC-SHA256 ("V3")


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """``name:value\n`` lines (lower-case names, trimmed values, sorted) and the signed names joined by ``;``."""
    pairs = sorted((name.lower(), value.strip()) for name, value in headers.items())
    return "".join(f"{name}:{value}\n" for name, value in pairs), ";".join(name for name, _ in pairs)


def v3_canonical_request(
    method: str, query: Mapping[str, str | None], headers: Mapping[str, str], payload_sha256: str
) -> str:
    lines, signed_names = canonical_headers(headers)
    return f"{method}\n/\n{canonical_query(query)}\n{lines}\n{signed_names}\n{payload_sha256}"


def v3_authorization(
    method: str,
    query: Mapping[str, str | None],
    headers: Mapping[str, str],
    payload_sha256: str,
    access_key_id: str,
    access_key_secret: str,
) -> str:
    """The ``Authorization`` header over the given (signed) headers."""
    canonical = v3_canonical_request(method, query, headers, payload_sha256)
    to_sign = f"{V3_ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(access_key_secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    _, signed_names = canonical_headers(headers)
    return f"{V3_ALGORITHM} Credential={access_key_id},SignedHeaders={signed_names},Signature={signature}"


def sign_v3(
    *,
    method: str,
    host: str,
    action: str,
    version: str,
    params: Mapping[str, str],
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None = None,
    nonce: str | None = None,
    timestamp: str | None = None,
) -> SignedRequest:
    """ACS3-HMAC-SHA256: action, version, time and nonce in signed headers; parameters in the query."""
    body = b""
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": timestamp or utc_timestamp(),
        "x-acs-signature-nonce": nonce or new_nonce(),
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if security_token:  # as the official client does: the key beside its token, both signed
        headers["x-acs-accesskey-id"] = access_key_id
        headers["x-acs-security-token"] = security_token
    headers["Authorization"] = v3_authorization(
        method, params, headers, headers["x-acs-content-sha256"], access_key_id, access_key_secret
    )
    return SignedRequest(canonical_query(params), headers, body)


SIGNERS = {"v2": sign_v2, "v3": sign_v3}
