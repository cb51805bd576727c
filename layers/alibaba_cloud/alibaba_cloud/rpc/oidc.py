"""Alibaba credentials from the function's own AWS role, with nothing stored: a web identity token (a
JWT from AWS STS, handed in by the composition root) exchanged through Alibaba STS
``AssumeRoleWithOIDC`` (2015-04-01, an anonymous RPC call: no AccessKey, no signature) for an STS
AccessKey, secret and token.

They are kept per container and renewed before they expire: at four fifths of the duration asked
for, counted on this container's own monotonic clock, so a clock skew between the clouds (or an
``Expiration`` read in another zone) never makes them look fresher than they are. One lock: the
threads of a batch share one renewal.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlsplit

from ..errors import AlibabaCloudError, credentials_failed
from .credentials import SECRET_KEYS, Credentials
from .signing import SignedRequest
from .transport import Transport, parse_answer

GetToken = Callable[[float | None], str]  # deadline -> a JWT
RENEW_AT = 0.8  # of the duration: renewed with a fifth of it left


class OidcCredentials:
    def __init__(
        self,
        get_token: GetToken,
        transport: Transport,
        sts_url: str,
        role_arn: str,
        provider_arn: str,
        session_name: str,
        duration_seconds: int = 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.get_token, self.transport, self.url = get_token, transport, sts_url.rstrip("/") + "/"
        self.role_arn, self.provider_arn, self.session_name = role_arn, provider_arn, session_name
        self.duration, self.clock = duration_seconds, clock
        self._lock = threading.Lock()
        self._current: Credentials | None = None
        self._renew_at = 0.0
        self.renewals = 0

    def for_role(self, role_arn: str) -> OidcCredentials:
        """The same identity straight into another account's role: its credentials kept apart."""
        return OidcCredentials(
            self.get_token,
            self.transport,
            self.url,
            role_arn,
            self.provider_arn,
            self.session_name,
            self.duration,
            self.clock,
        )

    def get(self, deadline: float | None = None) -> Credentials:
        with self._lock:
            if self._current is None or self.clock() >= self._renew_at:
                asked = self.clock()
                self._current = self._assume(self.get_token(deadline), deadline)
                self._renew_at = asked + self.duration * RENEW_AT
                self.renewals += 1
            return self._current

    def _assume(self, token: str, deadline: float | None) -> Credentials:
        params = {
            "Action": "AssumeRoleWithOIDC",
            "Version": "2015-04-01",
            "Format": "JSON",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "SignatureNonce": uuid.uuid4().hex,
            "RoleArn": self.role_arn,
            "OIDCProviderArn": self.provider_arn,
            "OIDCToken": token,
            "RoleSessionName": self.session_name,
            "DurationSeconds": str(self.duration),
        }
        # as the official STS client sends it: a POST whose parameters are all in the query, nothing signed
        request = SignedRequest(urlencode(params, quote_via=quote, safe="~"), {}, b"")
        host = urlsplit(self.url).netloc
        try:
            answer = self.transport.post(self.url, request, deadline)
            body = parse_answer(answer, lambda text: text.replace(token, "****"), host)
        except AlibabaCloudError as error:
            raise credentials_failed(
                "AssumeRoleWithOIDCFailed",
                f"Alibaba Cloud STS AssumeRoleWithOIDC refused the role {self.role_arn} ({error.code}): "
                f"{error.message} Check the RAM OIDC provider (issuer, fingerprint, client id = "
                "ALIBABA_CLOUD_OIDC_AUDIENCE) and the role's trust policy.",
                error.request_id,
            ) from None
        found = body.get("Credentials") if isinstance(body.get("Credentials"), dict) else {}
        credentials = Credentials.from_mapping(found, SECRET_KEYS)  # the same names a credentials secret uses
        if credentials is None or not credentials.security_token:
            raise credentials_failed("AssumeRoleWithOIDCFailed", "Alibaba Cloud STS answered no Credentials.")
        return credentials
