"""Request bodies of the payments API (the tutorial's snake_case)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

PaymentId = Annotated[str, Path(alias="id", max_length=64)]
# A JSON number or a numeric string, kept exact: never a float.
Money = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
PaymentMethod = Literal["card", "paypal", "apple_pay", "google_pay"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Card(Body):
    """A card for the provider only: Agora keeps the provider's token and the last four digits."""

    number: Annotated[str, Field(pattern=r"^[0-9][0-9 -]{11,24}[0-9]$")]
    exp_month: Annotated[int | None, Field(ge=1, le=12)] = None
    exp_year: Annotated[int | None, Field(ge=2000, le=2100)] = None
    cvc: Annotated[str | None, Field(pattern=r"^[0-9]{3,4}$")] = None


class CreatePayment(Body):
    order_id: Annotated[str, Field(min_length=1, max_length=64)]
    user_id: Annotated[str | None, Field(max_length=64)] = None
    amount: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    method: PaymentMethod
    provider: Annotated[str, Field(min_length=1, max_length=50)]
    description: Annotated[str | None, Field(max_length=500)] = None
    metadata: Annotated[dict[str, Any] | None, Field(max_length=50)] = None
    card: Card | None = None


class ConfirmPayment(Body):
    # The client's own reference, kept as such: the provider alone says whether the payment completed.
    provider_transaction_id: Annotated[str | None, Field(min_length=1, max_length=255)] = None


class RefundPayment(Body):
    amount: Money | None = None
    reason: Annotated[str | None, Field(max_length=500)] = None
