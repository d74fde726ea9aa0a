"""agora.operations.Handlers: how a service declares its functions, each served by its handlers package."""

import pytest

from agora.operations import (
    Auth,
    Consumer,
    Handlers,
    Internal,
    Operation,
    RateLimit,
    load_service,
)

SHOP = Handlers("shop")


def test_an_operation_is_served_by_its_module_behind_the_services_auth():
    declared = SHOP.op("get_thing", "GET", "/api/things/{id}", "One thing")
    assert declared == Operation(
        "shop", "get_thing", "GET", "/api/things/{id}", "shop.handlers.get_thing.handler", Auth.USER,
        description="One thing",
    )  # fmt: skip


def test_the_service_chooses_its_usual_auth_and_an_operation_may_name_another():
    public = Handlers("shop", auth=Auth.PUBLIC)
    assert public.op("list", "GET", "/api/things", "All").auth is Auth.PUBLIC
    assert public.op("add", "POST", "/api/things", "Add", auth=Auth.ADMIN).auth is Auth.ADMIN
    assert SHOP.op("page", "GET", "/api/page", "A page", auth=Auth.PUBLIC).auth is Auth.PUBLIC


def test_what_an_operation_leaves_out_takes_the_operations_defaults():
    declared = SHOP.op("get_thing", "GET", "/api/things/{id}", "One thing")
    default = Operation("shop", "x", "GET", "/", "h", Auth.USER)
    assert (declared.memory_mb, declared.timeout_s, declared.rate_limit, declared.fail_closed) == (
        default.memory_mb,
        default.timeout_s,
        default.rate_limit,
        default.fail_closed,
    )


def test_an_operations_options_are_kept():
    declared = SHOP.op(
        "webhook",
        "POST",
        "/api/hooks",
        "Provider events",
        auth=Auth.PUBLIC,
        rate_limit=RateLimit(per_minute=600),
        memory_mb=1024,
        timeout_s=25,
        fail_closed=False,
    )
    assert declared.rate_limit == RateLimit(per_minute=600)
    assert (declared.memory_mb, declared.timeout_s, declared.fail_closed) == (1024, 25, False)


def test_a_consumer_is_served_by_its_module():
    declared = SHOP.consumer(
        "order_events", ("order.cancelled",), "Follow cancellations", reserved_concurrency=5
    )
    assert declared == Consumer(
        "shop",
        "order_events",
        "shop.handlers.order_events.handler",
        ("order.cancelled",),
        description="Follow cancellations",
        reserved_concurrency=5,
    )


def test_an_internal_function_is_served_by_its_module_or_the_one_named():
    sweep = SHOP.internal("sweep", "Tidy up", memory_mb=256, schedule_minutes=1)
    assert sweep == Internal(
        "shop",
        "sweep",
        "shop.handlers.sweep.handler",
        memory_mb=256,
        schedule_minutes=1,
        description="Tidy up",
    )
    relay = SHOP.internal("outbox_relay", "Publish", module="relay_outbox")
    assert (relay.id, relay.handler) == ("outbox_relay", "shop.handlers.relay_outbox.handler")
    assert SHOP.internal("reserve", "Reserve", callers=("orders",)).callers == ("orders",)


@pytest.mark.parametrize("service", ["users", "products", "orders", "payments"])
def test_every_declared_handler_of_a_service_lives_in_its_handlers_package(service):
    for declared in load_service(service).functions:
        if declared.handler.startswith("agora."):
            continue  # the shared handlers: health, readiness, migrations, the outbox relay
        assert declared.handler.startswith(f"{service}.handlers.")
        assert declared.handler.endswith(".handler")
