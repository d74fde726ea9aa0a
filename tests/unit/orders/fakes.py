"""In-memory adapters for the orders use cases: a unit of work that commits or forgets, and products."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from agora.errors import AgoraError, Conflict, DependencyUnavailable
from agora.events import Envelope
from agora.identity import Principal
from orders.domain.orders import LIVE, Order, PaymentStatus, ReservedLine, Status
from orders.service.context import OrdersContext
from tests.unit.clock import Clock


@dataclass
class Store:
    """What the database holds: orders, inbox claims, and the events committed with them."""

    orders: dict[uuid.UUID, Order] = field(default_factory=dict)
    claims: set[tuple[str, str]] = field(default_factory=set)
    events: list[Envelope] = field(default_factory=list)
    fail_next_commit: bool = False

    def types(self) -> list[str]:
        return [e.type for e in self.events]


class FakeOrders:
    def __init__(self, orders: dict[uuid.UUID, Order]) -> None:
        self.orders = orders

    def get(self, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
        return self.orders.get(order_id)

    def by_key(self, user_id: str, key: str) -> Order | None:
        return next(
            (o for o in self.orders.values() if (o.user_id, o.idempotency_key) == (user_id, key)), None
        )

    def add(self, order: Order) -> bool:
        if order.id in self.orders:
            return False
        self.orders[order.id] = order
        return True

    def save(self, before: Order, after: Order) -> None:
        assert self.orders[before.id] == before, "saved from a stale read"
        self.orders[after.id] = after

    def remove(self, order: Order) -> None:
        if self.orders.get(order.id, order).status is Status.RESERVING:
            self.orders.pop(order.id, None)

    def page(
        self, owner: str | None, status: Status | None, offset: int, limit: int
    ) -> tuple[list[Order], int]:
        found = [
            o
            for o in sorted(self.orders.values(), key=lambda o: o.created_at, reverse=True)
            if o.visible and (owner is None or o.user_id == owner) and (status is None or o.status is status)
        ]
        return found[offset : offset + limit], len(found)

    def stale(self, status: Status, before: datetime, limit: int) -> list[Order]:
        return [o for o in self.orders.values() if o.status is status and o.created_at < before][:limit]

    def unpaid(self, before: datetime, limit: int) -> list[Order]:
        paid = (PaymentStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
        return [
            o
            for o in self.orders.values()
            if o.status is Status.PENDING and o.created_at < before and o.payment_status not in paid
        ][:limit]

    def states(self, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Status]:
        return {i: self.orders[i].status for i in order_ids if i in self.orders}


class FakeUnitOfWork:
    """Works on a copy of the store; a clean exit writes it back with its events, an exception forgets it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> Self:
        self._orders = FakeOrders(copy.copy(self.store.orders))
        self._claims: set[tuple[str, str]] = set()
        self.events: list[Envelope] = []
        return self

    @property
    def orders(self) -> FakeOrders:
        return self._orders

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            return
        if self.store.fail_next_commit:
            self.store.fail_next_commit = False
            raise DependencyUnavailable("the database went away at COMMIT")
        self.store.orders = self._orders.orders
        self.store.claims |= self._claims
        self.store.events += self.events

    def emit(self, *events: Envelope) -> None:
        self.events.extend(events)

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        key = (consumer, envelope.id)
        if key in self.store.claims or key in self._claims:
            return False
        self._claims.add(key)
        return True


class FakeProducts:
    """Stock per product and reservations per order id, under the products service's rules."""

    def __init__(self, stock: dict[int, int], prices: dict[int, str] | None = None) -> None:
        self.stock = dict(stock)
        self.prices = prices or {}
        self.reservations: dict[str, dict[int, int] | None] = {}  # None: released
        self.down = False
        self.lose_answer = False  # reserve commits, the answer never arrives
        self.released: list[str] = []

    def reserve(self, order_id: str, items: list[dict[str, int]]) -> list[ReservedLine]:
        if self.down:
            raise DependencyUnavailable("products is down")
        lines = {i["product_id"]: i["quantity"] for i in items}
        if order_id in self.reservations:
            held = self.reservations[order_id]
            if held is None:
                raise Conflict("the reservation was released", code="RESERVATION_CLOSED")
        else:
            short = [pid for pid, qty in lines.items() if self.stock.get(pid, 0) < qty]
            if short:
                raise Conflict("not enough stock", code="INSUFFICIENT_STOCK", products=short)
            for pid, qty in lines.items():
                self.stock[pid] -= qty
            self.reservations[order_id] = lines
        if self.lose_answer:
            raise DependencyUnavailable("the products service did not answer")
        return [
            ReservedLine(pid, f"Product {pid}", f"SKU-{pid}", Decimal(self.prices.get(pid, "10.00")), qty)
            for pid, qty in sorted(lines.items())
        ]

    def release(self, order_id: str) -> None:
        if self.down:
            raise DependencyUnavailable("products is down")
        held = self.reservations.get(order_id)
        self.reservations[order_id] = None  # a tombstone when nothing was held
        for pid, qty in (held or {}).items():
            self.stock[pid] += qty
        self.released.append(order_id)

    def on_order_cancelled(self, events: list[Envelope]) -> None:
        """What the products consumer does with the committed ``order.cancelled`` events."""
        for event in events:
            if event.type == "order.cancelled":
                self.release(event.data["order_id"])

    def held(self, product_id: int) -> int:
        return sum((r or {}).get(product_id, 0) for r in self.reservations.values())


class FakeViews:
    def __init__(self) -> None:
        self.views: dict[str, dict[str, Any]] = {}

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self.views.get(order_id)

    def put(self, view: dict[str, Any]) -> None:
        self.views[view["id"]] = view

    def forget(self, order_id: str) -> None:
        self.views.pop(order_id, None)


@dataclass
class World:
    ctx: OrdersContext
    store: Store
    products: FakeProducts
    clock: Clock


def world(stock: dict[int, int] | None = None, prices: dict[int, str] | None = None) -> World:
    store, clock = Store(), Clock()
    products = FakeProducts(stock if stock is not None else {1: 10, 2: 10}, prices)
    ctx = OrdersContext(
        unit_of_work=lambda: FakeUnitOfWork(store), products=products, cache=FakeViews(), now=clock
    )
    return World(ctx, store, products, clock)


def who(user_id: str = "buyer", role: str = "user") -> Principal:
    return Principal(user_id=user_id, email=f"{user_id}@example.com", role=role, token_id="t", expires_at=0)


def order_request(*lines: tuple[int, int], **extra: Any) -> dict[str, Any]:
    return {
        "items": [{"product_id": pid, "quantity": qty} for pid, qty in (lines or ((1, 1),))],
        "shipping_address": {"street": "1 Main St", "city": "NYC", "state": "NY", "postal_code": "10001"},
        "customer_info": {"first_name": "Jo", "last_name": "Doe", "email": "jo@example.com"},
        **extra,
    }


def audit(w: World, initial: dict[int, int]) -> list[str]:
    """The stock invariants between the orders store and the products fake."""
    problems = []
    for pid, start in initial.items():
        if w.products.stock[pid] + w.products.held(pid) != start:
            problems.append(
                f"product {pid}: {w.products.stock[pid]} + held {w.products.held(pid)} != {start}"
            )
        if w.products.stock[pid] < 0:
            problems.append(f"product {pid} below zero")
    for order_id, lines in w.products.reservations.items():
        order = w.store.orders.get(uuid.UUID(order_id))
        if lines and (order is None or order.status not in (*LIVE, Status.RESERVING)):
            problems.append(f"reservation {order_id} held for a {order.status if order else 'missing'} order")
    for order in w.store.orders.values():
        if order.status in LIVE and not w.products.reservations.get(str(order.id)):
            problems.append(f"live order {order.id} holds no stock")
    return problems


def refusal_code(error: AgoraError) -> str:
    return error.code
