"""The client: sign a validated request, send it until it succeeds or cannot, read the answer.

It knows nothing of action declarations: :mod:`alibaba_cloud.actions` validates an event's
parameters and hands over an :class:`RpcRequest`, so this wing stays below the one that uses it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..config import Settings
from ..errors import AlibabaCloudError, deadline_exceeded
from .credentials import CredentialsProvider, ReadSecret
from .endpoints import Product
from .retry import RetryPolicy
from .signing import SIGNERS
from .transport import Transport, parse_answer

NOT_FOUND = frozenset({"NoSuchResource", "InvalidInstanceId.NotFound"})  # Alibaba's answers name neither


@dataclass(frozen=True)
class RpcRequest:
    """One RPC call, validated: which product and action, the parameters to send, the region whose host takes it."""

    product: Product
    action: str
    params: dict[str, str]
    region_id: str | None
    method: str = "POST"  # what the official SDKs send for these actions


@dataclass(frozen=True)
class CallResult:
    action: str
    parameters: dict[str, str]
    request_id: str | None
    body: dict = field(repr=False)
    attempts: int = 1
    throttled: int = 0  # attempts Alibaba answered with Throttling.* before this one succeeded


class RpcClient:
    """Calls any RPC action. Build one per container and reuse it."""

    def __init__(
        self,
        settings: Settings,
        transport: Transport,
        credentials: CredentialsProvider,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``sleep`` and ``clock`` (a monotonic one, the deadline's) are the real ones but in tests."""
        self.settings = settings
        self.transport = transport
        self.credentials = credentials
        self.sleep = sleep
        self.clock = clock
        self.retry = RetryPolicy(
            max_attempts=max(1, settings.max_attempts),
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
            margin=settings.deadline_margin,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, read_secret: ReadSecret, get_token: Callable[[float | None], str] | None = None
    ) -> RpcClient:
        """``read_secret`` reads a Secrets Manager secret by name (the composition root's extension client);
        ``get_token`` a web identity token of the function's AWS role, for ``ALIBABA_CLOUD_CREDENTIALS_SOURCE=oidc``."""
        transport = Transport(settings.connect_timeout, settings.read_timeout)
        if settings.credentials_source == "oidc":
            from .oidc import OidcCredentials

            assert get_token is not None
            sts = (
                settings.sts_endpoint
                or settings.endpoint
                or f"https://sts.{settings.region_id or 'cn-hangzhou'}.aliyuncs.com"
            )
            credentials: Any = OidcCredentials(
                get_token,
                transport,
                sts,
                settings.role_arn or "",
                settings.oidc_provider_arn or "",
                settings.function_name or "alibaba-cloud-lifecycle",
                settings.role_session_seconds,
            )
            return cls(settings, transport, credentials)
        return cls(settings, transport, CredentialsProvider(settings.credentials_secret_id, read_secret))

    def for_role(self, role_arn: str) -> RpcClient:
        """A client of another account's RAM role (role credentials only), sharing this one's connections."""
        from .oidc import OidcCredentials

        assert isinstance(self.credentials, OidcCredentials)
        return RpcClient(self.settings, self.transport, self.credentials.for_role(role_arn), self.sleep, self.clock)

    def call(
        self,
        request: RpcRequest,
        deadline: float | None = None,
        pace: Callable[[], bool] | None = None,
    ) -> CallResult:
        """Send until success, a final error, the last attempt or the deadline.

        ``deadline`` is a ``time.monotonic()`` value (the run path derives it from Lambda's
        remaining time). Every attempt is signed anew: a fresh nonce and timestamp each time.
        ``pace``, when given, is waited on before each further attempt (a batch's rate cap);
        it returns ``False`` when the slot would come too late.
        """
        credentials = self.credentials.get(deadline)
        url = request.product.base_url(request.region_id or "", self.settings) + "/"
        sign = SIGNERS[self.settings.signature_version]
        host = urlsplit(url).netloc
        request_ids: list[str] = []
        throttled = 0
        maybe_applied = False  # any attempt that went out unanswered
        for attempt in range(1, self.retry.max_attempts + 1):
            time_left = None if deadline is None else deadline - self.clock() - self.retry.margin
            if time_left is not None and time_left < self.retry.min_attempt_time:
                raise deadline_exceeded(
                    f"Not enough of the invocation left to call {request.action} (attempt {attempt})."
                )
            signed = sign(
                method=request.method,
                host=host,
                action=request.action,
                version=request.product.version,
                params=request.params,
                access_key_id=credentials.access_key_id,
                access_key_secret=credentials.access_key_secret,
                security_token=credentials.security_token,
            )
            try:
                answer = self.transport.post(url, signed, None if deadline is None else deadline - self.retry.margin)
                body = parse_answer(answer, credentials.scrub, host)
                return CallResult(request.action, request.params, body.get("RequestId"), body, attempt, throttled)
            except AlibabaCloudError as error:
                throttled += error.code.startswith("Throttling")
                maybe_applied = error.maybe_applied = maybe_applied or error.maybe_applied
                error.throttled = throttled
                if error.code in NOT_FOUND and "InstanceId" in request.params:  # say what was not found, where
                    error.message += (
                        f" (InstanceId {request.params['InstanceId']} in {request.region_id or 'the endpoint'})"
                    )
                request_ids += error.request_ids
                error.attempts, error.request_ids = attempt, request_ids
                if not error.retryable or attempt == self.retry.max_attempts:
                    raise
                pause = self.retry.delay(attempt, error)
                if (
                    deadline is not None
                    and self.clock() + pause + self.retry.min_attempt_time > deadline - self.retry.margin
                ):
                    raise  # no time for another attempt: report this one while we still can
                self.sleep(pause)
                if pace is not None and not pace():
                    raise
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
