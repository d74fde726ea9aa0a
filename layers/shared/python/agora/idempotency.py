"""The ``Idempotency-Key`` header: one request per key, within a scope.

A keyed request is scoped (to its caller, and to the object it changes) and bound to what it asked
for; the same key with another request is refused with 422 ``IDEMPOTENCY_KEY_REUSED``, and a repeat
of the same request answers what the first one did.

    keyed_id(NAMESPACE, key, user_id)       -> the UUID5 of "<user_id>\\n<key>"; a new UUID4 without a key
    digest(body)                            -> SHA-256 of the body as canonical JSON (sorted keys)
    ensure_same_request(stored, given)      -> raises IdempotencyKeyReused when they differ

What is stored to compare with (a digest, or the request's one value) is each use case's own, so that
rows written before keep replaying.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from agora.errors import UnprocessableEntity

ANOTHER_REQUEST = "this Idempotency-Key was used with another request"


class IdempotencyKeyReused(UnprocessableEntity):
    code = "IDEMPOTENCY_KEY_REUSED"


def keyed_id(namespace: uuid.UUID, key: str | None, *scope: object) -> uuid.UUID:
    """The id of what a keyed request creates: the same for the same scope and key, so a retry finds it.

    The UUID5, in ``namespace``, of the scope's parts and the key, one per line; without a key a new
    random id.
    """
    if not key:
        return uuid.uuid4()
    return uuid.uuid5(namespace, "\n".join([*(str(part) for part in scope), key]))


def digest(body: Any) -> str:
    """SHA-256 (hex) of ``body`` as canonical JSON: keys sorted, values JSON cannot hold as ``str``."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def ensure_same_request(stored: object, given: object, detail: str = ANOTHER_REQUEST) -> None:
    """A repeat under a key must be the request the key was first used with."""
    if stored != given:
        raise IdempotencyKeyReused(detail)
