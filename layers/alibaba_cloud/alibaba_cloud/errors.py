"""The one exception type every failure becomes, shaped like Alibaba's own error answers, and the
factories that make the common kinds of it: every module raises through these, so a code always
comes with the status Alibaba would give it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote


class AlibabaCloudError(Exception):
    """An error with Alibaba's fields: ``Code``, ``Message``, ``RequestId`` and the HTTP status.

    Local validation, gateway answers, unreadable answers and network failures all end here,
    so a caller handles one type and an operator always reads ``Code: Message``.
    ``request_id`` is Alibaba's RequestId when the error came from upstream, else ``None``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int = 400,
        request_id: str | None = None,
        host_id: str | None = None,
        recommend: str | None = None,
        access_denied_detail: dict[str, Any] | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        local: bool = False,
    ) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.host_id = host_id
        self.recommend = recommend  # Alibaba's diagnosis link for this very request
        self.access_denied_detail = access_denied_detail  # for RAM denials: which policy denied which action
        self.retryable = retryable  # a later attempt, freshly signed, may succeed
        self.retry_after = retry_after  # seconds the gateway asked us to wait (x-acs-retry-after)
        self.local = local  # refused here, before anything was sent: the caller's mistake, not a failed call
        self.maybe_applied = False  # a request went out and got no answer: it may have been applied
        self.attempts = 1
        self.throttled = 0  # attempts Alibaba answered with Throttling.*
        self.request_ids: list[str] = [request_id] if request_id else []
        super().__init__(str(self))

    def __str__(self) -> str:
        """``Code: Message (RequestId: …)``: all an operator gets from a failed Lambda invocation.

        After several attempts it also names how many there were and every RequestId they got.
        """
        text = f"{self.code}: {self.message}"
        if self.request_id:
            text += f" (RequestId: {self.request_id})"
        if self.attempts > 1:
            ids = f"; RequestIds: {', '.join(self.request_ids)}" if self.request_ids else ""
            text += f" [after {self.attempts} attempts{ids}]"
        if self.access_denied_detail:
            text += f" AccessDeniedDetail: {json.dumps(self.access_denied_detail, ensure_ascii=False, sort_keys=True)}"
        if self.recommend:
            text += f" Recommend: {self.recommend}"
        return text

    def details(self) -> dict[str, Any]:
        """The diagnosis Alibaba gave beside the code, where it gave any.

        ``HostId``, ``Recommend`` and ``AccessDeniedDetail``, each only when it is there.
        """
        fields = (
            ("HostId", self.host_id),
            ("Recommend", self.recommend),
            ("AccessDeniedDetail", self.access_denied_detail),
        )
        return {name: value for name, value in fields if value}

    def to_dict(self) -> dict[str, Any]:
        """The body a webhook caller receives: Alibaba's error shape, diagnosis included."""
        return {"Code": self.code, "Message": self.message, "RequestId": self.request_id, **self.details()}


MIN_SECRET_RUN = 12  # a run of a secret this long, anywhere, is as good as the secret


def spellings(secret: str) -> set[str]:
    """Every way an upstream may echo ``secret``: raw, percent-encoded once or twice, in upper or lower case,
    with ``/`` kept or not, Base64, HTML entities, JSON ``\\u`` escapes."""
    import base64
    import html
    import json

    forms = {secret, html.escape(secret), json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=True)[1:-1]}
    forms.add("".join(f"\\u{ord(c):04x}" for c in secret))
    forms.add("".join(f"&#{ord(c)};" for c in secret))
    forms.add("".join(f"&#x{ord(c):x};" for c in secret))
    for safe in ("~", "/~", ""):
        once = quote(secret, safe=safe)
        twice = quote(once, safe=safe)
        forms |= {once, twice, _lower_escapes(once), _lower_escapes(twice)}
    raw = secret.encode()
    forms |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    forms |= {form.rstrip("=") for form in list(forms) if form.endswith("=")}
    return {form for form in forms if form}


def _lower_escapes(text: str) -> str:
    """``%2F`` as ``%2f``: servers that echo percent-encoding differ in case."""
    import re

    return re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), text)


def redact(text: str, secrets: tuple[str | None, ...]) -> str:
    """Remove secrets from text that came from elsewhere (an upstream message, an exception).

    ``SignatureDoesNotMatch`` echoes the server's StringToSign, which carries the security token
    percent-encoded twice; a hostile or broken upstream may echo it otherwise, or only part of it.
    So every spelling :func:`spellings` foresees is removed, the longest first, and then any run of
    ``MIN_SECRET_RUN`` characters or more of a secret, raw.
    """
    for secret in secrets:
        if not secret:
            continue
        for form in sorted(spellings(secret), key=len, reverse=True):
            text = text.replace(form, "***")
        text = _without_runs(text, secret)
    return text


def _without_runs(text: str, secret: str) -> str:
    """``text`` with every run of at least ``MIN_SECRET_RUN`` characters of ``secret`` replaced."""
    if len(secret) < MIN_SECRET_RUN or len(text) < MIN_SECRET_RUN:
        return text
    windows = {secret[i : i + MIN_SECRET_RUN] for i in range(len(secret) - MIN_SECRET_RUN + 1)}
    hidden = [False] * len(text)
    for i in range(len(text) - MIN_SECRET_RUN + 1):
        if text[i : i + MIN_SECRET_RUN] in windows:
            hidden[i : i + MIN_SECRET_RUN] = [True] * MIN_SECRET_RUN
    if not any(hidden):
        return text
    out, previous = [], False
    for char, hide in zip(text, hidden, strict=True):
        if hide and not previous:
            out.append("***")
        elif not hide:
            out.append(char)
        previous = hide
    return "".join(out)


def invalid(code: str, message: str) -> AlibabaCloudError:
    """The caller's mistake (400): a parameter, a key, a shape Alibaba or this product refuses, found here."""
    return AlibabaCloudError(code, message, http_status=400, local=True)


def bad_request(message: str) -> AlibabaCloudError:
    """``InvalidParameter``: the commonest of the caller's mistakes."""
    return invalid("InvalidParameter", message)


def unauthorized(code: str, message: str) -> AlibabaCloudError:
    """A webhook delivery that does not prove who sent it (401)."""
    return AlibabaCloudError(code, message, http_status=401)


def too_large(message: str) -> AlibabaCloudError:
    return AlibabaCloudError("PayloadTooLarge", message, http_status=413)


def deadline_exceeded(message: str) -> AlibabaCloudError:
    return AlibabaCloudError("DeadlineExceeded", message, http_status=504)


def invalid_response(message: str) -> AlibabaCloudError:
    """An upstream answer this product cannot read (502)."""
    return AlibabaCloudError("InvalidResponse", message, http_status=502)


def internal_error() -> AlibabaCloudError:
    """A bug: what a caller is told, the traceback being in the log."""
    return AlibabaCloudError("InternalError", "The function failed unexpectedly; see its log.", http_status=500)


def protected(message: str) -> AlibabaCloudError:
    """An instance this product does not write (the protection tag, or release protection): refused before any write."""
    return AlibabaCloudError("Instance.Protected", message, http_status=403, local=True)


def too_many_changes(writes: int, cap: int) -> AlibabaCloudError:
    return AlibabaCloudError(
        "Fleet.TooManyChanges",
        f"The plan would change {writes} instances; one run may change at most {cap} (MAX_CHANGES, or "
        "RateControl.MaxChanges): nothing was written. Narrow the selection, or raise RateControl.MaxChanges "
        "up to MAX_CHANGES.",
        http_status=409,
        local=True,
    )


def runs_not_configured() -> AlibabaCloudError:
    return AlibabaCloudError(
        "Runs.NotConfigured",
        "Plans, change records and run statuses need RUNS_TABLE (the template sets it): none is configured.",
        http_status=501,
        local=True,
    )


def not_found(code: str, message: str) -> AlibabaCloudError:
    """A plan or run the store does not hold (``Plan.NotFound``, ``Run.NotFound``)."""
    return AlibabaCloudError(code, message, http_status=404, local=True)


def plan_expired(plan_id: str, expired_at: str) -> AlibabaCloudError:
    return AlibabaCloudError(
        "Plan.Expired",
        f"The plan {plan_id} expired at {expired_at}: make a new one (DryRun).",
        http_status=410,
        local=True,
    )


def plan_applied(plan_id: str, by: str) -> AlibabaCloudError:
    return AlibabaCloudError(
        "Plan.AlreadyApplied",
        f"The plan {plan_id} was applied by the run {by} meanwhile: nothing more is written.",
        http_status=409,
    )


def store_unavailable(code: str, message: str) -> AlibabaCloudError:
    """A DynamoDB table the product keeps state in cannot be reached: nothing was run, a retry may be."""
    return AlibabaCloudError(code, message, http_status=503, retryable=True)


def credentials_failed(step: str, message: str, request_id: str | None = None) -> AlibabaCloudError:
    """A step of role credentials failed (``Credentials.WebIdentityTokenFailed``,
    ``Credentials.AssumeRoleWithOIDCFailed``): both clouds' codes in the message, never retried as a throttle."""
    return AlibabaCloudError(f"Credentials.{step}", message, http_status=502, request_id=request_id)


def web_identity_token_failed(code: str, message: str) -> AlibabaCloudError:
    """The first step of role credentials: AWS STS gave the function's role no token (AWS's code said)."""
    return credentials_failed(
        "WebIdentityTokenFailed",
        f"AWS STS GetWebIdentityToken failed ({code}): {message}. Check that outbound identity federation is "
        "enabled for the AWS account and that the function's role may call sts:GetWebIdentityToken for "
        "ALIBABA_CLOUD_OIDC_AUDIENCE.",
    )
