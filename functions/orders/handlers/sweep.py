"""Scheduled: fail abandoned checkouts and cancel orders left unpaid (see orders.service.sweeper).

Each run is a trace of its own (``agora.tracing``).
"""

from dataclasses import asdict
from typing import Any

from agora.deadline import invocation
from agora.observability import logger
from orders.adapters.wiring import context
from orders.service.sweeper import sweep


@logger().inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], lambda_context: Any) -> dict[str, int]:
    from agora.tracing import invocation_span

    with invocation(lambda_context), invocation_span("orders.sweep", operation="orders.sweep"):
        swept = asdict(sweep(context()))
    logger().info("orders swept", extra=swept)
    return swept
