"""Who sees which payment: another user's payment answers exactly like a missing one."""

from __future__ import annotations

import uuid

from agora.errors import NotFound
from agora.identity import Principal
from payments.domain.payments import Payment


def missing(what: str = "payment") -> NotFound:
    return NotFound(f"no such {what}", code=f"{what.upper()}_NOT_FOUND")


def parse_id(value: str, what: str = "payment") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise missing(what) from None


def visible(payment: Payment | None, caller: Principal | None) -> Payment:
    """``None`` caller: the system itself (a consumer, the webhook, the sweep)."""
    if payment is None or (caller is not None and not caller.can_act_for(payment.user_id)):
        raise missing()
    return payment
