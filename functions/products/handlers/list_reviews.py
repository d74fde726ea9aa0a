"""GET /api/products/{id}/reviews: a product's reviews, newest first."""

from typing import Any

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.contracts import Page, ProductId, Size
from products.handlers.responses import ProductReviewPage
from products.service import catalog

api = OperationApi.declared("products", "list_reviews")


@api.endpoint(response_model=ProductReviewPage, problems={404: ("PRODUCT_NOT_FOUND",)})
def list_reviews(product_id: ProductId, page: Page = 0, size: Size = 20) -> dict[str, Any]:
    return catalog.list_reviews(context(), product_id, page, size)


handler = api.handler
