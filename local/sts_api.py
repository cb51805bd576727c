"""AWS STS ``GetWebIdentityToken`` on 127.0.0.1: outbound identity federation for the local cloud.

It checks the SigV4 signature (service ``sts``) of credentials it knows, each the Lambda role of a
function, and answers a JWT signed RS256 with a key it holds: issuer its ``issuer`` URL, subject
the role's ARN, audience the one asked for. Its JWKS is what the emulator's RAM OIDC provider is
registered with. Refusals are the model's (``OutboundWebIdentityFederationDisabledException``) and
IAM's (``AccessDenied`` for an audience or a duration the role's policy does not grant).
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from local.responder import LocalServer, Responder, signing_key_id

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


class StsStandIn(LocalServer):
    def __init__(
        self,
        roles: dict[str, tuple[str, str]],
        audiences: tuple[str, ...],
        issuer: str = "https://sts.local.example/federation",
        max_duration: int = 300,
    ) -> None:
        """``roles``: access key id -> (secret, role ARN); ``audiences``: what IAM lets the roles ask for."""
        from joserfc.jwk import RSAKey

        super().__init__(("127.0.0.1", 0), _Handler)
        self.roles, self.audiences, self.issuer, self.max_duration = roles, audiences, issuer, max_duration
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})
        self.federation_enabled = True
        self.issued: list[dict] = []  # the claims of every token issued

    def jwks(self) -> dict:
        return {"keys": [self.key.as_dict(private=False)]}

    def token(self, role_arn: str, audience: str, duration: int) -> tuple[str, float]:
        from joserfc import jwt

        now = int(time.time())
        claims = {"iss": self.issuer, "sub": role_arn, "aud": audience, "iat": now, "exp": now + duration}
        self.issued.append(claims)
        header = {"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self.key), now + duration


class _Handler(Responder):
    server: StsStandIn
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """The issuer's OIDC discovery and JWKS, as AWS publishes them at the account's IssuerIdentifier."""
        import json

        if self.path == "/.well-known/openid-configuration":
            document = {"issuer": self.server.issuer, "jwks_uri": f"{self.server.url}/.well-known/jwks.json"}
        elif self.path == "/.well-known/jwks.json":
            document = self.server.jwks()
        else:
            return self.send_body(404, "application/json", b"{}")
        self.send_body(200, "application/json", json.dumps(document).encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        role = self._signed(body)
        if role is None:
            return self._error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if (form.get("Action"), form.get("Version")) != ("GetWebIdentityToken", "2011-06-15"):
            return self._error(400, "InvalidAction", "Could not find operation.")
        if not self.server.federation_enabled:
            return self._error(
                403,
                "OutboundWebIdentityFederationDisabledException",
                "The outbound web identity federation feature is not enabled for this account.",
            )
        audiences = [v for k, v in sorted(form.items()) if re.fullmatch(r"Audience\.member\.\d+", k)]
        duration = int(form.get("DurationSeconds") or 300)
        if form.get("SigningAlgorithm") not in ("RS256", "ES384") or not 60 <= duration <= 3600 or len(audiences) != 1:
            return self._error(400, "ValidationError", "1 validation error detected.")
        if audiences[0] not in self.server.audiences or duration > self.server.max_duration:
            return self._error(
                403,
                "AccessDenied",
                f"User: {role} is not authorized to perform: sts:GetWebIdentityToken (sts:IdentityTokenAudience, "
                "sts:DurationSeconds)",
            )
        token, expires = self.server.token(role, audiences[0], duration)
        expiration = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._xml(
            200,
            f'<GetWebIdentityTokenResponse xmlns="{NAMESPACE}"><GetWebIdentityTokenResult>'
            f"<WebIdentityToken>{token}</WebIdentityToken><Expiration>{expiration}</Expiration>"
            f"</GetWebIdentityTokenResult><ResponseMetadata><RequestId>{secrets.token_hex(16)}</RequestId>"
            "</ResponseMetadata></GetWebIdentityTokenResponse>",
        )

    def _signed(self, body: bytes) -> str | None:
        """The role ARN of the key that signed the request as STS checks it, or None."""
        secrets_by_key = {key: secret for key, (secret, _) in self.server.roles.items()}
        key = signing_key_id(self, body, secrets_by_key, "sts")
        return None if key is None else self.server.roles[key][1]

    def _error(self, status: int, code: str, message: str) -> None:
        self._xml(
            status,
            f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{secrets.token_hex(16)}</RequestId></ErrorResponse>",
        )

    def _xml(self, status: int, text: str) -> None:
        self.send_body(status, "text/xml", text.encode())


LOCAL_RAM_ROLE = "acs:ram::1234567890123456:role/lifecycle"
LOCAL_PROVIDER = "acs:ram::1234567890123456:oidc-provider/aws-lambda"
LOCAL_AUDIENCE = "sts.aliyuncs.com"


def federate(emulator, access_key_id: str, secret: str, lambda_role: str) -> tuple[StsStandIn, dict[str, str | None]]:
    """Role credentials on 127.0.0.1, as the README's set-up makes them in the clouds: AWS STS (a started
    stand-in) vouches for the Lambda role, the emulator's RAM OIDC provider trusts its issuer and the
    role; and the environment a function then needs, with no Alibaba key in it."""
    from local.emulator.sts import OidcProvider

    stand_in = StsStandIn({access_key_id: (secret, lambda_role)}, (LOCAL_AUDIENCE,)).start()
    emulator.state.oidc_providers[LOCAL_PROVIDER] = OidcProvider(
        LOCAL_PROVIDER, stand_in.issuer, (LOCAL_AUDIENCE,), stand_in.jwks(), {LOCAL_RAM_ROLE: lambda_role}
    )
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": None,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": None,
        "ALIBABA_CLOUD_CREDENTIALS_SOURCE": "oidc",
        "ALIBABA_CLOUD_ROLE_ARN": LOCAL_RAM_ROLE,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": LOCAL_PROVIDER,
        "ALIBABA_CLOUD_OIDC_AUDIENCE": LOCAL_AUDIENCE,
        "ALIBABA_CLOUD_STS_ENDPOINT": emulator.url,
        "AWS_ENDPOINT_URL_STS": stand_in.url,
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
    }
    return stand_in, env
