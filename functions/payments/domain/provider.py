"""The payment provider port, and a deterministic simulated provider for development and tests.

Test cards (``metadata.card_number``), as a real provider's test mode would use them:
  4000000000000002  declined
  4000002500003155  requires action (3-D Secure)
  anything else     accepted, waiting for confirmation
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

DECLINED_CARD = "4000000000000002"
ACTION_CARD = "4000002500003155"


@dataclass(frozen=True)
class Intent:
    transaction_id: str
    client_secret: str
    requires_action: bool
    declined_reason: str | None = None


class PaymentProvider(Protocol):
    name: str

    def create_intent(
        self, amount: Decimal, currency: str, method: str, metadata: dict[str, Any]
    ) -> Intent: ...
    def refund(self, transaction_id: str | None, amount: Decimal) -> str: ...


class SimulatedProvider:
    name = "simulated"

    def create_intent(self, amount: Decimal, currency: str, method: str, metadata: dict[str, Any]) -> Intent:
        transaction_id = f"pi_{secrets.token_hex(12)}"
        secret = f"{transaction_id}_secret_{secrets.token_hex(8)}"
        card = str(metadata.get("card_number", ""))
        if method == "card" and card == DECLINED_CARD:
            return Intent(transaction_id, secret, False, declined_reason="card_declined")
        return Intent(transaction_id, secret, requires_action=method == "card" and card == ACTION_CARD)

    def refund(self, transaction_id: str | None, amount: Decimal) -> str:
        return f"re_{secrets.token_hex(12)}"
