"""Use cases of the catalog: browse, search, read through the cache, admin writes, reviews."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from agora.errors import Conflict, NotFound
from agora.events import Envelope
from agora.paging import Page
from products.domain.catalog import Filters, NewProduct, Product, money, product_changes, sort_key
from products.service import views
from products.service.context import ProductsContext
from products.service.ports import DuplicateReview, DuplicateSku, Products

LIST_LIMIT = 12
# Pages count from 0, as the seed's Spring ``Pageable`` did.
FIRST_PAGE = 0


def _event(event_type: str, data: dict[str, Any]) -> Envelope:
    return Envelope.new("products", event_type, data)


def _missing(product_id: int | str) -> NotFound:
    return NotFound(f"no product {product_id}", code="PRODUCT_NOT_FOUND")


def _sku_taken() -> Conflict:
    return Conflict("a product with this sku already exists", code="SKU_EXISTS")


def list_products(
    ctx: ProductsContext, filters: Filters, sort: str | None, page: int, size: int
) -> dict[str, Any]:
    key = sort_key(sort)
    asked = Page(page, size, first=FIRST_PAGE)
    with ctx.unit_of_work() as uow:
        found, total = uow.products.search(filters, key, asked.offset, asked.size)
    return asked.answer("data", [views.product(p) for p in found], total, size_key="size")


def _cached(
    ctx: ProductsContext,
    by: Literal["id", "sku"],
    value: int | str,
    load: Callable[[Products], Product | None],
    missing: str,
) -> dict[str, Any]:
    """A product view from the cache, or loaded from the database and cached."""
    if cached := ctx.cache.get(by, value):
        return cached
    with ctx.unit_of_work() as uow:
        product = load(uow.products)
    if product is None:
        raise NotFound(missing, code="PRODUCT_NOT_FOUND")
    view = views.product(product)
    ctx.cache.put(by, value, view)
    return view


def get_product(ctx: ProductsContext, product_id: int) -> dict[str, Any]:
    return _cached(
        ctx, "id", product_id, lambda products: products.get(product_id), f"no product {product_id}"
    )


def get_by_sku(ctx: ProductsContext, sku: str) -> dict[str, Any]:
    return _cached(ctx, "sku", sku, lambda products: products.get_by_sku(sku), f"no product with sku {sku}")


def distinct_values(ctx: ProductsContext, column: Literal["category", "brand"]) -> list[str]:
    with ctx.unit_of_work() as uow:
        return uow.products.distinct(column)


def showcase(ctx: ProductsContext, sort: str, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    """The latest products in stock, or the top rated ones."""
    filters = Filters(in_stock=True) if sort == "newest" else Filters()
    with ctx.unit_of_work() as uow:
        found, _ = uow.products.search(filters, sort_key(sort), 0, limit)
    return [views.product(p) for p in found]


def batch(ctx: ProductsContext, ids: list[int]) -> list[dict[str, Any]]:
    with ctx.unit_of_work() as uow:
        return [views.product(p) for p in uow.products.by_ids(ids)]


def create_product(ctx: ProductsContext, fields: dict[str, Any]) -> dict[str, Any]:
    """The product, its initial stock in the ledger and product.created commit together."""
    new = NewProduct.of(fields)
    try:
        with ctx.unit_of_work() as uow:
            product = uow.products.add(new)
            uow.emit(
                _event(
                    "product.created",
                    {
                        "product_id": product.id,
                        "name": product.name,
                        "sku": product.sku,
                        "category": product.category,
                        "price": str(product.price),
                        "stock_quantity": product.stock_quantity,
                    },
                )
            )
    except DuplicateSku:
        raise _sku_taken() from None
    return views.product(product)


def update_product(ctx: ProductsContext, product_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the catalog fields; the stock has its own operation (PUT /api/products/{id}/stock)."""
    try:
        with ctx.unit_of_work() as uow:
            before = uow.products.lock(product_id)
            if before is None:
                raise _missing(product_id)
            changed = product_changes(before, changes)
            after = uow.products.update(product_id, changed) if changed else before
            if changed:
                uow.emit(_event("product.updated", {"product_id": product_id, "changed": sorted(changed)}))
    except DuplicateSku:
        raise _sku_taken() from None
    ctx.cache.forget(before.id, before.sku)
    return views.product(after)


def delete_product(ctx: ProductsContext, product_id: int) -> None:
    """Soft delete: the product stops being listed or sold; its orders keep their snapshots."""
    with ctx.unit_of_work() as uow:
        product = uow.products.lock(product_id)
        if product is None:
            raise _missing(product_id)
        uow.products.update(product_id, {"active": False})
        uow.emit(_event("product.deleted", {"product_id": product_id}))
    ctx.cache.forget(product.id, product.sku)


def add_review(
    ctx: ProductsContext, product_id: int, user_id: str, rating: int, comment: str | None
) -> dict[str, Any]:
    """The review and the product's new average commit together."""
    try:
        with ctx.unit_of_work() as uow:
            product = uow.products.lock(product_id)  # serialises concurrent reviews of one product
            if product is None:
                raise _missing(product_id)
            review = uow.reviews.add(product_id, user_id, rating, comment)
            average, count = uow.reviews.summary(product_id)
            uow.products.set_rating(product_id, money(average), count)
    except DuplicateReview:
        raise Conflict("you have already reviewed this product", code="ALREADY_REVIEWED") from None
    ctx.cache.forget(product.id, product.sku)
    return views.review(review)


def list_reviews(ctx: ProductsContext, product_id: int, page: int, size: int) -> dict[str, Any]:
    asked = Page(page, size, first=FIRST_PAGE)
    with ctx.unit_of_work() as uow:
        if uow.products.get(product_id) is None:
            raise _missing(product_id)
        found, total = uow.reviews.page(product_id, asked.offset, asked.size)
    return asked.answer("data", [views.review(r) for r in found], total, size_key="size")
