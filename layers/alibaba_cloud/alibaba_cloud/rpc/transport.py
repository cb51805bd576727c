"""HTTP to Alibaba Cloud: one pooled session per container, timeouts, and answers turned into data or errors."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from ..errors import AlibabaCloudError, deadline_exceeded, invalid_response
from ..http.fetch import (
    Answer,
    ConnectFailed,
    ConnectTimedOut,
    DeadlineReached,
    Fetcher,
    FetchError,
    NotResolved,
    ReadTimedOut,
    TooLarge,
)
from ..http.parse import element_as_dict, json_object, xml_elements
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
HEADERS = {"Accept": "application/json"}  # beside the Fetcher's User-Agent, which names the product
# Codes worth another, freshly signed attempt: throttling, server faults, and a nonce the
# gateway saw already (a new signature carries a new nonce). Every other 4xx is final.
RETRYABLE_CODES = frozenset(
    {"Throttling", "Throttling.User", "Throttling.Api", "InternalError", "ServiceUnavailable", "SignatureNonceUsed"}
)


# Alibaba's answers for these actions are small (a page of 100 instances with their tags is well
# under 1 MiB); anything larger is not one of them, and is not read into memory.
MAX_ANSWER_BYTES = 8 * 1024 * 1024


class Transport:
    """Sends signed requests through a :class:`Fetcher` kept for the container's life.

    Warm invocations reuse its pooled TLS connections, which saves a handshake per call. Every
    request ends by its deadline, reads at most ``MAX_ANSWER_BYTES`` and follows no redirect (a 307
    would re-send the signed request elsewhere). Every failure becomes an :class:`AlibabaCloudError`.
    """

    def __init__(self, connect_timeout: float, read_timeout: float) -> None:
        self.fetcher = Fetcher(connect_timeout, read_timeout, max_bytes=MAX_ANSWER_BYTES)
        self.timeout = (connect_timeout, read_timeout)

    def post(self, url: str, request: SignedRequest, deadline: float | None = None) -> Answer:
        """One POST, over by ``deadline`` (a ``time.monotonic()`` value) whatever the endpoint does."""
        if request.query:
            url = f"{url}?{request.query}"
        try:
            return self.fetcher.post(url, request.body, {**HEADERS, **request.headers}, deadline)
        except FetchError as failure:
            error = self.failed(failure, url)
            error.maybe_applied = failure.sent
            raise error from None

    def failed(self, failure: FetchError, url: str) -> AlibabaCloudError:
        """A request that got no answer, said as precisely as the failure allows.

        A host that does not resolve is final at once (another attempt resolves the same name); a
        connection never made cannot have carried the request; only one that broke after it was made
        may have been applied.
        """
        host = urlsplit(url).hostname or url
        if isinstance(failure, DeadlineReached):
            return deadline_exceeded(
                "The invocation's deadline came before the endpoint answered"
                + ("; the request may have been applied." if failure.sent else "; nothing was sent.")
            )
        if isinstance(failure, TooLarge):
            return invalid_response(f"The endpoint's answer is larger than {failure.limit} bytes; it was not read.")
        if isinstance(failure, ConnectTimedOut):
            return AlibabaCloudError(
                "NetworkError.ConnectTimeout",
                f"No connection to the endpoint within {self.timeout[0]:g} s; nothing was sent.",
                http_status=504,
                retryable=True,
            )
        if isinstance(failure, ReadTimedOut):
            return AlibabaCloudError(
                "NetworkError.ReadTimeout",
                "No answer in time; the request may have been applied.",
                http_status=504,
                retryable=True,
            )  # both actions set a value: repeating one is harmless
        if isinstance(failure, NotResolved):
            return AlibabaCloudError(
                "NetworkError.NameResolution",
                f"The host {host} does not resolve: check RegionId, ALIBABA_CLOUD_NETWORK (a VPC host resolves "
                "only inside Alibaba Cloud) and ALIBABA_CLOUD_ENDPOINT; nothing was sent.",
                http_status=502,
            )
        if isinstance(failure, ConnectFailed):  # refused, unreachable: the request never left
            return AlibabaCloudError(
                "NetworkError.ConnectionFailed",
                f"No connection to {host} could be made ({failure}); nothing was sent.",
                http_status=502,
                retryable=True,
            )
        return AlibabaCloudError(
            "NetworkError.ConnectionFailed",
            f"The connection to {host} failed ({failure})"
            + ("; the request may have been applied." if failure.sent else "; nothing was sent."),
            http_status=502,
            retryable=True,
        )


def parse_answer(answer: Answer, scrub: Callable[[str], str] = str, host: str = "") -> dict:
    """The JSON body of a success, or the error it carries, its text passed through ``scrub``.

    Error bodies are read as JSON, or as XML where a gateway answers ``text/xml``, and scrubbed of
    secrets before any of it is cut. A 5xx, a 429 or a retryable code make the error retryable, its
    ``x-acs-retry-after`` (milliseconds) the pause; an unreadable 2xx is not retried (the request
    went through, only its answer is lost), nor is a plain 4xx, whatever header it carries.
    """
    headers = {k.lower(): v for k, v in answer.headers.items()}
    retry_after = _retry_after(headers.get("x-acs-retry-after"))
    content_type = headers.get("content-type") or "no content type"
    data = json_object(answer.content)
    if data is None and answer.status >= 400 and ("xml" in content_type or answer.content.lstrip()[:1] == b"<"):
        data = _xml_error(answer.content)
    if data is None:
        # scrubbed whole, then cut: a cut first could keep the start of a token no scrub would recognise
        snippet = scrub(answer.content[:65536].decode("utf-8", "replace"))[:120]
        raise AlibabaCloudError(
            "InvalidResponse",
            f"The endpoint{' ' + host if host else ''} answered HTTP {answer.status} ({scrub(content_type)[:100]}) "
            f"with a body that is not a JSON object it can read: {snippet!r}",
            http_status=answer.status if answer.status >= 400 else 502,
            retryable=answer.status >= 500,  # an unreadable 2xx went through; a plain 4xx is final
            retry_after=retry_after,
        )
    if 200 <= answer.status < 300:
        return data

    def field(name: str, limit: int = 4096) -> str | None:
        value = data.get(name)
        return scrub(str(value))[:limit] if value is not None and value != "" else None

    code = field("Code", 256) or f"HTTP{answer.status}"
    message = field("Message") or "The endpoint gave no message."
    raise AlibabaCloudError(
        code,
        f"{ADVICE[code]} {message}" if code in ADVICE else message,
        http_status=answer.status,
        request_id=field("RequestId", 256),
        host_id=field("HostId", 256),
        recommend=field("Recommend", 1024),
        access_denied_detail=_access_denied_detail(data.get("AccessDeniedDetail"), scrub),
        # x-acs-retry-after paces a retry; it does not make a final answer worth one
        retryable=answer.status >= 500 or answer.status == 429 or code in RETRYABLE_CODES,
        retry_after=retry_after,
    )


def _xml_error(content: bytes) -> dict | None:
    """``<Error><Code>…</Code>…</Error>`` as the dict a JSON error body would be (nested elements as dicts)."""
    root = xml_elements(content)
    error = None if root is None else root if root.tag == "Error" else root.find("Error")
    if error is None:
        return None
    data = element_as_dict(error)
    return data if isinstance(data, dict) else None


MAX_DETAIL_FIELDS = 16


def _access_denied_detail(value: object, scrub: Callable[[str], str]) -> dict[str, str] | None:
    """Alibaba's ``AccessDeniedDetail`` (``PolicyType``, ``AuthAction``, ``NoPermissionType``, …), flat
    text only and bounded: it goes into logs, results and webhook answers."""
    if not isinstance(value, dict) or not value:
        return None
    detail = {}
    for key, item in list(value.items())[:MAX_DETAIL_FIELDS]:
        if isinstance(item, (str, int, float)) and not isinstance(item, bool):
            detail[scrub(str(key))[:64]] = scrub(str(item))[:2048]
    return detail or None


def _retry_after(value: str | None) -> float | None:
    """Seconds from ``x-acs-retry-after`` (milliseconds), if it is a sane number."""
    try:
        milliseconds = float(value) if value is not None else None
    except ValueError:
        return None
    if milliseconds is None or not 0 <= milliseconds < 3_600_000:
        return None
    return milliseconds / 1000
