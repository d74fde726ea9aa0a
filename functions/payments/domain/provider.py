"""What a payment provider says, as values: the states of its intents and refunds, and its test cards.

The provider itself is a port (``payments.service.ports.PaymentProvider``).  Development and tests
use the simulated one (``payments.adapters.simulated_provider``), which follows a real provider's
test mode.  The card is the create request's ``card.number`` (or, as in the tutorial,
``metadata.card_number``); it goes to the provider only, which answers a token and the last four
digits, and Agora keeps only those.

  no card, or any other card   the intent succeeds when it is confirmed
  4000000000000002             declined as soon as the card is attached (at creation)
  4000000000000341             attached, then declined when the intent is confirmed
  4000002500003155             requires action (3-D Secure) until the buyer completes it
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

DECLINED_CARD = "4000000000000002"
DECLINED_ON_CONFIRM_CARD = "4000000000000341"
ACTION_CARD = "4000002500003155"


class IntentStatus(StrEnum):
    # The provider's names (a real provider spells ``canceled`` this way).
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


@dataclass(frozen=True)
class ProviderIntent:
    """The provider's payment intent as it answered: its own id, state, amount and currency."""

    id: str
    status: IntentStatus
    amount: Decimal
    currency: str
    client_secret: str | None = None
    decline_reason: str | None = None
    # The provider's token for the card attached at creation, and its last four digits.
    card_token: str | None = None
    card_last4: str | None = None

    @property
    def declined(self) -> bool:
        return self.status is IntentStatus.REQUIRES_PAYMENT_METHOD and self.decline_reason is not None


class ProviderRefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class ProviderRefund:
    """A refund as the provider knows it; ``key`` is the Agora refund id it was asked under, if any."""

    id: str
    intent_id: str
    amount: Decimal
    status: ProviderRefundStatus
    key: str | None = None
