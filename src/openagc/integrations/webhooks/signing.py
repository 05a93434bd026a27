"""Signatures as the Standard Webhooks specification defines them (https://www.standardwebhooks.com), so that
integrators can verify deliveries with that project's libraries.

A secret is `whsec_` followed by the base64 of 24 to 64 random bytes; those bytes are the HMAC key. A delivery
carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64>`, the HMAC-SHA256 of
`"{id}.{timestamp}.{body}"`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
KEY_BYTES = (24, 64)  # the specification's bounds for a secret's key
NEW_KEY_BYTES = 32


class SecretError(ValueError):
    """A secret that is not `whsec_` + base64 of 24 to 64 bytes."""


def new_secret() -> str:
    """A fresh secret (`whsec_` + base64 of 32 random bytes)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(NEW_KEY_BYTES)).decode()


def key_of(secret: str) -> bytes:
    """The HMAC key of `secret`, or `SecretError`."""
    if not secret.startswith(PREFIX):
        raise SecretError("the secret must start with whsec_")
    try:
        key = base64.b64decode(secret[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise SecretError("the secret must be whsec_ followed by base64") from None
    low, high = KEY_BYTES
    if not low <= len(key) <= high:
        raise SecretError(f"the secret's key must be {low} to {high} bytes (it is {len(key)})")
    return key


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value of one delivery: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery (and its content type)."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, msg_id, timestamp, body), "content-type": "application/json"}
