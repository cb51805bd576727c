"""HTTP to Alibaba Cloud: one pooled session per container, timeouts, and answers turned into data or errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import requests

from .errors import AlibabaCloudError

FORM = "application/x-www-form-urlencoded"


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
        self.session = session or requests.Session()
        self.timeout = (connect_timeout, read_timeout)

    def post_form(self, url: str, body: str) -> Answer:
        try:
            response = self.session.post(
                url, data=body.encode(), headers={"Content-Type": FORM}, timeout=self.timeout
            )
            return Answer(response.status_code, dict(response.headers), response.content)
        except requests.ConnectTimeout:
            raise AlibabaCloudError(
                "NetworkError.ConnectTimeout",
                f"No connection to the endpoint within {self.timeout[0]:g} s; nothing was sent.",
                http_status=504,
            ) from None
        except requests.ReadTimeout:
            raise AlibabaCloudError(
                "NetworkError.ReadTimeout",
                f"No answer within {self.timeout[1]:g} s; the request may have been applied.",
                http_status=504,
            ) from None
        except requests.RequestException as exc:
            raise AlibabaCloudError(
                "NetworkError.ConnectionFailed",
                f"The connection to the endpoint failed ({type(exc).__name__}); "
                "the request may have been applied.",
                http_status=502,
            ) from None


def parse_answer(answer: Answer, scrub: Callable[[str], str] = str) -> dict:
    """The JSON body of a success, or the error it carries, its text passed through ``scrub``."""
    try:
        data = json.loads(answer.content)
    except ValueError:  # includes UnicodeDecodeError
        data = None
    if not isinstance(data, dict):
        content_type = answer.headers.get("Content-Type") or answer.headers.get("content-type") or "no content type"
        snippet = answer.content[:120].decode("utf-8", "replace")
        raise AlibabaCloudError(
            "InvalidResponse",
            scrub(
                f"The endpoint answered HTTP {answer.status} ({content_type}) with a body that is "
                f"not a JSON object: {snippet!r}"
            ),
            http_status=answer.status if answer.status >= 400 else 502,
        )
    if 200 <= answer.status < 300:
        return data
    def field(name: str) -> str | None:
        value = data.get(name)
        return scrub(str(value)) if value is not None else None

    raise AlibabaCloudError(
        field("Code") or f"HTTP{answer.status}",
        field("Message") or "The endpoint gave no message.",
        http_status=answer.status,
        request_id=field("RequestId"),
        host_id=field("HostId"),
        recommend=field("Recommend"),
    )
