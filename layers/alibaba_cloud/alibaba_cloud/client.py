"""The client: validate an action's parameters, sign them, send them, read the answer."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from . import validation as v
from .actions import Action
from .config import Settings
from .credentials import CredentialsProvider
from .errors import AlibabaCloudError
from .retry import RetryPolicy, deadline_exceeded
from .secrets_extension import SecretsExtension
from .signing import SIGNERS
from .transport import Transport, parse_answer


@dataclass(frozen=True)
class CallResult:
    action: str
    parameters: dict[str, str]
    request_id: str | None
    body: dict
    attempts: int = 1


class RpcClient:
    """Calls any declared RPC action. Build one per container and reuse it."""

    def __init__(
        self,
        settings: Settings,
        transport: Transport,
        credentials: CredentialsProvider,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.credentials = credentials
        self.clock = clock
        self.sleep = sleep
        self.retry = RetryPolicy(
            max_attempts=max(1, settings.max_attempts),
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
            margin=settings.deadline_margin,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> RpcClient:
        transport = Transport(settings.connect_timeout, settings.read_timeout)
        extension = SecretsExtension(
            transport.session, port=settings.secrets_extension_port, cache_seconds=settings.secrets_cache_seconds
        )
        return cls(settings, transport, CredentialsProvider(settings.credentials_secret_id, extension))

    def validate(
        self, action: Action, given: Mapping[str, object], scheduled_time: datetime | None = None
    ) -> dict[str, str]:
        ctx = v.ValidationContext(
            now=self.clock(), maintain_window=self.settings.maintain_window, scheduled_time=scheduled_time
        )
        params = action.validate(given, ctx)
        region = params.get("RegionId") or self.settings.region_id
        if region:
            if "RegionId" not in params:
                v.region_id("ALIBABA_CLOUD_REGION_ID", region, ctx)
            if action.takes_region:
                params["RegionId"] = region  # the host and the parameter must agree
        elif not self.settings.endpoint:
            raise AlibabaCloudError(
                "MissingParameter",
                "RegionId should not be null: pass RegionId or set ALIBABA_CLOUD_REGION_ID.",
            )
        return params

    def call(
        self,
        action: Action,
        given: Mapping[str, object],
        deadline: float | None = None,
        scheduled_time: datetime | None = None,
        pace: Callable[[], bool] | None = None,
    ) -> CallResult:
        """Validate, then send until success, a final error, the last attempt or the deadline.

        ``deadline`` is a ``time.monotonic()`` value (the handler derives it from Lambda's
        remaining time). Every attempt is signed anew: a fresh nonce and timestamp each time.
        ``pace``, when given, is waited on before each further attempt (a batch's rate cap);
        it returns ``False`` when the slot would come too late.
        """
        params = self.validate(action, given, scheduled_time)
        credentials = self.credentials.get()
        url = action.product.base_url(params.get("RegionId") or self.settings.region_id or "", self.settings) + "/"
        sign = SIGNERS[self.settings.signature_version]
        host = urlsplit(url).netloc
        request_ids: list[str] = []
        for attempt in range(1, self.retry.max_attempts + 1):
            time_left = None if deadline is None else deadline - time.monotonic() - self.retry.margin
            if time_left is not None and time_left < self.retry.min_attempt_time:
                raise deadline_exceeded(
                    f"Not enough of the invocation left to call {action.name} (attempt {attempt})."
                )
            signed = sign(
                method=action.method,
                host=host,
                action=action.name,
                version=action.product.version,
                params=params,
                access_key_id=credentials.access_key_id,
                access_key_secret=credentials.access_key_secret,
                security_token=credentials.security_token,
            )
            try:
                answer = self.transport.post(url, signed, read_timeout=time_left)
                body = parse_answer(answer, credentials.scrub)
                return CallResult(action.name, params, body.get("RequestId"), body, attempt)
            except AlibabaCloudError as error:
                request_ids += error.request_ids
                error.attempts, error.request_ids = attempt, request_ids
                if not error.retryable or attempt == self.retry.max_attempts:
                    raise
                pause = self.retry.delay(attempt, error)
                if deadline is not None and time.monotonic() + pause + self.retry.min_attempt_time > deadline - self.retry.margin:
                    raise  # no time for another attempt: report this one while we still can
                self.sleep(pause)
                if pace is not None and not pace():
                    raise
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
