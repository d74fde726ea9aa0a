"""The catalog on a real PostgreSQL (and Redis): writes with events, cache, search and filters, reviews."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agora.errors import Conflict, InvalidInput, NotFound, UnprocessableEntity
from products.domain.catalog import Filters
from products.service import catalog
from tests.integration.products.conftest import product_fields


def test_create_get_update_delete_with_events_and_cache(ctx):
    created = catalog.create_product(ctx, product_fields(name="Aurora 14"))
    assert created["price"] == 999.99
    assert catalog.get_product(ctx, created["id"])["name"] == "Aurora 14"
    assert ctx.cache.get("id", created["id"]) is not None

    updated = catalog.update_product(ctx, created["id"], {"price": Decimal("899.00"), "name": "Aurora 14"})
    assert updated["price"] == 899
    assert ctx.cache.get("id", created["id"]) is None, "a write drops the cached product"
    assert catalog.get_product(ctx, created["id"])["price"] == 899

    catalog.delete_product(ctx, created["id"])
    with pytest.raises(NotFound):
        catalog.get_product(ctx, created["id"])
    types = [e.type for e in ctx.bus.published]
    assert types == ["product.created", "product.updated", "product.deleted"]
    assert ctx.bus.published[1].data == {"product_id": created["id"], "changed": ["price"]}


def test_sku_is_unique_and_prices_are_validated(ctx):
    first = catalog.create_product(ctx, product_fields())
    with pytest.raises(Conflict) as exc:
        catalog.create_product(ctx, product_fields(sku=first["sku"]))
    assert exc.value.code == "SKU_EXISTS"
    with pytest.raises(UnprocessableEntity):
        catalog.create_product(ctx, product_fields(price=Decimal("1.001")))
    assert [e.type for e in ctx.bus.published] == ["product.created"], "a refused write emits nothing"


@pytest.fixture
def shelf(ctx):
    specs = [
        ("Aurora Laptop", "Laptops", "Northwind", "1199.00", 5, "Ultralight laptop with a bright screen"),
        ("Vela Book", "Laptops", "Vela", "999.00", 0, "Fanless notebook"),
        ("Orbit Phone", "Phones", "Orbit", "799.00", 3, "Phone with a great camera"),
        ("Orbit Buds", "Audio", "Orbit", "149.00", 9, "Earbuds with a charging case"),
        ("Sonora Speaker", "Audio", "Sonora", "89.99", 4, "Portable speaker, laptop-bag sized"),
    ]
    return {
        name: catalog.create_product(
            ctx,
            product_fields(
                name=name,
                category=cat,
                brand=brand,
                price=Decimal(price),
                stock_quantity=qty,
                description=desc,
            ),
        )
        for name, cat, brand, price, qty, desc in specs
    }


def names(page):
    return [p["name"] for p in page["data"]]


def test_filters_search_sort_and_pagination(ctx, shelf):
    laptops = catalog.list_products(ctx, Filters(category="Laptops"), "price_asc", 0, 10)
    assert names(laptops) == ["Vela Book", "Aurora Laptop"]
    assert catalog.list_products(ctx, Filters(brand="Orbit"), "price_desc", 0, 10)["total"] == 2
    priced = catalog.list_products(
        ctx, Filters(min_price=Decimal("100"), max_price=Decimal("800")), "price_asc", 0, 10
    )
    assert names(priced) == ["Orbit Buds", "Orbit Phone"]
    # Substring search over name and description, case-insensitive.
    assert set(names(catalog.list_products(ctx, Filters(search="LAPTOP"), None, 0, 10))) == {
        "Aurora Laptop",
        "Sonora Speaker",
    }
    assert catalog.list_products(ctx, Filters(search="100%"), None, 0, 10)["total"] == 0
    first = catalog.list_products(ctx, Filters(), "price_asc", 0, 2)
    last = catalog.list_products(ctx, Filters(), "price_asc", 2, 2)
    assert (first["total"], first["pages"], first["size"]) == (5, 3, 2)
    assert names(first) == ["Sonora Speaker", "Orbit Buds"]
    assert names(last) == ["Aurora Laptop"]
    with pytest.raises(InvalidInput):
        catalog.list_products(ctx, Filters(), "price; DROP TABLE products", 0, 10)


def test_search_is_served_by_the_trigram_index(ctx, shelf):
    with ctx.pool.connection() as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            r[0] for r in conn.execute("EXPLAIN SELECT id FROM products WHERE search_text LIKE '%laptop%'")
        )
    assert "products_search" in plan


def test_showcases_categories_brands_and_batch(ctx, shelf):
    assert catalog.distinct_values(ctx, "category") == ["Audio", "Laptops", "Phones"]
    assert catalog.distinct_values(ctx, "brand") == ["Northwind", "Orbit", "Sonora", "Vela"]
    latest = [p["name"] for p in catalog.showcase(ctx, "newest")]
    assert "Vela Book" not in latest, "latest lists products in stock only"
    assert latest[0] == "Sonora Speaker"
    ids = [shelf["Orbit Phone"]["id"], shelf["Vela Book"]["id"], 999_999]
    assert sorted(p["name"] for p in catalog.batch(ctx, ids)) == ["Orbit Phone", "Vela Book"]


def test_one_review_per_user_and_the_average_moves_with_it(ctx, shelf):
    product_id = shelf["Orbit Phone"]["id"]
    catalog.add_review(ctx, product_id, "user-1", 5, "great")
    catalog.add_review(ctx, product_id, "user-2", 4, None)
    catalog.add_review(ctx, product_id, "user-3", 4, "good")
    with pytest.raises(Conflict):
        catalog.add_review(ctx, product_id, "user-1", 1, "changed my mind")
    product = catalog.get_product(ctx, product_id)
    assert (product["reviewCount"], product["averageRating"]) == (3, 4.33)
    assert catalog.showcase(ctx, "rating")[0]["name"] == "Orbit Phone"
    reviews = catalog.list_reviews(ctx, product_id, 0, 2)
    assert (reviews["total"], len(reviews["data"])) == (3, 2)
