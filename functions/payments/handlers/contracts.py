"""Request bodies of the payments API (the tutorial's snake_case)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Header, Path
from pydantic import BaseModel, ConfigDict, Field

PaymentId = Annotated[str, Path(alias="id", max_length=64)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
# A JSON number or a numeric string, kept exact: never a float.
Money = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreatePayment(Body):
    order_id: Annotated[str, Field(min_length=1, max_length=64)]
    user_id: Annotated[str | None, Field(max_length=64)] = None
    amount: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    method: Literal["card", "paypal", "apple_pay", "google_pay"]
    provider: Annotated[str, Field(min_length=1, max_length=50)]
    description: Annotated[str | None, Field(max_length=500)] = None
    metadata: Annotated[dict[str, Any] | None, Field(max_length=50)] = None


class ConfirmPayment(Body):
    provider_transaction_id: Annotated[str, Field(min_length=1, max_length=255)]


class RefundPayment(Body):
    amount: Money | None = None
    reason: Annotated[str | None, Field(max_length=500)] = None
