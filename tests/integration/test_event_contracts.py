"""Every event type the services emit has a published schema, and every emitted event matches it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schemas"


def check(events):
    for event in events:
        schema = json.loads((SCHEMAS / f"{event.type}.v{event.version}.json").read_text())
        jsonschema.validate(event.data, schema, format_checker=jsonschema.FormatChecker())


def test_orders_and_payments_events_match_their_schemas(shop, pay):
    from orders.service import checkout, manage
    from payments.service import lifecycle
    from tests.integration.orders.conftest import new_product, order_request, principal
    from tests.integration.payments.test_payments import request, who

    orders, products, _, orders_bus = shop
    order = checkout.place_order(orders, principal(), order_request(new_product(products)["id"]), None)
    manage.update_order(orders, principal("root", "admin"), order["id"], {"notes": "leave at the door"})
    manage.cancel_order(orders, principal(), order["id"], None)
    check(e for e in orders_bus.published if e.source == "agora.orders")
    assert {e.type for e in orders_bus.published if e.source == "agora.orders"} == {
        "order.created",
        "order.updated",
        "order.cancelled",
    }

    ctx, fake_orders, pay_bus = pay
    paid = lifecycle.create_payment(ctx, who(), request(fake_orders.add()), None)["payment"]
    lifecycle.confirm(ctx, who(), paid["id"], "txn")
    lifecycle.refund(ctx, who(), paid["id"], None, None)
    pending_order = fake_orders.add()
    lifecycle.create_payment(ctx, who(), request(pending_order), None)
    lifecycle.settle_cancelled_order(ctx, pending_order)
    from payments.domain.provider import DECLINED_CARD

    lifecycle.create_payment(
        ctx, who(), request(fake_orders.add(), metadata={"card_number": DECLINED_CARD}), None
    )
    check(pay_bus.published)
    assert {e.type for e in pay_bus.published} == {
        "payment.created",
        "payment.completed",
        "payment.refunded",
        "payment.cancelled",
        "payment.failed",
    }


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda p: p.name)
def test_every_schema_is_a_valid_json_schema(path):
    jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))
