"""AWS STS ``GetWebIdentityToken`` (Query API, 2011-06-15, SigV4): a JWT of the function's own role.

Outbound identity federation: once enabled for the AWS account, the role asks STS for a token whose
issuer is the account's ``IssuerIdentifier`` and whose subject is the role's ARN; Alibaba's RAM OIDC
provider trusts that issuer. Regional endpoints only (the global one does not serve it):
``https://sts.<AWS_REGION>.amazonaws.com``, or ``AWS_ENDPOINT_URL_STS`` for a local stand-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from ..errors import web_identity_token_failed as token_failed
from ..http.fetch import Fetcher, FetchError
from ..http.parse import element_as_dict, xml_elements
from .client import credentials_of, region_of
from .sigv4 import sign


class WebIdentityTokens:
    """Asks STS for the role's token, signed with the credentials Lambda gives the function."""

    def __init__(self, env: Mapping[str, str], fetcher: Fetcher, audience: str, duration: int = 300) -> None:
        self.env, self.fetcher, self.audience, self.duration = dict(env), fetcher, audience, duration
        self.region = region_of(self.env)
        self.url = (self.env.get("AWS_ENDPOINT_URL_STS") or f"https://sts.{self.region}.amazonaws.com").rstrip(
            "/"
        ) + "/"

    def __call__(self, deadline: float | None) -> str:
        body = urlencode(
            {
                "Action": "GetWebIdentityToken",
                "Version": "2011-06-15",
                "Audience.member.1": self.audience,
                "SigningAlgorithm": "RS256",
                "DurationSeconds": str(self.duration),
            }
        ).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        host = urlsplit(self.url).netloc
        signed = sign("POST", host, "/", "", headers, body, credentials_of(self.env), self.region, "sts")
        try:
            answer = self.fetcher.post(self.url, body, signed, deadline)
        except FetchError as failure:
            raise token_failed("Unreachable", f"AWS STS ({host}) did not answer ({type(failure).__name__})") from None
        root = xml_elements(answer.content)
        fields = element_as_dict(root) if root is not None else None
        if not isinstance(fields, dict):
            raise token_failed("InvalidResponse", f"AWS STS answered HTTP {answer.status} with no XML it can read")
        if answer.status >= 300:
            error = fields.get("Error") if isinstance(fields.get("Error"), dict) else {}
            raise token_failed(str(error.get("Code") or f"HTTP{answer.status}"), str(error.get("Message") or "")[:300])
        result = fields.get("GetWebIdentityTokenResult")
        token = result.get("WebIdentityToken") if isinstance(result, dict) else None
        if not isinstance(token, str) or not token:
            raise token_failed("InvalidResponse", "AWS STS answered no WebIdentityToken")
        return token
