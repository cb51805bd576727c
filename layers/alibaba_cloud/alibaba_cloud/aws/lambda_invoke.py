"""Lambda's Invoke API, asynchronously (``X-Amz-Invocation-Type: Event``): how a webhook's work that
cannot finish within the HTTP API's 30 s goes on, in a run of the same function with its own timeout,
whose result goes to the function's destinations and notify URLs as every asynchronous run's does.

One signed REST call (SigV4, service ``lambda``), configured from the container's environment as the
AWS SDKs are (``AWS_REGION``, the role's credentials, ``AWS_ENDPOINT_URL_LAMBDA`` for a local stand-in).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from ..http.fetch import Fetcher, FetchError
from ..http.parse import json_object
from .client import AwsError, credentials_of, endpoint_of, region_of
from .sigv4 import sign

MAX_ASYNC_PAYLOAD = 256 * 1024  # what an asynchronous invocation takes


class LambdaInvoker:
    def __init__(self, env: Mapping[str, str], fetcher: Fetcher) -> None:
        self.env = dict(env)
        self.region = region_of(self.env)
        self.endpoint = endpoint_of(self.env, "lambda", self.region)
        self.host = urlsplit(self.endpoint).netloc
        self.fetcher = fetcher

    def invoke_async(self, function_name: str, event: Any, deadline: float | None) -> None:
        """Queue ``event`` for an asynchronous run of ``function_name``; :class:`AwsError` if Lambda did not take it."""
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        if len(body) > MAX_ASYNC_PAYLOAD:
            raise AwsError(
                "RequestTooLarge", f"the event is {len(body)} bytes; an asynchronous run takes {MAX_ASYNC_PAYLOAD}"
            )
        path = f"/2015-03-31/functions/{quote(function_name, safe='')}/invocations"
        headers = {"Content-Type": "application/json", "X-Amz-Invocation-Type": "Event"}
        signed = sign("POST", self.host, path, "", headers, body, credentials_of(self.env), self.region, "lambda")
        try:
            answer = self.fetcher.post(self.endpoint.rstrip("/") + path, body, signed, deadline)
        except FetchError as exc:
            raise AwsError("Unreachable", f"lambda did not answer ({type(exc).__name__})") from None
        if answer.status != 202:
            data = json_object(answer.content or b"{}") or {}
            code = str(data.get("Type") or data.get("__type") or f"HTTP{answer.status}").rsplit("#", 1)[-1]
            raise AwsError(code, str(data.get("Message") or data.get("message") or "")[:500], answer.status)
