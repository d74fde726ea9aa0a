"""GET /api/orders?page&per_page&status: the caller's orders (an admin's: everyone's)."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from orders.adapters.wiring import context
from orders.handlers.contracts import PageQuery, PerPageQuery, StatusQuery
from orders.handlers.responses import OrderPage
from orders.service import manage

api = OperationApi.declared("orders", "list_orders")


@api.endpoint(response_model=OrderPage)
def list_orders(
    caller: Caller, page: PageQuery = 1, per_page: PerPageQuery = 10, status: StatusQuery = None
) -> dict[str, Any]:
    return manage.list_orders(context(), caller, page, per_page, status)


handler = api.handler
