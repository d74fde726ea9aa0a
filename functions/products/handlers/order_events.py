"""Consumer of order.cancelled: the order's reservation is released (once, whatever the redeliveries)."""

from agora.consumer import consumer
from agora.events import Envelope
from products.adapters.wiring import context
from products.service import stock


def on_order_cancelled(envelope: Envelope) -> None:
    stock.release_on_cancel(context(), envelope)


handler = consumer(on_order_cancelled)
