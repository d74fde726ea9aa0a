"""The sample catalog loads once, and a second load leaves existing and deleted products alone."""

from __future__ import annotations

import json

import pytest

from agora.errors import NotFound
from products import seed
from products.service import catalog


class NoPool:
    def close(self) -> None:
        pass


@pytest.fixture
def seeding(ctx, monkeypatch):
    monkeypatch.setattr(seed, "context", lambda: ctx)
    monkeypatch.setattr(seed, "pool", NoPool)
    return ctx


def test_a_catalog_product_an_admin_deleted_stays_deleted_and_the_seed_still_succeeds(seeding, capsys):
    entries = json.loads(seed.CATALOG.read_text())
    assert seed.main() == 0
    assert f"({len(entries)} added)" in capsys.readouterr().out
    with seeding.unit_of_work() as uow:
        first = uow.products.get_by_sku(entries[0]["sku"])
    assert first is not None
    catalog.delete_product(seeding, first.id)

    assert seed.main() == 0
    assert "(0 added)" in capsys.readouterr().out
    with pytest.raises(NotFound):
        catalog.get_product(seeding, first.id)
