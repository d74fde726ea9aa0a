"""Scheduled: fail abandoned checkouts and cancel orders left unpaid (see orders.service.sweeper)."""

from dataclasses import asdict
from typing import Any

from agora.observability import logger
from orders.adapters.wiring import context
from orders.service.sweeper import sweep


@logger().inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], lambda_context: Any) -> dict[str, int]:
    swept = asdict(sweep(context()))
    logger().info("orders swept", extra=swept)
    return swept
