"""Scheduled, every minute: requested refunds, stuck creations and payments of cancelled orders."""

from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ConfigDict

from agora.internal import internal_handler
from agora.observability import logger
from payments.adapters.wiring import context
from payments.service.sweeper import sweep


class Sweep(BaseModel):
    # The schedule sends EventBridge's scheduled-event document; an operator may send {}.
    model_config = ConfigDict(extra="ignore")


def run(request: Sweep) -> dict[str, Any]:
    swept = asdict(sweep(context()))
    logger().info("payments swept", extra=swept)
    return swept


handler = internal_handler(Sweep, run)
