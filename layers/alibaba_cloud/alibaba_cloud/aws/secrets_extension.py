"""Secrets Manager values through the AWS Parameters and Secrets Lambda Extension.

The extension is a local HTTP endpoint (port 2773), so reading a secret needs neither boto3 nor
botocore: one GET, authenticated with the function's own session token. Values are cached per
container for ``secrets_cache_seconds`` so a rotated secret is picked up without a redeploy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from urllib.parse import quote

from ..errors import AlibabaCloudError
from ..http.fetch import Fetcher, FetchError
from ..http.parse import json_object

MAX_SECRET_BYTES = 1024 * 1024  # a Secrets Manager value is at most 64 KiB; its JSON answer is small


class SecretsExtension:
    """Reads and caches ``SecretString`` values by secret name or ARN."""

    def __init__(
        self, *, port: int = 2773, cache_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetcher: Fetcher | None = None  # made on first use: most containers never read a secret
        self._url = f"http://localhost:{port}/secretsmanager/get"
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, str]] = {}

    def get(self, secret_id: str) -> str:
        cached = self._cache.get(secret_id)
        if cached and self._clock() - cached[0] < self._cache_seconds:
            return cached[1]
        value = self._fetch(secret_id)
        self._cache[secret_id] = (self._clock(), value)
        return value

    def _fetch(self, secret_id: str) -> str:
        failure = AlibabaCloudError(
            "SecretUnavailable",
            f"Cannot read secret {secret_id!r} through the Parameters and Secrets extension",
            http_status=500,
        )
        if self._fetcher is None:
            self._fetcher = Fetcher(1.0, 5.0, max_bytes=MAX_SECRET_BYTES, pool_size=2)
        try:
            answer = self._fetcher.request(
                "GET",
                f"{self._url}?secretId={quote(secret_id, safe='')}",
                None,
                {"X-Aws-Parameters-Secrets-Token": os.environ.get("AWS_SESSION_TOKEN", "")},
                None,
            )
        except FetchError as exc:
            failure.message += f": {type(exc).__name__}"
            raise failure from None
        if answer.status != 200:
            failure.message += f": HTTP {answer.status}"
            raise failure
        try:
            value = (json_object(answer.content) or {})["SecretString"]
        except KeyError:
            failure.message += ": the answer carries no SecretString"
            raise failure from None
        if not isinstance(value, str):
            failure.message += ": SecretString is not text"
            raise failure
        return value
