"""Consumer of payment.completed / failed / refunded: the order's payment status follows."""

from agora.consumer import consumer
from agora.events import Envelope
from orders.adapters.wiring import context
from orders.service import manage


def on_payment(envelope: Envelope) -> None:
    manage.apply_payment_event(context(), envelope)


handler = consumer(on_payment)
