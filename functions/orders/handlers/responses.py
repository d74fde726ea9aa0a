"""Response bodies of the orders API: the tutorial's OrderResponse (snake_case), as ``views`` writes it.

Each endpoint declares one of these as its ``response_model``: the view is validated against it on the
way out, so a view that drifts from the published document fails in the tests, not at a client.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from agora.choices import OneOf
from agora.contracts import Money, Shape, Timestamp
from orders.domain.orders import VISIBLE, PaymentStatus, Status

# The saga's own states (reserving, failed) are never shown: such an order answers 404.
ORDER_STATUSES = tuple(s.value for s in Status if s in VISIBLE)
PAYMENT_STATUSES = tuple(s.value for s in PaymentStatus)
OrderStatusValue = Annotated[str, OneOf(ORDER_STATUSES)]
PaymentStatusValue = Annotated[str, OneOf(PAYMENT_STATUSES)]


class OrderAddress(Shape):
    # Sent always, null when there is none: an address changed by an update was once stored without it.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    street: str
    city: str
    state: str
    postal_code: str
    country: str
    apartment: str | None = None


class OrderCustomer(Shape):
    first_name: str
    last_name: str
    email: str
    phone: str | None


class OrderLine(Shape):
    id: str = Field(description="The line's own id")
    product_id: int
    product_name: str = Field(description="The product's name when its stock was reserved")
    product_sku: str | None
    unit_price: Money = Field(description="The catalog price when the stock was reserved, not the client's")
    quantity: int
    total_price: Money = Field(description="unit_price x quantity")


class OrderPayment(Shape):
    """A payment of the order as the orders service last heard of it (the payments service has the rest)."""

    id: str = Field(description="The payment's id in the payments service")
    amount: Money
    currency: str
    status: PaymentStatusValue
    method: str | None
    provider: str | None
    updated_at: Timestamp = Field(description="When the payment reached this status")


class Order(Shape):
    id: str
    order_number: str = Field(description="ORD-<yyyymmdd>-<6 characters>: for people, not for the API")
    user_id: str = Field(description="The buyer")
    status: OrderStatusValue
    payment_status: PaymentStatusValue = Field(
        description="From the order's payments: one that took money speaks over failed attempts"
    )
    subtotal: Money
    tax_amount: Money
    shipping_amount: Money
    discount_amount: Money
    total_amount: Money = Field(description="What a payment of this order must be for")
    customer_info: OrderCustomer
    shipping_address: OrderAddress
    billing_address: OrderAddress | None
    items: list[OrderLine]
    payments: list[OrderPayment]
    notes: str | None
    metadata: dict[str, Any] | None = Field(description="The client's own keys and values, kept as given")
    created_at: Timestamp
    updated_at: Timestamp
    shipped_at: Timestamp | None
    delivered_at: Timestamp | None


class OrderPage(Shape):
    orders: list[Order] = Field(description="Newest first")
    total: int = Field(description="Orders matching the query, on all pages")
    page: int = Field(description="This page, from 1")
    pages: int = Field(description="How many pages there are (0 when there is no order)")
    per_page: int
