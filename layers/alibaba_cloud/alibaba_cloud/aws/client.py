"""A client for AWS's JSON 1.0 APIs (DynamoDB, SQS): one signed POST per operation, through a Fetcher.

Configured as the AWS SDKs are, from the environment Lambda sets: ``AWS_REGION``, the function
role's ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, and the standard
``AWS_ENDPOINT_URL_<SERVICE>`` / ``AWS_ENDPOINT_URL`` to point at a local stand-in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..http.fetch import Fetcher, FetchError
from ..http.parse import json_object
from .sigv4 import AwsCredentials, sign

MAX_ANSWER_BYTES = 1024 * 1024


class AwsError(Exception):
    """An AWS API's error (``code`` from ``__type``), or a failure to reach it (``code`` ``Unreachable``)."""

    def __init__(self, code: str, message: str, status: int = 0) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


class AwsJsonClient:
    def __init__(
        self,
        service: str,
        target_prefix: str,
        region: str,
        endpoint: str,
        fetcher: Fetcher,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.service, self.target_prefix, self.region = service, target_prefix, region
        parts = urlsplit(endpoint)
        self.url = endpoint.rstrip("/") + "/"
        self.host = parts.netloc or ""
        self.fetcher = fetcher
        self.env = dict(os.environ if env is None else env)  # at cold start, as Lambda sets it for the container

    @classmethod
    def from_env(
        cls, service: str, target_prefix: str, fetcher: Fetcher, env: Mapping[str, str] | None = None
    ) -> AwsJsonClient:
        env = os.environ if env is None else env
        region = region_of(env)
        return cls(service, target_prefix, region, endpoint_of(env, service, region), fetcher, env)

    def credentials(self) -> AwsCredentials:
        return credentials_of(self.env)

    def call(self, operation: str, payload: dict[str, Any], deadline: float | None) -> dict[str, Any]:
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"{self.target_prefix}.{operation}"}
        signed = sign("POST", self.host, "/", "", headers, body, self.credentials(), self.region, self.service)
        try:
            answer = self.fetcher.post(self.url, body, signed, deadline)
        except FetchError as exc:
            raise AwsError("Unreachable", f"{self.service} did not answer ({type(exc).__name__})") from None
        data = json_object(answer.content or b"{}")
        if data is None:
            raise AwsError(
                "InvalidResponse",
                f"{self.service} ({self.host}) answered HTTP {answer.status} with no JSON object it can read",
                answer.status,
            )
        if answer.status >= 300:
            code = str(data.get("__type", f"HTTP{answer.status}")).rsplit("#", 1)[-1]
            raise AwsError(code, str(data.get("message") or data.get("Message") or "")[:500], answer.status)
        return data


def region_of(env: Mapping[str, str]) -> str:
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"


def endpoint_of(env: Mapping[str, str], service: str, region: str) -> str:
    """The standard ``AWS_ENDPOINT_URL_<SERVICE>`` or ``AWS_ENDPOINT_URL``, else the service's regional endpoint."""
    return (
        env.get(f"AWS_ENDPOINT_URL_{service.upper()}")
        or env.get("AWS_ENDPOINT_URL")
        or f"https://{service}.{region}.amazonaws.com"
    )


def credentials_of(env: Mapping[str, str]) -> AwsCredentials:
    """The function role's credentials, from the environment Lambda gave the container."""
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        raise AwsError("MissingCredentials", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
    return AwsCredentials(key, secret, env.get("AWS_SESSION_TOKEN") or None)


def aws_fetcher() -> Fetcher:
    """Timeouts for AWS's own APIs, in the same Region: short, and the answers are small."""
    return Fetcher(2.0, 3.0, max_bytes=MAX_ANSWER_BYTES, pool_size=8)
