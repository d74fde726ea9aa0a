"""In-memory adapters for the products use cases.

One ``Store`` plays the database: a unit of work holds its lock from enter to
exit (so transactions are serial), works on the live state and puts the
snapshot back when the use case raises, as a rollback would.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal

from agora.events import Envelope
from products.domain.catalog import Filters, NewProduct, Product, Review
from products.domain.stock import Reservation, ReservationState, StockAdjustment, StockReason
from products.service.context import ProductsContext
from products.service.ports import DuplicateReview, DuplicateSku, OrdersUnavailable


@dataclass(frozen=True)
class LedgerRow:
    product_id: int
    delta: int
    reason: StockReason
    order_id: str | None


@dataclass
class State:
    products: dict[int, Product] = field(default_factory=dict)
    reviews: list[Review] = field(default_factory=list)
    ledger: list[LedgerRow] = field(default_factory=list)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    adjustments: dict[tuple[str, int, str], StockAdjustment] = field(default_factory=dict)
    inbox: set[tuple[str, str]] = field(default_factory=set)

    def copy(self) -> State:
        return State(
            dict(self.products),
            list(self.reviews),
            list(self.ledger),
            dict(self.reservations),
            dict(self.adjustments),
            set(self.inbox),
        )


class Clock:
    """Starts at a fixed instant and moves only when told."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Store:
    def __init__(self, clock: Clock) -> None:
        self.state = State()
        self.clock = clock
        self.lock = threading.RLock()
        self.published: list[Envelope] = []
        self.commits = 0
        self.rollbacks = 0

    def stock_of(self, product_id: int) -> int:
        return self.state.products[product_id].stock_quantity

    def reservation(self, order_id: str) -> Reservation | None:
        return self.state.reservations.get(order_id)

    def violations(self) -> list[str]:
        """The audit's product invariants, over the in-memory state."""
        found = []
        for p in self.state.products.values():
            rows = [r for r in self.state.ledger if r.product_id == p.id]
            if p.stock_quantity != sum(r.delta for r in rows):
                found.append(f"product {p.id}: stock is not its ledger")
            held = sum(
                line.quantity
                for r in self.state.reservations.values()
                if r.holds_stock
                for line in r.lines
                if line.product_id == p.id
            )
            supply = sum(r.delta for r in rows if r.reason in ("initial", "adjustment"))
            if p.stock_quantity + held != supply:
                found.append(f"product {p.id}: stock + held is not its supply")
        return found


class FakeProducts:
    SORTS: Mapping[str, Any] = {
        "newest": lambda p: (-p.created_at.timestamp(), -p.id),
        "price_asc": lambda p: (p.price, p.id),
        "price_desc": lambda p: (-p.price, -p.id),
        "rating": lambda p: (-p.average_rating, -p.review_count, -p.id),
        "name": lambda p: (p.name, p.id),
    }

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def rows(self) -> dict[int, Product]:
        return self.store.state.products

    def get(self, product_id: int) -> Product | None:
        found = self.rows.get(product_id)
        return found if found and found.active else None

    def get_by_sku(self, sku: str) -> Product | None:
        return next((p for p in self.rows.values() if p.sku == sku and p.active), None)

    def _matches(self, p: Product, f: Filters) -> bool:
        text = f"{p.name} {p.description}".lower()
        return (
            p.active
            and (f.category is None or p.category == f.category)
            and (f.brand is None or p.brand == f.brand)
            and (f.min_price is None or p.price >= f.min_price)
            and (f.max_price is None or p.price <= f.max_price)
            and (not f.search or f.search.lower() in text)
            and (not f.in_stock or p.stock_quantity > 0)
        )

    def search(self, filters: Filters, sort: str, offset: int, limit: int) -> tuple[list[Product], int]:
        found = sorted((p for p in self.rows.values() if self._matches(p, filters)), key=self.SORTS[sort])
        return found[offset : offset + limit], len(found)

    def distinct(self, column: Literal["category", "brand"]) -> list[str]:
        return sorted({v for p in self.rows.values() if p.active and (v := getattr(p, column)) is not None})

    def by_ids(self, ids: Sequence[int]) -> list[Product]:
        return [p for pid in sorted(set(ids)) if (p := self.get(pid))]

    def _sku_taken(self, sku: str | None, other_than: int | None = None) -> bool:
        return sku is not None and any(p.sku == sku and p.id != other_than for p in self.rows.values())

    def add(self, product: NewProduct) -> Product:
        if self._sku_taken(product.sku):
            raise DuplicateSku(product.sku)
        now = self.store.clock()
        stored = Product(
            id=len(self.rows) + 1,
            average_rating=Decimal("0.00"),
            review_count=0,
            active=True,
            created_at=now,
            updated_at=now,
            **vars(product),
        )
        self.rows[stored.id] = stored
        self.store.state.ledger.append(LedgerRow(stored.id, stored.stock_quantity, "initial", None))
        return stored

    def update(self, product_id: int, changes: Mapping[str, Any]) -> Product:
        assert "stock_quantity" not in changes, "the stock moves only through change_stock"
        if "sku" in changes and self._sku_taken(changes["sku"], other_than=product_id):
            raise DuplicateSku(changes["sku"])
        updated = replace(self.rows[product_id], **changes, updated_at=self.store.clock())
        self.rows[product_id] = updated
        return updated

    def lock(self, product_id: int) -> Product | None:
        return self.get(product_id)

    def lock_stock(self, ids: Sequence[int]) -> dict[int, Product]:
        return {pid: self.rows[pid] for pid in sorted(ids) if pid in self.rows}

    def change_stock(
        self, product_id: int, delta: int, reason: StockReason, order_id: str | None = None
    ) -> int:
        level = self.rows[product_id].stock_quantity + delta
        if level < 0:
            raise ValueError("stock_quantity >= 0 violated")  # the table's CHECK
        self.rows[product_id] = replace(self.rows[product_id], stock_quantity=level)
        self.store.state.ledger.append(LedgerRow(product_id, delta, reason, order_id))
        return level

    def set_rating(self, product_id: int, average: Decimal, count: int) -> None:
        self.rows[product_id] = replace(self.rows[product_id], average_rating=average, review_count=count)


class FakeReviews:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, product_id: int, user_id: str, rating: int, comment: str | None) -> Review:
        rows = self.store.state.reviews
        if any(r.product_id == product_id and r.user_id == user_id for r in rows):
            raise DuplicateReview(product_id)
        review = Review(len(rows) + 1, product_id, user_id, rating, comment, self.store.clock())
        rows.append(review)
        return review

    def summary(self, product_id: int) -> tuple[Decimal, int]:
        ratings = [r.rating for r in self.store.state.reviews if r.product_id == product_id]
        return (Decimal(sum(ratings)) / len(ratings) if ratings else Decimal(0)), len(ratings)

    def page(self, product_id: int, offset: int, limit: int) -> tuple[list[Review], int]:
        found = sorted(
            (r for r in self.store.state.reviews if r.product_id == product_id),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        return found[offset : offset + limit], len(found)


class FakeReservations:
    def __init__(self, store: Store) -> None:
        self.store = store

    def lock(self, order_id: str) -> Reservation | None:
        return self.store.state.reservations.get(order_id)

    def add(self, reservation: Reservation) -> None:
        assert reservation.order_id not in self.store.state.reservations, "order_id is the primary key"
        self.store.state.reservations[reservation.order_id] = replace(
            reservation, created_at=self.store.clock()
        )

    def move(self, order_id: str, state: ReservationState) -> None:
        rows = self.store.state.reservations
        rows[order_id] = replace(rows[order_id], state=state)

    def held_before(
        self, cutoff: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[Reservation]:
        held = sorted(
            (
                r
                for r in self.store.state.reservations.values()
                if r.state is ReservationState.HELD and r.created_at is not None and r.created_at < cutoff
            ),
            key=lambda r: (r.created_at, r.order_id),
        )
        if after is not None:
            held = [r for r in held if (r.created_at, r.order_id) > after]
        return held[:limit]


class FakeAdjustments:
    def __init__(self, store: Store) -> None:
        self.store = store

    def find(self, user_id: str, product_id: int, key: str) -> StockAdjustment | None:
        return self.store.state.adjustments.get((user_id, product_id, key))

    def record(self, adjustment: StockAdjustment) -> None:
        index = (adjustment.user_id, adjustment.product_id, adjustment.key)
        assert index not in self.store.state.adjustments, "the key is the primary key"
        self.store.state.adjustments[index] = adjustment


class FakeUnitOfWork:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.products = FakeProducts(store)
        self.reviews = FakeReviews(store)
        self.reservations = FakeReservations(store)
        self.adjustments = FakeAdjustments(store)
        self.events: list[Envelope] = []
        self._snapshot: State | None = None

    def emit(self, *events: Envelope) -> None:
        self.events.extend(events)

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        if (consumer, envelope.id) in self.store.state.inbox:
            return False
        self.store.state.inbox.add((consumer, envelope.id))
        return True

    def __enter__(self) -> FakeUnitOfWork:
        self.store.lock.acquire()
        self._snapshot = self.store.state.copy()
        self.events = []
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self.store.published += self.events
                self.store.commits += 1
            else:
                assert self._snapshot is not None
                self.store.state = self._snapshot
                self.store.rollbacks += 1
        finally:
            self.store.lock.release()


class DictCache:
    def __init__(self) -> None:
        self.views: dict[tuple[str, int | str], dict[str, Any]] = {}

    def get(self, by: Literal["id", "sku"], value: int | str) -> dict[str, Any] | None:
        return self.views.get((by, value))

    def put(self, by: Literal["id", "sku"], value: int | str, view: dict[str, Any]) -> None:
        self.views[(by, value)] = view

    def forget(self, product_id: int, sku: str | None) -> None:
        self.views.pop(("id", product_id), None)
        self.views.pop(("sku", sku or ""), None)


class FakeOrders:
    """order_states from a dict; `down` makes the orders service unreachable."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}
        self.down = False
        self.calls: list[list[str]] = []

    def states(self, order_ids: Sequence[str]) -> Mapping[str, str | None]:
        self.calls.append(list(order_ids))
        if self.down:
            raise OrdersUnavailable("orders is down")
        return {order_id: self.known.get(order_id) for order_id in order_ids}


@dataclass
class Fakes:
    ctx: ProductsContext
    store: Store
    cache: DictCache
    orders: FakeOrders
    clock: Clock


def fakes(hold_s: int = 600) -> Fakes:
    clock = Clock()
    store = Store(clock)
    cache = DictCache()
    orders = FakeOrders()
    ctx = ProductsContext(
        unit_of_work=lambda: FakeUnitOfWork(store), cache=cache, orders=orders, hold_s=hold_s, clock=clock
    )
    return Fakes(ctx, store, cache, orders, clock)
