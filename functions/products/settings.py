"""The products service's own settings, on top of the shared ones."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from agora.settings import Settings


class ProductsSettings(Settings):
    # How long a held reservation waits for its order before the sweep asks the orders service about it.
    reservation_hold_s: int = Field(default=600, ge=1, le=7 * 24 * 3600)


@cache
def products_settings() -> ProductsSettings:
    return ProductsSettings.from_env()
