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
from collections import OrderedDict
from collections.abc import Callable, Mapping

from .config import ConfigurationError
from .errors import AlibabaCloudError

SECRET_PREFIX = "whsec_"


def decode_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_...`` secret (prefix and padding optional, as in the reference libraries)."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("A webhook secret must be whsec_ followed by Base64 text") from None
    if not key:
        raise ConfigurationError("A webhook secret must not be empty")
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


def unauthorized(code: str, message: str) -> AlibabaCloudError:
    return AlibabaCloudError(code, message, http_status=401)


class WebhookVerifier:
    """Checks a delivery's headers against the configured keys; answers 401 otherwise."""

    def __init__(self, keys: tuple[bytes, ...], tolerance_seconds: float = 300.0, clock: Callable[[], float] = time.time) -> None:
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


class DeliveryCache:
    """Answers already given, by ``webhook-id``, so a redelivery does not call Alibaba twice.

    Senders retry a delivery with the same id, so only final answers are kept (a success, or an
    error that retrying cannot change); a transient failure is not, and its retry runs again.
    Bounded in size and age: older deliveries are refused by their timestamp anyway.
    """

    def __init__(self, max_entries: int = 1024, max_age_seconds: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, str, dict]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age_seconds
        self._clock = clock

    def get(self, webhook_id: str, body: bytes) -> dict | None:
        """The answer first given to this delivery, or ``None``; a reused id with another body is an error."""
        entry = self._entries.get(webhook_id)
        if entry is None or self._clock() - entry[0] > self._max_age:
            return None
        if entry[1] != hashlib.sha256(body).hexdigest():
            raise AlibabaCloudError("Webhook.IdReused", "This webhook-id was already delivered with another body.", http_status=409)
        return entry[2]

    def put(self, webhook_id: str, body: bytes, answer: dict) -> None:
        self._entries[webhook_id] = (self._clock(), hashlib.sha256(body).hexdigest(), answer)
        self._entries.move_to_end(webhook_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
