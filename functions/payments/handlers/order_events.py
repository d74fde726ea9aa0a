"""Consumer of order.cancelled: no money is kept for a cancelled order (once per event id)."""

from agora.consumer import consumer
from agora.events import Envelope
from payments.adapters.wiring import context
from payments.service import cancellation


def on_order_cancelled(envelope: Envelope) -> None:
    cancellation.on_order_cancelled(context(), envelope)


handler = consumer(on_order_cancelled)
