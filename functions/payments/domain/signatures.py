"""Stripe-style webhook signatures: ``Stripe-Signature: t=<unix time>,v1=<hex>``.

The signature is HMAC-SHA256 of ``"<t>.<raw body>"`` with the webhook secret; it
is accepted within a tolerance of the current time, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

from agora.errors import InvalidInput

TOLERANCE_S = 300


class InvalidSignature(InvalidInput):
    code = "INVALID_SIGNATURE"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    payload = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def verify(header: str | None, body: bytes, secret: str, now: int, tolerance_s: int = TOLERANCE_S) -> None:
    if not header:
        raise InvalidSignature("the Stripe-Signature header is missing")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise InvalidSignature("the signature has no valid timestamp") from None
    if abs(now - timestamp) > tolerance_s:
        raise InvalidSignature("the signature is too old (or from the future)")
    expected = sign(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise InvalidSignature("the signature does not match")
