"""Standard Webhooks (standardwebhooks.com): verifying what callers send, signing what we send.

A signature is ``v1,`` + Base64(HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")); the key is
the Base64 text after ``whsec_``. Several signatures may be sent, space-separated, and several
secrets may be configured at once, so a secret can be rotated without downtime.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from ..config import ConfigurationError
from ..errors import AlibabaCloudError, unauthorized

SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 24  # Standard Webhooks' secrets are 24 to 64 random bytes


def decode_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_...`` secret: the prefix, Base64 text, at least 24 bytes of key.

    A shorter or unprefixed secret is refused: it is guessable, or it is not what the operator meant
    to configure (a password, a secret's name).
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ConfigurationError("A webhook secret must be whsec_ followed by Base64 text")
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("A webhook secret must be whsec_ followed by Base64 text") from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(f"A webhook secret must hold at least {MIN_KEY_BYTES} random bytes, not {len(key)}")
    return key


def parse_secrets(text: str) -> tuple[bytes, ...]:
    """Keys from a setting that holds one secret or several, separated by white space."""
    return tuple(decode_secret(part) for part in text.split())


def signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign_headers(key: bytes, webhook_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three headers of a signed delivery."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": signature(key, webhook_id, stamp, body),
    }


class WebhookVerifier:
    """Checks a delivery's headers against the configured keys; answers 401 otherwise."""

    def __init__(
        self, keys: tuple[bytes, ...], tolerance_seconds: float = 300.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys = keys
        self._tolerance = tolerance_seconds
        self._clock = clock

    def verify(self, headers: Mapping[str, str], body: bytes) -> str:
        """The delivery's ``webhook-id`` once its timestamp and a signature check out."""
        lower = {str(k).lower(): v for k, v in headers.items()}
        webhook_id = lower.get("webhook-id")
        timestamp = lower.get("webhook-timestamp")
        signatures = lower.get("webhook-signature")
        if not (webhook_id and timestamp and signatures):
            raise unauthorized(
                "Webhook.MissingSignature",
                "The request must carry webhook-id, webhook-timestamp and webhook-signature headers.",
            )
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise unauthorized("Webhook.InvalidTimestamp", "webhook-timestamp must be Unix time in seconds.")
        if abs(self._clock() - int(timestamp)) > self._tolerance:
            raise unauthorized(
                "Webhook.TimestampExpired",
                f"webhook-timestamp is more than {self._tolerance:g} seconds away from the current time.",
            )
        expected = [signature(key, webhook_id, timestamp, body).encode() for key in self._keys]
        for offered in signatures.split():
            if any(hmac.compare_digest(offered.encode(), wanted) for wanted in expected):
                return webhook_id
        raise unauthorized("Webhook.InvalidSignature", "No webhook-signature matches the request.")


class WebhookKeys:
    """The keys to verify and sign with, from ``WEBHOOK_SECRET`` or the secret ``WEBHOOK_SECRET_ID`` names.

    Read per use from the setting or the (cached) secret, so rotation needs no redeploy. The webhook
    trigger verifies with every key; chain deliveries sign with the first.
    """

    def __init__(self, inline: str | None, secret_id: str | None, read_secret: Callable[[str], str]) -> None:
        self._inline = inline
        self._secret_id = secret_id
        self._read_secret = read_secret

    def get(self) -> tuple[bytes, ...]:
        try:
            if self._inline:
                text = self._inline
            elif self._secret_id:
                text = self._read_secret(self._secret_id)
            else:
                raise ConfigurationError("no webhook secret")
            keys = parse_secrets(text)
            if not keys:
                raise ConfigurationError("empty webhook secret")
        except ConfigurationError as exc:
            raise AlibabaCloudError(
                "Webhook.NotConfigured",
                f"This function has no usable webhook secret ({exc}): set WEBHOOK_SECRET or WEBHOOK_SECRET_ID.",
                http_status=500,
            ) from None
        return keys
