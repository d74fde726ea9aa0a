"""Catalog use cases against in-memory adapters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agora.errors import Conflict, InvalidInput, NotFound, UnprocessableEntity
from products.domain.catalog import Filters
from products.service import catalog
from tests.unit.products.fakes import fakes


@pytest.fixture
def f():
    return fakes()


def fields(**overrides):
    base = {
        "name": "Aurora 14",
        "description": "An ultralight laptop",
        "price": Decimal("999.99"),
        "category": "Laptops",
        "stock_quantity": 4,
        "brand": "Northwind",
        "sku": "AUR-14",
        "images": ["a.png"],
    }
    return base | overrides


def test_a_created_product_has_the_seeds_shape_its_initial_stock_and_an_event(f):
    created = catalog.create_product(f.ctx, fields())
    assert set(created) == {
        "id",
        "name",
        "description",
        "price",
        "category",
        "stockQuantity",
        "brand",
        "sku",
        "images",
        "averageRating",
        "reviewCount",
        "active",
        "inStock",
        "createdAt",
        "updatedAt",
    }
    assert (created["price"], created["images"], created["inStock"]) == (999.99, ["a.png"], True)
    assert created["createdAt"] == "2026-01-01T12:00:00.000Z"
    (event,) = f.store.published
    assert (event.type, event.data["stock_quantity"], event.data["price"]) == ("product.created", 4, "999.99")
    assert [(r.reason, r.delta) for r in f.store.state.ledger] == [("initial", 4)]


def test_a_taken_sku_or_a_bad_price_writes_nothing(f):
    catalog.create_product(f.ctx, fields())
    with pytest.raises(Conflict) as taken:
        catalog.create_product(f.ctx, fields(name="Other"))
    assert taken.value.code == "SKU_EXISTS"
    with pytest.raises(UnprocessableEntity):
        catalog.create_product(f.ctx, fields(sku="X", price=Decimal("1.001")))
    assert len(f.store.state.products) == 1
    assert len(f.store.published) == 1


def test_reads_go_through_the_cache_and_writes_drop_it(f):
    created = catalog.create_product(f.ctx, fields())
    assert catalog.get_product(f.ctx, created["id"])["name"] == "Aurora 14"
    assert catalog.get_by_sku(f.ctx, "AUR-14")["id"] == created["id"]
    assert f.cache.get("id", created["id"]) is not None
    assert f.cache.get("sku", "AUR-14") is not None
    catalog.update_product(f.ctx, created["id"], {"price": Decimal("899.00")})
    assert f.cache.views == {}
    assert catalog.get_product(f.ctx, created["id"])["price"] == 899


def test_an_update_emits_only_what_changed_and_never_moves_the_stock(f):
    created = catalog.create_product(f.ctx, fields())
    unchanged = catalog.update_product(f.ctx, created["id"], {"name": "Aurora 14", "stock_quantity": 4})
    assert unchanged["updatedAt"] == created["updatedAt"]
    f.clock.advance(60)
    updated = catalog.update_product(f.ctx, created["id"], {"name": "Aurora 15", "images": ["a.png"]})
    assert updated["name"] == "Aurora 15"
    assert f.store.published[-1].data == {"product_id": created["id"], "changed": ["name"]}
    with pytest.raises(UnprocessableEntity) as refused:
        catalog.update_product(f.ctx, created["id"], {"stock_quantity": 40})
    assert refused.value.code == "STOCK_NOT_UPDATABLE"
    assert f.store.stock_of(created["id"]) == 4
    assert [e.type for e in f.store.published] == ["product.created", "product.updated"]


def test_an_update_to_a_taken_sku_conflicts(f):
    catalog.create_product(f.ctx, fields())
    other = catalog.create_product(f.ctx, fields(sku="OTHER"))
    with pytest.raises(Conflict) as taken:
        catalog.update_product(f.ctx, other["id"], {"sku": "AUR-14"})
    assert taken.value.code == "SKU_EXISTS"


def test_a_deleted_product_is_no_longer_found_listed_or_sold(f):
    created = catalog.create_product(f.ctx, fields())
    catalog.get_product(f.ctx, created["id"])
    catalog.delete_product(f.ctx, created["id"])
    with pytest.raises(NotFound):
        catalog.get_product(f.ctx, created["id"])
    assert catalog.list_products(f.ctx, Filters(), None, 0, 10)["total"] == 0
    with pytest.raises(NotFound):
        catalog.delete_product(f.ctx, created["id"])
    assert f.store.published[-1].type == "product.deleted"


def test_listing_filters_sorts_and_pages(f):
    for name, category, brand, price, stock in [
        ("Aurora Laptop", "Laptops", "Northwind", "1199.00", 5),
        ("Vela Book", "Laptops", "Vela", "999.00", 0),
        ("Orbit Phone", "Phones", "Orbit", "799.00", 3),
        ("Orbit Buds", "Audio", "Orbit", "149.00", 9),
    ]:
        f.clock.advance(1)
        catalog.create_product(
            f.ctx,
            fields(
                name=name,
                category=category,
                brand=brand,
                price=Decimal(price),
                stock_quantity=stock,
                sku=name,
            ),
        )

    def names(page):
        return [p["name"] for p in page["data"]]

    assert names(catalog.list_products(f.ctx, Filters(category="Laptops"), "price_asc", 0, 10)) == [
        "Vela Book",
        "Aurora Laptop",
    ]
    assert names(catalog.list_products(f.ctx, Filters(search="ORBIT"), "price,desc", 0, 10)) == [
        "Orbit Phone",
        "Orbit Buds",
    ]
    page = catalog.list_products(f.ctx, Filters(), "name", 1, 3)
    assert (page["total"], page["pages"], names(page)) == (4, 2, ["Vela Book"])
    assert [p["name"] for p in catalog.showcase(f.ctx, "newest")] == [
        "Orbit Buds",
        "Orbit Phone",
        "Aurora Laptop",
    ]
    assert catalog.distinct_values(f.ctx, "brand") == ["Northwind", "Orbit", "Vela"]
    assert [p["name"] for p in catalog.batch(f.ctx, [3, 1, 99])] == ["Aurora Laptop", "Orbit Phone"]
    with pytest.raises(InvalidInput):
        catalog.list_products(f.ctx, Filters(), "cheapest", 0, 10)


def test_one_review_per_user_and_the_average_follows(f):
    created = catalog.create_product(f.ctx, fields())
    catalog.get_product(f.ctx, created["id"])
    catalog.add_review(f.ctx, created["id"], "u1", 5, "great")
    catalog.add_review(f.ctx, created["id"], "u2", 4, None)
    with pytest.raises(Conflict) as again:
        catalog.add_review(f.ctx, created["id"], "u1", 1, "changed my mind")
    assert again.value.code == "ALREADY_REVIEWED"
    product = catalog.get_product(f.ctx, created["id"])
    assert (product["averageRating"], product["reviewCount"]) == (4.5, 2)
    reviews = catalog.list_reviews(f.ctx, created["id"], 0, 1)
    assert (reviews["total"], reviews["pages"], reviews["data"][0]["userId"]) == (2, 2, "u2")
    with pytest.raises(NotFound):
        catalog.add_review(f.ctx, 99, "u1", 5, None)
    with pytest.raises(NotFound):
        catalog.list_reviews(f.ctx, 99, 0, 10)
