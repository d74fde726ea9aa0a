"""The products unit of work on PostgreSQL: one transaction, its repositories, its events in the outbox."""

from __future__ import annotations

from agora.uow import PostgresUnitOfWork
from products.adapters.catalog import PostgresProducts, PostgresReviews
from products.adapters.stock import PostgresAdjustments, PostgresReservations


class ProductsUnitOfWork(PostgresUnitOfWork):
    products: PostgresProducts
    reviews: PostgresReviews
    reservations: PostgresReservations
    adjustments: PostgresAdjustments

    def __enter__(self) -> ProductsUnitOfWork:
        super().__enter__()
        self.products = PostgresProducts(self.conn)
        self.reviews = PostgresReviews(self.conn)
        self.reservations = PostgresReservations(self.conn)
        self.adjustments = PostgresAdjustments(self.conn)
        return self
