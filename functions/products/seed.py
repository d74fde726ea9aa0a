"""Load the sample catalog (``catalog.json``) into the products database.  ``python -m products.seed``

Idempotent: products are matched by sku; existing ones are left as they are, and so are deleted
ones (an inactive product keeps its sku: an admin's deletion is not undone by the next seed).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from agora.db import pool
from agora.errors import Conflict
from products.adapters.wiring import context
from products.handlers.contracts import ProductFields
from products.service import catalog

CATALOG = Path(__file__).with_name("catalog.json")


def main() -> int:
    entries = [ProductFields.model_validate(e) for e in json.loads(CATALOG.read_text())]
    try:
        ctx = context()
        with ctx.unit_of_work() as uow:
            missing = [e for e in entries if e.sku is None or uow.products.get_by_sku(e.sku) is None]
        added = 0
        for entry in missing:
            try:
                catalog.create_product(ctx, {**entry.model_dump(), "price": Decimal(entry.price)})
                added += 1
            except Conflict as taken:
                if taken.code != "SKU_EXISTS":
                    raise
    finally:
        pool().close()  # a short-lived process: let it exit without waiting on the pool's threads
    print(f"catalog ready: {len(entries)} products ({added} added)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
