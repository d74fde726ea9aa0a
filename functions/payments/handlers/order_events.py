"""Consumer of order.cancelled: refund a completed payment in full, cancel a pending one."""

from agora.consumer import consumer
from agora.events import Envelope
from payments.adapters.wiring import context
from payments.service import lifecycle


def on_order_cancelled(envelope: Envelope) -> None:
    lifecycle.settle_cancelled_order(context(), str(envelope.data["order_id"]))


handler = consumer(on_order_cancelled)
