"""Alibaba Cloud STS (2015-04-01) in the emulator: ``AssumeRoleWithOIDC``, anonymous, as Alibaba serves it.

The token is checked as a RAM OIDC provider checks it: an RS256 signature against the JWKS the
provider was registered with, its issuer, an audience among the provider's client ids, its expiry,
and the role's trust in its subject. The STS credentials it issues are the ones the ECS and R-kvstore
gateways then accept, until they expire. Error codes are those of Alibaba's STS error-code page.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .state import ApiError, EmulatorState

VERSION = "2015-04-01"


@dataclass
class OidcProvider:
    """A RAM OIDC provider and the roles that trust it: role ARN -> the token subject it requires (None: any)."""

    arn: str
    issuer: str
    client_ids: tuple[str, ...]
    jwks: dict[str, Any]
    roles: dict[str, str | None] = field(default_factory=dict)
    max_session_seconds: int = 3600
    fingerprint_matches: bool = True  # the registered fingerprint is the issuer's TLS certificate's


def denied(code: str, message: str) -> ApiError:
    return ApiError(401, code, message)


def assume_role_with_oidc(state: EmulatorState, params: dict[str, str]) -> dict:
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    for name in ("OIDCProviderArn", "RoleArn", "OIDCToken", "RoleSessionName"):
        if not params.get(name):
            raise ApiError(400, "MissingParameter", f"{name} should not be null.")
    provider = state.oidc_providers.get(params["OIDCProviderArn"])
    if provider is None:
        raise denied("AuthenticationFail.NoPermission", "No such OIDC Provider registered.")
    if not provider.fingerprint_matches:
        raise denied(
            "AuthenticationFail.OIDCToken.HttpsUrlInvalid", "Invoke url failed due to certificate chain validation"
        )
    token = params["OIDCToken"]
    if token.count(".") != 2:
        raise denied(
            "AuthenticationFail.OIDCToken.Invalid", "The number of Jwt field should be divided into 3 parts with '.' ."
        )
    try:
        decoded = jwt.decode(token, KeySet.import_key_set(provider.jwks), algorithms=["RS256"])
    except JoseError:
        raise denied(
            "AuthenticationFail.OIDCToken.InvalidSignature", "OIDC token validate failed: invalid signature."
        ) from None
    claims = decoded.claims
    if claims.get("iss") != provider.issuer:
        raise denied("AuthenticationFail.OIDCToken.IssuerNotMatch", "Invalid issuer.")
    audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
    if not set(audiences) & set(provider.client_ids):
        raise denied("AuthenticationFail.OIDCToken.AudienceNotMatch", "Invalid audience.")
    if not isinstance(claims.get("exp"), int) or claims["exp"] < state.now().timestamp():
        raise denied("AuthenticationFail.OIDCToken.Expired", "This JsonWebToken is expired.")
    role = params["RoleArn"]
    if role not in provider.roles or provider.roles[role] not in (None, claims.get("sub")):
        raise denied("AuthenticationFail.NoPermission", "There is no permission")
    duration = int(params.get("DurationSeconds") or 3600)
    if not 900 <= duration <= provider.max_session_seconds:
        raise ApiError(400, "InvalidParameter.DurationSeconds", "The parameter DurationSeconds is out of range.")
    return {
        "Credentials": issue(state, duration),
        "AssumedRoleUser": {"Arn": f"{role}/{params['RoleSessionName']}", "AssumedRoleId": secrets.token_hex(8)},
        "OIDCTokenInfo": {"Subject": claims.get("sub"), "Issuer": claims.get("iss"), "ClientIds": ",".join(audiences)},
    }


TAKES = {"OIDCProviderArn", "RoleArn", "OIDCToken", "RoleSessionName", "Policy", "DurationSeconds"}


def assume_role(state: EmulatorState, params: dict[str, str]) -> dict:
    """``AssumeRole`` (signed): one identity into a role of another account that trusts it (``state.assumable``;
    the gateway has checked the signature)."""
    for name in ("RoleArn", "RoleSessionName"):
        if not params.get(name):
            raise ApiError(400, "MissingParameter", f"{name} should not be null.")
    if params["RoleArn"] not in state.assumable:
        raise ApiError(
            403, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM."
        )
    duration = int(params.get("DurationSeconds") or 3600)
    if not 900 <= duration <= 3600:
        raise ApiError(400, "InvalidParameter.DurationSeconds", "The parameter DurationSeconds is out of range.")
    return {
        "Credentials": issue(state, duration),
        "AssumedRoleUser": {"Arn": f"{params['RoleArn']}/{params['RoleSessionName']}"},
    }


def issue(state: EmulatorState, duration: int) -> dict[str, str]:
    """STS credentials the gateways accept until they expire."""
    key_id, secret, session = "STS." + secrets.token_hex(10), secrets.token_urlsafe(30), secrets.token_urlsafe(60)
    expires = state.now() + timedelta(seconds=duration)
    state.credentials[key_id] = (secret, session)
    state.expiry[key_id] = expires
    return {
        "AccessKeyId": key_id,
        "AccessKeySecret": secret,
        "SecurityToken": session,
        "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


ACTIONS = {
    (VERSION, "AssumeRole"): (
        lambda name: name in {"RoleArn", "RoleSessionName", "Policy", "DurationSeconds", "ExternalId"},
        assume_role,
    ),
    (VERSION, "AssumeRoleWithOIDC"): (
        lambda name: (
            name in {"OIDCProviderArn", "RoleArn", "OIDCToken", "RoleSessionName", "Policy", "DurationSeconds"}
        ),
        assume_role_with_oidc,
    ),
}
ANONYMOUS = frozenset({(VERSION, "AssumeRoleWithOIDC")})  # served without an AccessKey or a signature
