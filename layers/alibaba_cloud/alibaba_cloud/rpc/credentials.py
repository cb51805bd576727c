"""AccessKey credentials: from the environment, or from a Secrets Manager secret in AWS.

The secret is read through a callable the composition root hands in (the Parameters and Secrets
extension's client, :mod:`alibaba_cloud.aws.secrets_extension`): reading AWS is not this wing's job."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import AlibabaCloudError, redact

ReadSecret = Callable[[str], str]  # a secret's name or ARN -> its SecretString

# The names the official SDKs read; a JSON secret may use them or the short ones.
ENV_NAMES = {
    "access_key_id": "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "access_key_secret": "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "security_token": "ALIBABA_CLOUD_SECURITY_TOKEN",
}
SECRET_KEYS = {
    "access_key_id": "AccessKeyId",
    "access_key_secret": "AccessKeySecret",
    "security_token": "SecurityToken",
}


def mask(access_key_id: str) -> str:
    """An AccessKeyId fit for logs: enough to tell keys apart, not enough to use one."""
    return f"{access_key_id[:4]}****{access_key_id[-3:]}" if len(access_key_id) > 10 else "****"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={mask(self.access_key_id)!r})"

    def scrub(self, text: str) -> str:
        """Text from elsewhere (an upstream message) with the secret and token removed and the key id masked."""
        text = redact(text, (self.access_key_secret, self.security_token))
        return text.replace(self.access_key_id, mask(self.access_key_id))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], names: Mapping[str, str]) -> Credentials | None:
        found = {attr: values.get(name) for attr, name in names.items()}
        if not found["access_key_id"] or not found["access_key_secret"]:
            return None
        if not all(isinstance(v, str) for v in found.values() if v is not None):
            return None
        return cls(**{k: v or None for k, v in found.items()})  # type: ignore[arg-type]


class CredentialsProvider:
    """Environment first (local runs, tests), else the secret named in the settings.

    The secret is read through the extension, which caches it, so a rotated key is taken up
    within the cache period on a warm container.
    """

    def __init__(
        self, secret_id: str | None, read_secret: ReadSecret, environ: Mapping[str, str] | None = None
    ) -> None:
        self._secret_id = secret_id
        self._read_secret = read_secret
        # Read once, like every other setting: a container's environment does not change.
        self._from_env = Credentials.from_mapping(os.environ if environ is None else environ, ENV_NAMES)

    def get(self, deadline: float | None = None) -> Credentials:
        if self._from_env:
            return self._from_env
        if self._secret_id:
            return self._from_secret(self._secret_id)
        raise AlibabaCloudError(
            "MissingCredentials",
            "Set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, "
            "or ALIBABA_CLOUD_CREDENTIALS_SECRET_ID",
            http_status=500,
        )

    def _from_secret(self, secret_id: str) -> Credentials:
        text = self._read_secret(secret_id)
        try:
            values = json.loads(text)
        except ValueError:
            values = None
        credentials = None
        if isinstance(values, dict):
            credentials = Credentials.from_mapping(values, SECRET_KEYS) or Credentials.from_mapping(values, ENV_NAMES)
        if credentials is None:
            raise AlibabaCloudError(
                "InvalidCredentialsSecret",
                f"Secret {secret_id!r} must be a JSON object with AccessKeyId and AccessKeySecret "
                "(and SecurityToken for STS credentials)",
                http_status=500,
            )
        return credentials
