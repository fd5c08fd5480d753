"""Verifying callbacks: Standard Webhooks `v1` (HMAC-SHA256 with the
client's `whsec_` secret) and `v1a` (ed25519 with its `whpk_` public key)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Mapping, Optional, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(Exception):
    """The callback did not verify: missing headers, a stale timestamp, or
    no signature matching the secret or key."""


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"no {name} header")


def verify_callback(
    headers: Mapping[str, str],
    body: Union[bytes, str],
    secret: str,
    now: Optional[float] = None,
) -> Any:
    """Verifies a callback and returns its event (the parsed body).

    `secret` is the client's `whsec_…` secret (checks `v1` signatures) or a
    `whpk_…` public key (checks `v1a`). `body` is the raw body as received.
    Raises `WebhookVerificationError` unless a signature matches and the
    timestamp is within 5 minutes of `now` (default: the time now).
    """
    text = body.decode() if isinstance(body, bytes) else body
    msg_id = _header(headers, "webhook-id")
    try:
        timestamp = int(_header(headers, "webhook-timestamp"))
    except ValueError:
        raise WebhookVerificationError("unreadable webhook-timestamp") from None
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_SECONDS:
        raise WebhookVerificationError("webhook-timestamp is more than 5 minutes away")
    content = f"{msg_id}.{timestamp}.{text}".encode()
    if secret.startswith("whpk_"):
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(secret[len("whpk_") :]))

        def matches(version: str, signature: bytes) -> bool:
            if version != "v1a":
                return False
            try:
                key.verify(signature, content)
                return True
            except InvalidSignature:
                return False
    else:
        expected = hmac.new(base64.b64decode(secret.removeprefix("whsec_")), content, hashlib.sha256).digest()

        def matches(version: str, signature: bytes) -> bool:
            return version == "v1" and hmac.compare_digest(signature, expected)

    for versioned in _header(headers, "webhook-signature").split(" "):
        version, _, value = versioned.partition(",")
        try:
            signature = base64.b64decode(value, validate=True)
        except ValueError:
            continue
        if matches(version, signature):
            return json.loads(text)
    raise WebhookVerificationError("no signature matches")
