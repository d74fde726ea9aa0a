"""Hashes of request bodies, kept to tell a retry with an ``Idempotency-Key`` from another request under it.

A body may carry card numbers, and a plain hash of a card number is found again by trying every
number with the same last four digits; so the hash is an HMAC-SHA256 with a secret key (the secret
named by ``AGORA_REQUEST_HASH_KEY_ARN``) over the body with its card numbers masked, as canonical JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from functools import cache
from typing import TYPE_CHECKING, Any

from agora import idempotency
from agora.cards import scrub
from agora.errors import DependencyUnavailable

if TYPE_CHECKING:
    from payments.service.context import PaymentsContext


def canonical(body: Any) -> bytes:
    return json.dumps(scrub(body), sort_keys=True, separators=(",", ":"), default=str).encode()


def request_hash(ctx: PaymentsContext, body: Any) -> str:
    return hmac.new(ctx.request_hash_key(), canonical(body), hashlib.sha256).hexdigest()


def ensure_same_request(stored: str | None, digest: str | None) -> None:
    """A repeat under a key must carry the request its first attempt hashed to.

    No hash: stored before hashes were keyed (migration 0005 dropped those), so there is nothing to check.
    """
    if stored is not None:
        idempotency.ensure_same_request(stored, digest)


def unconfigured_key() -> bytes:
    """No key is configured: a keyed request cannot be checked, so it is refused not hashed weakly."""
    raise DependencyUnavailable(
        "Idempotency-Key requests are unavailable: AGORA_REQUEST_HASH_KEY_ARN is not set"
    )


@cache
def testing_key() -> bytes:
    """A random key for this process: for tests only, passed explicitly as ``request_hash_key``."""
    return secrets.token_bytes(32)
