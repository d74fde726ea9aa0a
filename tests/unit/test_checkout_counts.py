"""The per-checkout counting of ``bench.checkout_counts``, fed with traces shaped as LocalStack's X-Ray
answers BatchGetTraces: one JSON document per span (``agora.tracing`` exports them so), a span with
its children nested under ``subsegments`` as X-Ray also allows, and a consumer's batch in a trace of
its own that the consumer's spans of events link to."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from agora.operations import Consumer, Service
from bench.checkout_counts import (
    EVENTS,
    REQUEST,
    Tally,
    aws_calls_in_log,
    count,
    run_links,
    subscribers_of,
    undelivered,
)

ORDER_TRACE = "1-6b060d44-b5111c3f339f5e96e3d4447f"
PAYMENT_TRACE = "1-6b060d45-a1e327484bd421fbe7cabd39"
LIST_TRACE_1 = "1-6b060d40-000000000000000000000001"
LIST_TRACE_2 = "1-6b060d41-000000000000000000000002"
AUDIT_BATCH_TRACE = "1-6b060d48-fef820ec594f25a17dfe2634"
ORDERS_BATCH_TRACE = "1-6b060d47-62eb727add0048ad72b01628"
CID = "checkout-counts-test"


def doc(span_id: str, name: str, start: float, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"name": name, "id": span_id, "start_time": start, "end_time": start + 0.01}
    if parent is not None:
        document["parent_id"] = parent
    annotations = {"correlation_id": CID, **fields.pop("annotations", {})}
    return {**document, "annotations": annotations, **fields}


def sub(span_id: str, name: str, start: float, parent: str | None, **fields: Any) -> dict[str, Any]:
    return doc(span_id, name, start, parent, type="subsegment", **fields)


def sql(span_id: str, parent: str | None, start: float, database: str, verb: str) -> dict[str, Any]:
    return sub(
        span_id,
        f"postgresql {verb}",
        start,
        parent,
        namespace="remote",
        annotations={"db_system": "postgresql", "db_name": database, "db_operation": verb},
        sql={"database_type": "PostgreSQL", "url": database, "sanitized_query": f"{verb} ..."},
    )


def redis(span_id: str, parent: str | None, start: float, command: str) -> dict[str, Any]:
    annotations = {"db_system": "redis", "db_operation": command}
    return sub(span_id, f"redis {command}", start, parent, namespace="remote", annotations=annotations)


def aws(span_id: str, parent: str | None, start: float, service: str, operation: str) -> dict[str, Any]:
    annotations = {"rpc_system": "aws-api", "rpc_service": service, "rpc_method": operation}
    return sub(
        span_id,
        service,
        start,
        parent,
        namespace="aws",
        annotations=annotations,
        aws={"operation": operation},
    )


def publish(span_id: str, parent: str, start: float, event_id: str, event_type: str) -> dict[str, Any]:
    annotations = {
        "messaging_system": "eventbridge",
        "messaging_destination_name": "agora",
        "event_id": event_id,
        "event_type": event_type,
    }
    return sub(span_id, f"publish {event_type}", start, parent, namespace="remote", annotations=annotations)


def record(
    span_id: str, parent: str, start: float, consumer: str, event_id: str, batch: tuple[str, str]
) -> dict[str, Any]:
    """A consumer's span of one event: a segment (its parent, the publication, is in another process)."""
    return doc(
        span_id,
        f"agora-local-{consumer.replace('.', '-').replace('_', '-')}",
        start,
        parent,
        annotations={"operation": consumer, "event_id": event_id, "event_type": "x", "span_name": consumer},
        links=[{"trace_id": batch[0], "id": batch[1], "attributes": {"agora.link": "run"}}],
    )


def http(span_id: str, start: float, method: str, route: str, operation: str) -> dict[str, Any]:
    """An HTTP operation's invocation span; its parent id is one LocalStack made up and never wrote."""
    annotations = {
        "http_request_method": method,
        "http_route": route,
        "operation": operation,
        "http_status_code": 201,
        "span_name": f"{method} {route}",
    }
    return doc(span_id, f"agora-local-{operation}", start, "00c03d5ea920f570", annotations=annotations)


def nested(document: dict[str, Any]) -> dict[str, Any]:
    """A subsegment as its parent carries it: its parent is where it sits, not named."""
    return {k: v for k, v in document.items() if k != "parent_id"}


def trace(trace_id: str, *documents: dict[str, Any]) -> dict[str, Any]:
    """A BatchGetTraces ``Traces`` entry: each segment's document is a JSON string."""
    return {
        "Id": trace_id,
        "Duration": 1.0,
        "Segments": [{"Id": d["id"], "Document": json.dumps(d)} for d in documents],
    }


AUDIT_BATCH = (AUDIT_BATCH_TRACE, "b100000000000001")
ORDERS_BATCH = (ORDERS_BATCH_TRACE, "b200000000000002")

# POST /api/orders: a denylist check, two statements, the products service reserving (through a
# Lambda Invoke, its own statements and event), its own event; audit consumes both in one batch.
reserve = doc(
    "a000000000000010",
    "agora-local-products-reserve-stock",
    10.10,
    "a000000000000004",
    annotations={"operation": "products.reserve_stock", "span_name": "products.reserve_stock"},
)
# The reservation's work comes nested under it, as X-Ray allows a segment to carry its subsegments.
reserve["subsegments"] = [
    nested(sql("a000000000000011", None, 10.11, "agora_products", "UPDATE")),
    nested(sql("a000000000000012", None, 10.12, "agora_products", "INSERT")),
    nested(publish("a000000000000013", "", 10.13, "e1", "product.stock_updated")),
    nested(aws("a000000000000014", None, 10.14, "EventBridge", "PutEvents")),
]
ORDER = trace(
    ORDER_TRACE,
    http("a000000000000001", 10.0, "POST", "/api/orders", "orders.create_order"),
    redis("a000000000000002", "a000000000000001", 10.01, "EXISTS"),
    sql("a000000000000003", "a000000000000001", 10.02, "agora_orders", "INSERT"),
    sub(
        "a000000000000004",
        "products.reserve_stock",
        10.05,
        "a000000000000001",
        namespace="remote",
        annotations={"peer_service": "products", "agora_internal": "reserve_stock"},
    ),
    aws("a000000000000005", "a000000000000004", 10.06, "Lambda", "Invoke"),
    reserve,
    sql("a000000000000020", "a000000000000001", 10.20, "agora_orders", "UPDATE"),
    publish("a000000000000021", "a000000000000001", 10.21, "e2", "order.created"),
    aws("a000000000000022", "a000000000000001", 10.22, "EventBridge", "PutEvents"),
    redis("a000000000000023", "a000000000000001", 10.23, "DELETE"),
    record("a000000000000030", "a000000000000013", 10.50, "audit.record_event", "e1", AUDIT_BATCH),
    aws("a000000000000031", "a000000000000030", 10.51, "DynamoDB", "PutItem"),
    aws("a000000000000032", "a000000000000030", 10.52, "DynamoDB", "UpdateItem"),
    record("a000000000000033", "a000000000000021", 10.53, "audit.record_event", "e2", AUDIT_BATCH),
    aws("a000000000000034", "a000000000000033", 10.54, "DynamoDB", "PutItem"),
    aws("a000000000000035", "a000000000000033", 10.55, "DynamoDB", "UpdateItem"),
)

# POST /api/payments: payment.created reaches audit in that same batch, payment.completed the orders
# consumer in a batch of its own (which reads its order in PostgreSQL under the record's span).
PAYMENT = trace(
    PAYMENT_TRACE,
    http("c000000000000001", 11.0, "POST", "/api/payments", "payments.create_payment"),
    sql("c000000000000002", "c000000000000001", 11.01, "agora_payments", "SELECT"),
    aws("c000000000000003", "c000000000000001", 11.02, "ServiceDiscovery", "DiscoverInstances"),
    publish("c000000000000004", "c000000000000001", 11.03, "e3", "payment.created"),
    publish("c000000000000005", "c000000000000001", 11.04, "e4", "payment.completed"),
    aws("c000000000000006", "c000000000000001", 11.05, "EventBridge", "PutEvents"),
    record("c000000000000010", "c000000000000004", 11.10, "audit.record_event", "e3", AUDIT_BATCH),
    aws("c000000000000011", "c000000000000010", 11.11, "DynamoDB", "GetItem"),
    record("c000000000000020", "c000000000000005", 11.20, "orders.payment_events", "e4", ORDERS_BATCH),
    sql("c000000000000021", "c000000000000020", 11.21, "agora_orders", "INSERT"),
)

# The batch invocations, each a trace of its own; the audit batch made a call outside its records.
BATCHES = [
    trace(
        AUDIT_BATCH_TRACE,
        doc(
            AUDIT_BATCH[1],
            "agora-local-audit-record-event",
            10.49,
            "ffffffffffffffff",
            annotations={"operation": "audit.record_event", "messaging_batch_message_count": 3},
        ),
        aws("b100000000000009", AUDIT_BATCH[1], 10.495, "DynamoDB", "Query"),
    ),
    trace(
        ORDERS_BATCH_TRACE,
        doc(
            ORDERS_BATCH[1],
            "agora-local-orders-payment-events",
            11.19,
            "eeeeeeeeeeeeeeee",
            annotations={"operation": "orders.payment_events"},
        ),
    ),
]


def figures(tally: Tally) -> dict[str, int]:
    return tally.figures()


def test_each_step_counts_its_request_apart_from_its_events_consumers() -> None:
    counts = count([PAYMENT, ORDER], BATCHES)

    assert list(counts.steps) == ["POST /api/orders", "POST /api/payments"]  # in the order they began
    assert figures(counts.part("POST /api/orders", REQUEST)) == {
        "lambda_invocations": 2,  # create_order, and reserve_stock through Lambda Invoke
        "postgresql_statements": 4,  # two of orders, two of products (nested in the reservation)
        "dynamodb_reads": 0,
        "dynamodb_writes": 0,
        "redis_commands": 2,
        "put_events_calls": 2,
        "events_published": 2,
        "sqs_messages_consumed": 0,
        "other_aws_calls": 1,  # the Invoke
    }
    assert figures(counts.part("POST /api/orders", EVENTS)) == {
        "lambda_invocations": 1,  # one audit batch for both events (and for the payment's, later)
        "postgresql_statements": 0,
        "dynamodb_reads": 1,  # the batch's own Query, outside its records
        "dynamodb_writes": 4,
        "redis_commands": 0,
        "put_events_calls": 0,
        "events_published": 0,
        "sqs_messages_consumed": 2,
        "other_aws_calls": 0,
    }
    assert figures(counts.part("POST /api/payments", REQUEST)) == {
        "lambda_invocations": 1,
        "postgresql_statements": 1,
        "dynamodb_reads": 0,
        "dynamodb_writes": 0,
        "redis_commands": 0,
        "put_events_calls": 1,
        "events_published": 2,  # one PutEvents call carried both
        "sqs_messages_consumed": 0,
        "other_aws_calls": 1,  # DiscoverInstances
    }
    assert figures(counts.part("POST /api/payments", EVENTS)) == {
        "lambda_invocations": 1,  # the orders consumer's batch; audit's was counted with the order
        "postgresql_statements": 1,
        "dynamodb_reads": 1,
        "dynamodb_writes": 0,
        "redis_commands": 0,
        "put_events_calls": 0,
        "events_published": 0,
        "sqs_messages_consumed": 2,
        "other_aws_calls": 0,
    }
    assert counts.unlinked_batches == 0


def test_totals_name_functions_statements_and_calls() -> None:
    counts = count([ORDER, PAYMENT], BATCHES)
    total = counts.total(["POST /api/orders", "POST /api/payments"])

    assert dict(total.invocations) == {
        "orders.create_order": 1,
        "products.reserve_stock": 1,
        "payments.create_payment": 1,
        "audit.record_event": 1,
        "orders.payment_events": 1,
    }
    assert dict(total.statements) == {
        "agora_orders INSERT": 2,
        "agora_orders UPDATE": 1,
        "agora_products UPDATE": 1,
        "agora_products INSERT": 1,
        "agora_payments SELECT": 1,
    }
    assert dict(total.redis) == {"EXISTS": 1, "DELETE": 1}
    assert dict(total.events) == {
        "product.stock_updated": 1,
        "order.created": 1,
        "payment.created": 1,
        "payment.completed": 1,
    }
    assert dict(total.messages) == {"audit.record_event": 3, "orders.payment_events": 1}
    assert total.aws["EventBridge.PutEvents"] == 3
    assert total.aws["Lambda.Invoke"] == 1
    assert total.invocation_ms["orders.create_order"] == 10


def test_a_batch_whose_span_is_missing_is_still_one_invocation() -> None:
    counts = count([ORDER, PAYMENT], BATCHES[1:])

    assert counts.part("POST /api/orders", EVENTS).invocations["audit.record_event"] == 1
    assert counts.part("POST /api/orders", EVENTS).dynamodb(frozenset({"Query"})) == 0
    assert counts.unlinked_batches == 1
    assert run_links([ORDER, PAYMENT]) == {AUDIT_BATCH, ORDERS_BATCH}


def test_a_second_request_of_a_route_is_a_step_of_its_own() -> None:
    first = trace(
        LIST_TRACE_1, http("d000000000000001", 1.0, "GET", "/api/products", "products.list_products")
    )
    second = trace(
        LIST_TRACE_2,
        http("d000000000000002", 2.0, "GET", "/api/products", "products.list_products"),
        sql("d000000000000003", "d000000000000002", 2.01, "agora_products", "SELECT"),
    )

    counts = count([second, first])

    assert list(counts.steps) == ["GET /api/products", "GET /api/products #2"]
    assert counts.part("GET /api/products", REQUEST).statements.total() == 0
    assert counts.part("GET /api/products #2", REQUEST).statements.total() == 1


def test_undelivered_names_each_event_a_subscribed_consumer_has_not_handled() -> None:
    services = [
        Service("audit", None, (), consumers=(Consumer("audit", "record_event", "h", event_types=("*",)),)),
        Service(
            "orders",
            None,
            (),
            consumers=(Consumer("orders", "payment_events", "h", event_types=("payment.completed",)),),
        ),
    ]
    subscribers = subscribers_of(services)
    assert subscribers("payment.completed") == ["audit.record_event", "orders.payment_events"]
    assert subscribers("order.created") == ["audit.record_event"]

    assert undelivered([ORDER, PAYMENT], subscribers) == ["payment.completed e4 -> audit.record_event"]
    assert undelivered([ORDER], subscribers) == []


def test_localstack_log_lines_count_aws_calls_in_the_window() -> None:
    aws_line = "INFO --- [et.reactor-3] localstack.request.aws     : AWS"
    lines = [
        "2026-11-24T22:18:44.100  INFO --- [et.reactor-1] localstack.request.aws     : "
        "AWS secretsmanager.GetSecretValue => 200",
        "2026-11-24T22:18:44.200  INFO --- [et.reactor-2] localstack.request.http    : "
        "POST /restapis/agora/local/_user_request_/api/orders => 201",
        f"2026-11-24T22:18:44.300  {aws_line} events.PutEvents => 200",
        "2026-11-24T22:18:44.400  INFO --- [et.reactor-4] localstack.request.aws     : "
        "AWS secretsmanager.GetSecretValue => 200",
        f"2026-11-24T22:18:50.000  {aws_line} events.PutEvents => 200",
        "not a log line",
    ]
    start = datetime.fromisoformat("2026-11-24T22:18:44.000").timestamp()

    assert aws_calls_in_log(lines, start, start + 1) == {
        "secretsmanager.GetSecretValue": 2,
        "events.PutEvents": 1,
    }
