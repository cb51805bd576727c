"""Alibaba Cloud RPC request signing, HMAC-SHA1 ("signature version 1.0").

Byte-identical to the official SDKs for any input: the encoding is RFC 3986 over UTF-8 (space is
``%20``, ``*`` is ``%2A``, ``~`` stays), which is what ``quote(value, safe="~")`` does and what
``requests``' own ``params=`` encoding does not do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import quote

SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"


def percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 text, as Alibaba's signature requires."""
    return quote(text, safe="~")


def canonical_query(params: Mapping[str, str | None]) -> str:
    """Sorted ``name=value`` pairs joined by ``&``; absent (``None``) values are left out, empty ones kept."""
    return "&".join(
        f"{percent_encode(name)}={percent_encode(value)}"
        for name, value in sorted(params.items())
        if value is not None
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
    return (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_nonce() -> str:
    """A fresh ``SignatureNonce``: the gateway rejects any nonce it has seen before."""
    return uuid.uuid4().hex


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
