"""HTTP to Alibaba Cloud: one pooled session per container, timeouts, and answers turned into data or errors."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import dataclass

import requests

from .. import __version__
from ..errors import AlibabaCloudError
from .signing import SignedRequest

# What an operator should do, said plainly, for codes whose message does not.
ADVICE = {
    "InvalidTimeStamp.Expired": "The request's Timestamp is more than 15 minutes off Alibaba Cloud's clock: "
    "the clock of the machine that signed it is wrong.",
    "SignatureDoesNotMatch": "Check the AccessKey secret configured for this function.",
    "InvalidAccessKeyId.NotFound": "The AccessKeyId configured for this function does not exist.",
}
# Sent with every request, as the official clients send theirs: who is calling, and in what format
# answers (errors included) are wanted. Gateways that would answer XML answer JSON.
HEADERS = {
    "User-Agent": f"alibaba-cloud-lifecycle/{__version__} Python/{platform.python_version()} requests/{requests.__version__}",
    "Accept": "application/json",
}
# Codes worth another, freshly signed attempt: throttling, server faults, and a nonce the
# gateway saw already (a new signature carries a new nonce). Every other 4xx is final.
RETRYABLE_CODES = frozenset(
    {"Throttling", "Throttling.User", "Throttling.Api", "InternalError", "ServiceUnavailable", "SignatureNonceUsed"}
)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    content: bytes


class Transport:
    """Sends signed requests over a ``requests.Session`` kept for the container's life.

    Warm invocations reuse its pooled TLS connections, which saves a handshake per call.
    Every network failure becomes an :class:`AlibabaCloudError`, never a raw exception.
    """

    def __init__(self, connect_timeout: float, read_timeout: float, session: requests.Session | None = None) -> None:
        if session is None:
            session = requests.Session()
            # enough pooled connections for a batch's concurrency (64 at most), reused across calls
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        self.timeout = (connect_timeout, read_timeout)

    def post(self, url: str, request: SignedRequest, read_timeout: float | None = None) -> Answer:
        """One POST. ``read_timeout`` shortens the configured one, e.g. to fit the invocation's deadline."""
        timeout = (self.timeout[0], min(self.timeout[1], read_timeout or self.timeout[1]))
        if request.query:
            url = f"{url}?{request.query}"
        try:
            response = self.session.post(url, data=request.body, headers={**HEADERS, **request.headers}, timeout=timeout)
            return Answer(response.status_code, dict(response.headers), response.content)
        except requests.ConnectTimeout:
            raise AlibabaCloudError(
                "NetworkError.ConnectTimeout",
                f"No connection to the endpoint within {timeout[0]:g} s; nothing was sent.",
                http_status=504,
                retryable=True,
            ) from None
        except requests.ReadTimeout:
            raise AlibabaCloudError(
                "NetworkError.ReadTimeout",
                f"No answer within {timeout[1]:g} s; the request may have been applied.",
                http_status=504,
                retryable=True,  # both actions set a value: repeating one is harmless
            ) from None
        except requests.RequestException as exc:
            raise AlibabaCloudError(
                "NetworkError.ConnectionFailed",
                f"The connection to the endpoint failed ({type(exc).__name__}); "
                "the request may have been applied.",
                http_status=502,
                retryable=True,
            ) from None


def parse_answer(answer: Answer, scrub: Callable[[str], str] = str) -> dict:
    """The JSON body of a success, or the error it carries, its text passed through ``scrub``.

    A 5xx, a retryable code or an ``x-acs-retry-after`` header (milliseconds) make the error
    retryable; an unreadable 2xx does not (the request went through, only its answer is lost).
    """
    headers = {k.lower(): v for k, v in answer.headers.items()}
    retry_after = _retry_after(headers.get("x-acs-retry-after"))
    try:
        data = json.loads(answer.content)
    except ValueError:  # includes UnicodeDecodeError
        data = None
    if not isinstance(data, dict):
        content_type = headers.get("content-type") or "no content type"
        snippet = answer.content[:120].decode("utf-8", "replace")
        raise AlibabaCloudError(
            "InvalidResponse",
            scrub(
                f"The endpoint answered HTTP {answer.status} ({content_type}) with a body that is "
                f"not a JSON object: {snippet!r}"
            ),
            http_status=answer.status if answer.status >= 400 else 502,
            retryable=answer.status >= 500 or retry_after is not None,
            retry_after=retry_after,
        )
    if 200 <= answer.status < 300:
        return data
    def field(name: str) -> str | None:
        value = data.get(name)
        return scrub(str(value)) if value is not None else None

    code = field("Code") or f"HTTP{answer.status}"
    message = field("Message") or "The endpoint gave no message."
    raise AlibabaCloudError(
        code,
        f"{ADVICE[code]} {message}" if code in ADVICE else message,
        http_status=answer.status,
        request_id=field("RequestId"),
        host_id=field("HostId"),
        recommend=field("Recommend"),
        retryable=answer.status >= 500 or code in RETRYABLE_CODES or retry_after is not None,
        retry_after=retry_after,
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds from ``x-acs-retry-after`` (milliseconds), if it is a sane number."""
    try:
        milliseconds = float(value) if value is not None else None
    except ValueError:
        return None
    if milliseconds is None or not 0 <= milliseconds < 3_600_000:
        return None
    return milliseconds / 1000
