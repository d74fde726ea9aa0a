"""order.cancelled releases the order's reservation once, whichever delivery comes first or again."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from agora.errors import Conflict, UnprocessableEntity
from products.domain.stock import Line
from products.service import catalog, stock
from tests.integration.products.conftest import audit, product_fields
from tests.integration.products.conftest import cancelled_event as cancelled
from tests.integration.products.test_stock import state_of, stock_of


def test_a_cancelled_order_gets_its_stock_back_once_however_often_it_is_delivered(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=5))
    order = str(uuid.uuid4())
    stock.reserve(ctx, order, [Line(product["id"], 3)])
    event = cancelled(order)
    with ThreadPoolExecutor(max_workers=8) as pool:
        applied = list(pool.map(lambda _: stock.release_on_cancel(ctx, event), range(8)))
    assert applied.count(True) == 1
    assert stock_of(ctx, product["id"]) == 5
    assert state_of(ctx, order) == "released"
    assert stock.release_on_cancel(ctx, cancelled(order)) is True, (
        "another event id applies, and gives nothing"
    )
    assert stock_of(ctx, product["id"]) == 5
    assert audit(ctx) == []


def test_a_committed_reservation_is_released_by_its_cancellation(ctx):
    from products.service import expiry

    product = catalog.create_product(ctx, product_fields(stock_quantity=5))
    order = str(uuid.uuid4())
    stock.reserve(ctx, order, [Line(product["id"], 2)])
    assert expiry.commit(ctx, order) is True
    assert state_of(ctx, order) == "committed"
    stock.release_on_cancel(ctx, cancelled(order))
    assert (state_of(ctx, order), stock_of(ctx, product["id"])) == ("released", 5)
    assert audit(ctx) == []


def test_a_cancellation_before_the_reserve_leaves_a_tombstone_the_reserve_respects(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=5))
    order = str(uuid.uuid4())
    assert stock.release_on_cancel(ctx, cancelled(order)) is True
    with pytest.raises(Conflict) as late:
        stock.reserve(ctx, order, [Line(product["id"], 1)])
    assert late.value.code == "RESERVATION_CLOSED"
    assert stock_of(ctx, product["id"]) == 5
    assert audit(ctx) == []


@pytest.mark.parametrize(
    ("source", "event_type"), [("payments", "order.cancelled"), ("orders", "order.created")]
)
def test_only_order_cancellations_from_the_orders_service_release_stock(ctx, source, event_type):
    product = catalog.create_product(ctx, product_fields(stock_quantity=5))
    order = str(uuid.uuid4())
    stock.reserve(ctx, order, [Line(product["id"], 2)])
    with pytest.raises(UnprocessableEntity) as refused:
        stock.release_on_cancel(ctx, cancelled(order, source, event_type))
    assert refused.value.code == "NOT_AN_ORDER_CANCELLATION"
    assert (state_of(ctx, order), stock_of(ctx, product["id"])) == ("held", 3)
    with ctx.pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM inbox").fetchone()[0] == 0


def test_the_consumer_releases_once_even_when_it_dies_after_the_effect(ctx, request, lambda_context):
    from agora.faults import InjectedCrash, armed
    from tests.integration.test_consumer import sqs_record

    consumer = request.getfixturevalue("consumer_factory")  # moto's idempotency table, before the import
    from products.handlers import order_events

    product = catalog.create_product(ctx, product_fields(stock_quantity=5))
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    stock.reserve(ctx, first, [Line(product["id"], 3)])
    stock.reserve(ctx, second, [Line(product["id"], 1)])
    handler = consumer(order_events.on_order_cancelled)
    event = cancelled(first)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(order_events, "context", lambda: ctx)
        with armed("agora.consumer.after_effect", "crash"), pytest.raises(InjectedCrash):
            handler({"Records": [sqs_record(event)]}, lambda_context)
        assert (stock_of(ctx, product["id"]), state_of(ctx, first)) == (4, "released")
        batch = [
            sqs_record(event),
            sqs_record(cancelled(second, source="payments")),
            sqs_record(cancelled(second)),
        ]
        answer = handler({"Records": batch}, lambda_context)
    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    # A fresh claim waits for its retry; a forged source is acknowledged and never applied.
    assert failed == {batch[0]["messageId"]}
    assert stock.release_on_cancel(ctx, event) is False, "when the queue brings it back, the inbox has it"
    assert (stock_of(ctx, product["id"]), state_of(ctx, second)) == (5, "released")
    assert audit(ctx) == []
