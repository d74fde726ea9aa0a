"""Use cases of the catalog: browse, search, read through the cache, admin writes, reviews."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agora.errors import Conflict, NotFound
from agora.events import Envelope
from products.adapters.repository import DuplicateReview, DuplicateSku, Filters, ProductRepository
from products.domain.catalog import check_price, money, sort_order
from products.service import views
from products.service.context import ProductsContext

LIST_LIMIT = 12


def _event(event_type: str, data: dict[str, Any]) -> Envelope:
    return Envelope.new("products", event_type, data)


def _missing(product_id: int | str) -> NotFound:
    return NotFound(f"no product {product_id}", code="PRODUCT_NOT_FOUND")


def list_products(
    ctx: ProductsContext, filters: Filters, sort: str | None, page: int, size: int
) -> dict[str, Any]:
    order_by = sort_order(sort)
    with ctx.unit_of_work() as uow:
        rows, total = ProductRepository(uow.conn).search(filters, order_by, page * size, size)
    return views.page([views.product(r) for r in rows], page, size, total)


def _cached(
    ctx: ProductsContext, key: str, load: Callable[[ProductRepository], dict[str, Any] | None], missing: str
) -> dict[str, Any]:
    """A product view from the cache, or loaded from the database and cached."""
    if cached := ctx.cache.get(key):
        return cached
    with ctx.unit_of_work() as uow:
        row = load(ProductRepository(uow.conn))
    if row is None:
        raise NotFound(missing, code="PRODUCT_NOT_FOUND")
    view = views.product(row)
    ctx.cache.put(key, view)
    return view


def get_product(ctx: ProductsContext, product_id: int) -> dict[str, Any]:
    return _cached(ctx, f"id:{product_id}", lambda repo: repo.get(product_id), f"no product {product_id}")


def get_by_sku(ctx: ProductsContext, sku: str) -> dict[str, Any]:
    return _cached(ctx, f"sku:{sku}", lambda repo: repo.get_by_sku(sku), f"no product with sku {sku}")


def distinct_values(ctx: ProductsContext, column: str) -> list[str]:
    with ctx.unit_of_work() as uow:
        return ProductRepository(uow.conn).distinct(column)


def showcase(ctx: ProductsContext, sort: str, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    """The latest products in stock, or the top rated ones."""
    filters = Filters(in_stock=True) if sort == "newest" else Filters()
    with ctx.unit_of_work() as uow:
        rows, _ = ProductRepository(uow.conn).search(filters, sort_order(sort), 0, limit)
    return [views.product(r) for r in rows]


def batch(ctx: ProductsContext, ids: list[int]) -> list[dict[str, Any]]:
    with ctx.unit_of_work() as uow:
        return [views.product(r) for r in ProductRepository(uow.conn).by_ids(ids)]


def create_product(ctx: ProductsContext, fields: dict[str, Any]) -> dict[str, Any]:
    check_price(fields["price"])
    try:
        with ctx.unit_of_work() as uow:
            row = ProductRepository(uow.conn).insert(fields)
            uow.emit(
                _event(
                    "product.created",
                    {
                        "product_id": row["id"],
                        "name": row["name"],
                        "sku": row["sku"],
                        "category": row["category"],
                        "price": str(row["price"]),
                        "stock_quantity": row["stock_quantity"],
                    },
                )
            )
    except DuplicateSku:
        raise Conflict("a product with this sku already exists", code="SKU_EXISTS") from None
    return views.product(row)


def update_product(ctx: ProductsContext, product_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    if "price" in changes:
        check_price(changes["price"])
    try:
        with ctx.unit_of_work() as uow:
            repo = ProductRepository(uow.conn)
            before = repo.lock(product_id)
            if before is None:
                raise _missing(product_id)
            changed = sorted(k for k, v in changes.items() if before[k] != v)
            row = repo.update(product_id, changes) if changed else before
            assert row is not None
            if changed:
                uow.emit(_event("product.updated", {"product_id": product_id, "changed": changed}))
    except DuplicateSku:
        raise Conflict("a product with this sku already exists", code="SKU_EXISTS") from None
    ctx.cache.forget(views.product(before))
    return views.product(row)


def delete_product(ctx: ProductsContext, product_id: int) -> None:
    """Soft delete: the product stops being listed or sold; its orders keep their snapshots."""
    with ctx.unit_of_work() as uow:
        repo = ProductRepository(uow.conn)
        row = repo.lock(product_id)
        if row is None:
            raise _missing(product_id)
        repo.update(product_id, {"active": False})
        uow.emit(_event("product.deleted", {"product_id": product_id}))
    ctx.cache.forget(views.product(row))


def add_review(
    ctx: ProductsContext, product_id: int, user_id: str, rating: int, comment: str | None
) -> dict[str, Any]:
    """The review and the product's new average commit together."""
    try:
        with ctx.unit_of_work() as uow:
            repo = ProductRepository(uow.conn)
            product = repo.lock(product_id)  # serialises concurrent reviews of one product
            if product is None:
                raise _missing(product_id)
            review = repo.add_review(product_id, user_id, rating, comment)
            average, count = repo.rating_summary(product_id)
            repo.set_rating(product_id, money(average), count)
    except DuplicateReview:
        raise Conflict("you have already reviewed this product", code="ALREADY_REVIEWED") from None
    ctx.cache.forget(views.product(product))
    return views.review(review)


def list_reviews(ctx: ProductsContext, product_id: int, page: int, size: int) -> dict[str, Any]:
    with ctx.unit_of_work() as uow:
        repo = ProductRepository(uow.conn)
        if repo.get(product_id) is None:
            raise _missing(product_id)
        rows, total = repo.reviews(product_id, page * size, size)
    return views.page([views.review(r) for r in rows], page, size, total)
