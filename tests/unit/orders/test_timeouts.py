"""The saga's clocks must nest, or a sweep would undo work still in progress."""

from __future__ import annotations

from orders.operations import SERVICE as ORDERS
from orders.settings import OrdersSettings
from products.operations import SERVICE as PRODUCTS
from products.settings import ProductsSettings


def test_a_checkout_is_abandoned_only_after_it_can_no_longer_run():
    abandon_s = OrdersSettings(service="orders").checkout_abandon_s
    checkout = ORDERS.operation("create_order")
    reserve = next(i for i in PRODUCTS.internal if i.id == "reserve_stock")
    # The request and the reservation it may still be waiting on have both timed out by then.
    assert abandon_s > checkout.timeout_s + reserve.timeout_s


def test_a_reservation_is_questioned_only_after_its_checkout_was_settled():
    hold_s = ProductsSettings(service="products").reservation_hold_s
    assert hold_s > OrdersSettings(service="orders").checkout_abandon_s + 60  # + one sweep period
