"""Scheduled, every minute: reservations held past the hold time are committed or expired, per their order."""

from typing import Any

from pydantic import BaseModel, ConfigDict

from agora.internal import internal_handler
from products.adapters.wiring import context
from products.service import expiry


class Sweep(BaseModel):
    # The schedule sends EventBridge's scheduled-event document; an operator may send {}.
    model_config = ConfigDict(extra="ignore")


def sweep(request: Sweep) -> dict[str, Any]:
    return expiry.expire_unclaimed(context())


handler = internal_handler(Sweep, sweep)
