"""AWS Signature Version 4, as AWS's published test suite and botocore compute it.

Written here so the layer calls DynamoDB and SQS without boto3 (tens of megabytes and most of a
cold start). Checked against every case of the suite (``tests/data/aws-sig-v4-test-suite.json``)
and against botocore on generated requests (``tests/test_sigv4.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, repr=False)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never the secret or the token
        return f"AwsCredentials(access_key_id={self.access_key_id[:4]}****)"


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_path(path: str) -> str:
    """The path as sent (already encoded), dot segments and repeated slashes removed, encoded once more:
    AWS's rule for every service but S3."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return quote("/" + "/".join(segments) + trailing, safe="/~")


def canonical_query(query: str) -> str:
    """``name=value`` pairs, each side URI-encoded, sorted by name then value."""
    pairs = []
    for part in query.split("&") if query else ():
        name, _, value = part.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def canonical_headers(headers: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """Lower-case names, values trimmed with inner runs of spaces collapsed, repeats joined by commas, in order."""
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        merged.setdefault(name.lower().strip(), []).append(_SPACES.sub(" ", value.strip()))
    names = sorted(merged)
    return "".join(f"{n}:{','.join(merged[n])}\n" for n in names), ";".join(names)


def canonical_request(
    method: str, path: str, query: str, headers: Sequence[tuple[str, str]], payload_sha256: str
) -> tuple[str, str]:
    lines, signed = canonical_headers(headers)
    return f"{method}\n{canonical_path(path)}\n{canonical_query(query)}\n{lines}\n{signed}\n{payload_sha256}", signed


def scope(amz_date: str, region: str, service: str) -> str:
    return f"{amz_date[:8]}/{region}/{service}/aws4_request"


def string_to_sign(amz_date: str, credential_scope: str, canonical: str) -> str:
    return f"{ALGORITHM}\n{amz_date}\n{credential_scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def authorization(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    credentials: AwsCredentials,
    region: str,
    service: str,
    amz_date: str,
) -> str:
    """The ``Authorization`` header over exactly ``headers`` (which must include Host and X-Amz-Date)."""
    canonical, signed = canonical_request(method, path, query, headers, hashlib.sha256(body).hexdigest())
    credential_scope = scope(amz_date, region, service)
    to_sign = string_to_sign(amz_date, credential_scope, canonical)
    signature = hmac.new(
        signing_key(credentials.secret_access_key, amz_date[:8], region, service), to_sign.encode(), hashlib.sha256
    )
    return (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{credential_scope}, "
        f"SignedHeaders={signed}, Signature={signature.hexdigest()}"
    )


def sign(
    method: str,
    host: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to send: ``headers`` plus Host, X-Amz-Date, X-Amz-Security-Token (signed) and Authorization."""
    amz_date = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    signed = {**headers, "Host": host, "X-Amz-Date": amz_date}
    if credentials.session_token:
        signed["X-Amz-Security-Token"] = credentials.session_token
    signed["Authorization"] = authorization(
        method, path, query, list(signed.items()), body, credentials, region, service, amz_date
    )
    return signed
