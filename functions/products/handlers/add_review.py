"""POST /api/products/{id}/reviews: rate a product, once per user."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.contracts import ProductId, ReviewRequest
from products.handlers.responses import ProductReview
from products.service import catalog

api = OperationApi.declared("products", "add_review")


@api.endpoint(
    status_code=201,
    response_model=ProductReview,
    problems={404: ("PRODUCT_NOT_FOUND",), 409: ("ALREADY_REVIEWED",)},
)
def add_review(product_id: ProductId, body: ReviewRequest, caller: Caller) -> dict[str, Any]:
    return catalog.add_review(context(), product_id, caller.user_id, body.rating, body.comment)


handler = api.handler
