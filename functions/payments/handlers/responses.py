"""Response bodies of the payments API: the tutorial's payment shape (snake_case), as ``views`` writes it.

Each endpoint declares one of these as its ``response_model``: the view is validated against it on the
way out, so a view that drifts from the published document fails in the tests, not at a client.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from agora.choices import OneOf
from agora.contracts import Money, Shape, Timestamp
from payments.domain.payments import Status
from payments.handlers.contracts import PaymentMethod

# ``creating`` included: a payment is visible while its provider is being asked.
PAYMENT_STATUSES = tuple(s.value for s in Status)
# What a provider event did: the payment's status after it, or one of these.
WEBHOOK_OUTCOMES = tuple(dict.fromkeys(("ignored", "duplicate", "refunded", *PAYMENT_STATUSES)))
PaymentStatusValue = Annotated[str, OneOf(PAYMENT_STATUSES)]
WebhookOutcome = Annotated[str, OneOf(WEBHOOK_OUTCOMES)]


class Payment(Shape):
    id: str
    order_id: str
    user_id: str = Field(description="The order's buyer")
    amount: Money = Field(description="The order's total when the payment was created")
    currency: str = Field(description="ISO 4217, upper case")
    status: PaymentStatusValue = Field(description="Completed only on the provider's word")
    method: PaymentMethod
    provider: str
    provider_transaction_id: str | None = Field(
        description="The provider's id of its payment intent; null until the provider answered"
    )
    client_reference: str | None = Field(
        description="The id the client sent when confirming: kept as a reference, never trusted"
    )
    description: str | None = Field(description="As given, card numbers masked")
    failure_reason: str | None = Field(description="Why the payment failed or was cancelled")
    metadata: dict[str, Any] | None = Field(description="The client's keys and values, card numbers masked")
    card_last4: str | None = Field(description="The card's last four digits, as the provider reported them")
    refunded_amount: Money = Field(description="Given back so far; refunds still under way are not counted")
    created_at: Timestamp
    updated_at: Timestamp
    processed_at: Timestamp | None = Field(description="When the provider took the money")
    refunded_at: Timestamp | None = Field(description="When the whole amount had been given back")


class PaymentEnvelope(Shape):
    payment: Payment


class PaymentCreated(Shape):
    payment: Payment
    client_secret: str | None = Field(
        description="For the buyer's own step at the provider; null when the provider gave none"
    )
    requires_action: bool = Field(
        description="The buyer must complete an action at the provider (3-D Secure) before confirming"
    )


class PaymentList(Shape):
    payments: list[Payment] = Field(description="Oldest first")


class WebhookReceipt(Shape):
    received: Literal[True]
    outcome: WebhookOutcome = Field(
        description="The payment's status after the event; ignored (a type Agora does not follow), "
        "duplicate (applied before) or refunded"
    )
