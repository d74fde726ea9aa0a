"""Spans at the calls that leave a function — PostgreSQL, Redis, AWS SDK — on real servers (and moto),
errors marked with their problem code; and the trace of an event kept through the outbox relay and
continued by its consumer."""

from __future__ import annotations

import json
import threading
import uuid

import boto3
import psycopg
import pytest
from moto import mock_aws
from opentelemetry.trace import SpanKind
from psycopg import sql

from agora import aws, db, migrate, outbox, tracing
from agora.cache import Cache
from agora.db import build_pool
from agora.events import Envelope, EventPublisher
from agora.identity import Denylist, DenylistUnavailable, Principal
from agora.tracing import segment_of, xray_header, xray_trace_id

CLIENT_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_ID = 0x5759E988BD862E3FE1BE46A994272793
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def pool(database):
    migrate.apply(database, "users")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE things (id int PRIMARY KEY)")
    with build_pool(database, min_size=1, max_size=2) as p:
        yield p


@pytest.fixture(autouse=True)
def no_lambda_trace(monkeypatch):
    monkeypatch.delenv(tracing.LAMBDA_TRACE_ENV, raising=False)


# --- PostgreSQL --------------------------------------------------------------------------------


def test_each_statement_is_a_span_under_the_invocation_and_the_pool_check_is_not(pool, database, spans):
    with tracing.invocation_span("GET /api/orders") as served, pool.connection() as conn:
        conn.execute("SELECT 1").fetchone()
        db.fetch_all(conn, "select id from outbox where id = %s", ("00000000-0000-0000-0000-000000000000",))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO things (id) VALUES (%s)", [(1,), (2,)])
    found = spans()
    statements = found.starting("postgresql ")
    assert [s.name for s in statements] == ["postgresql SELECT", "postgresql SELECT", "postgresql INSERT"]
    name = psycopg.conninfo.conninfo_to_dict(database)["dbname"]
    for statement in statements:
        assert statement.parent.span_id == served.get_span_context().span_id
        assert statement.attributes["db.system"] == "postgresql"
        assert statement.attributes["db.name"] == name
    assert statements[2].attributes["db.batch"] is True
    doc = segment_of(statements[1])
    assert doc["sql"]["sanitized_query"] == "select id from outbox where id = %s", "parameters never appear"
    assert doc["type"] == "subsegment" and doc["namespace"] == "remote"


def test_a_composed_statement_is_named_by_its_verb_and_shows_no_literal(pool, spans):
    query = sql.SQL("SELECT {} FROM things WHERE id = {}").format(sql.Identifier("id"), sql.Literal(4242))
    with tracing.invocation_span("GET /api/things"), pool.connection() as conn:
        conn.execute(query).fetchall()
    statement = spans().named("postgresql SELECT")
    assert statement.attributes["db.statement"] == 'SELECT "id" FROM things WHERE id = ?'


def test_a_statement_that_fails_is_marked_with_the_problem_code_it_is_answered_with(pool, spans):
    with tracing.invocation_span("POST /api/things"), pool.connection() as conn:
        conn.execute("INSERT INTO things (id) VALUES (7)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO things (id) VALUES (7)")
        conn.rollback()
        conn.execute("SET statement_timeout = 50")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(1)")
        conn.rollback()
    inserts, sleep = spans().starting("postgresql INSERT"), spans().named("postgresql SELECT")
    assert spans().named("postgresql SET").attributes.get("problem.code") is None
    assert [s.attributes.get("problem.code") for s in inserts] == [None, "CONFLICT"]
    assert segment_of(inserts[1])["error"] is True and segment_of(inserts[1])["fault"] is False
    assert (sleep.attributes["problem.status"], sleep.attributes["problem.code"]) == (
        503,
        "DEPENDENCY_UNAVAILABLE",
    )
    doc = segment_of(sleep)
    assert doc["fault"] is True and doc["cause"]["exceptions"][0]["type"].endswith("QueryCanceled")


def test_no_span_is_made_before_tracing_is_set_up(pool, monkeypatch):
    made = []
    monkeypatch.setattr(tracing, "active", lambda: False)
    monkeypatch.setattr(tracing, "tracer", lambda: made.append("tracer"))
    with pool.connection() as conn:
        conn.execute("SELECT 1")
    assert made == []


# --- Redis -------------------------------------------------------------------------------------


def test_cache_commands_are_spans_and_an_outage_is_marked_but_degrades(redis_url, spans):
    with tracing.invocation_span("GET /api/products/{id}"):
        live = Cache(redis_url, namespace=f"t-{uuid.uuid4().hex[:6]}:")
        live.set_json("k", {"a": 1}, 30)
        assert live.get_json("k") == {"a": 1}
        down = Cache(CLOSED_PORT_REDIS)
        assert down.get_json("k") is None, "a cache that is down is a miss"
    sent, read, failed = spans().starting("redis ")
    assert (sent.name, read.name) == ("redis SET", "redis GET")
    assert read.attributes["db.system"] == "redis" and "problem.code" not in read.attributes
    assert failed.attributes["problem.code"] == "DEPENDENCY_UNAVAILABLE"
    assert failed.attributes["cache.degraded"] is True
    assert segment_of(failed)["fault"] is True


def test_a_denylist_that_cannot_answer_marks_its_span_with_the_refusal(spans):
    principal = Principal(user_id="u1", email="a@b.c", role="user", token_id="t1", expires_at=0)
    with tracing.invocation_span("GET /api/users/me"), pytest.raises(DenylistUnavailable):
        Denylist(CLOSED_PORT_REDIS).is_revoked(principal)
    (command,) = spans().starting("redis ")
    assert (command.name, command.attributes["problem.code"]) == ("redis EXISTS", "AUTH_UNAVAILABLE")


# --- AWS SDK -----------------------------------------------------------------------------------


@pytest.fixture
def moto_aws():
    with mock_aws():
        aws.clear_clients()
        yield
    aws.clear_clients()


def test_sdk_calls_are_spans_whose_header_goes_with_the_request(moto_aws, spans):
    boto3.client("dynamodb").create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb = aws.client("dynamodb")
    sent_headers = []
    dynamodb.meta.events.register(
        "request-created", lambda request, **_: sent_headers.append(request.headers)
    )
    with tracing.invocation_span("POST /api/things"):
        dynamodb.put_item(TableName="t", Item={"id": {"S": "1"}})
        with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
            dynamodb.put_item(
                TableName="t", Item={"id": {"S": "1"}}, ConditionExpression="attribute_not_exists(id)"
            )
        with pytest.raises(dynamodb.exceptions.ResourceNotFoundException):
            dynamodb.get_item(TableName="missing", Key={"id": {"S": "1"}})
    put, refused, missing = spans().starting("DynamoDB.")
    assert (put.name, put.attributes["rpc.method"], put.attributes["http.response.status_code"]) == (
        "DynamoDB.PutItem",
        "PutItem",
        200,
    )
    assert sent_headers[0]["X-Amzn-Trace-Id"] == xray_header(put.context.trace_id, put.context.span_id)
    assert (refused.attributes["problem.code"], segment_of(refused)["error"]) == ("CONFLICT", True)
    assert (missing.attributes["problem.code"], segment_of(missing)["fault"]) == ("INTERNAL_ERROR", True)
    doc = segment_of(put)
    assert (doc["name"], doc["namespace"], doc["aws"]["operation"]) == ("DynamoDB", "aws", "PutItem")


def test_an_aws_service_that_cannot_be_reached_is_a_dependency_failure(monkeypatch, spans):
    monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTS", "http://127.0.0.1:1")
    aws.clear_clients()
    try:
        events = aws.client("events", retries={"mode": "standard", "total_max_attempts": 1})
        with tracing.invocation_span("POST /api/things"), pytest.raises(Exception):  # noqa: B017
            events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    finally:
        aws.clear_clients()
    (call,) = spans().starting("EventBridge.")
    assert call.attributes["problem.code"] == "DEPENDENCY_UNAVAILABLE"


def test_the_exporters_own_calls_are_not_traced(moto_aws):
    assert not getattr(aws.client("xray"), "_agora_traced", False)
    assert getattr(aws.client("events"), "_agora_traced", False)


# --- events through the outbox and the consumer ------------------------------------------------


class Bus:
    """EventBridge as the publisher sees it: the entries it was given."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.lock = threading.Lock()

    def put_events(self, Entries):
        with self.lock:
            self.entries.extend(Entries)
        return {"Entries": [{"EventId": str(uuid.uuid4())} for _ in Entries]}


def test_the_relay_keeps_the_trace_of_the_request_that_recorded_the_event(
    pool, spans, monkeypatch, lambda_context
):
    with tracing.invocation_span("POST /api/orders", {"X-Amzn-Trace-Id": CLIENT_HEADER}) as request:
        from agora.observability import logger

        logger().set_correlation_id("checkout-3")
        event = Envelope.new("orders", "order.created", {"order_id": "o1"})
        with pool.connection() as conn, conn.transaction():
            outbox.record(conn, [event])  # committed; the request ends before it is published
    logger().set_correlation_id(None)

    bus = Bus()
    monkeypatch.setattr(db, "pool", lambda: pool)
    monkeypatch.setattr(outbox, "EventPublisher", lambda name: EventPublisher(name, client=bus))
    assert outbox.handler({}, lambda_context) == {"published": 1}

    found = spans()
    run = found.named("users.outbox_relay")
    publish = found.named("publish order.created")
    assert run.parent is None and run.context.trace_id != TRACE_ID, "each run is a trace of its own"
    assert publish.context.trace_id == TRACE_ID
    assert publish.parent.span_id == request.get_span_context().span_id
    assert [link.context.span_id for link in publish.links] == [run.context.span_id]
    assert publish.attributes["correlation_id"] == "checkout-3"
    assert any(s.name.startswith("postgresql ") and s.parent.span_id == run.context.span_id for s in found)
    (entry,) = bus.entries
    assert entry["TraceHeader"].startswith(f"Root={xray_trace_id(TRACE_ID)};")
    assert json.loads(entry["Detail"])["trace"] == entry["TraceHeader"]
    assert json.loads(entry["Detail"])["correlation_id"] == "checkout-3"


def sqs_record(entry: dict) -> dict:
    """What EventBridge hands SQS for a bus entry, as the consumer's queue delivers it."""
    body = {
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "detail": json.loads(entry["Detail"]),
    }
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "rh",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "AWSTraceHeader": entry.get("TraceHeader", "")},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
        "awsRegion": "us-east-1",
    }


def test_the_consumer_continues_the_trace_of_each_event_under_its_correlation_id(
    consumer_factory, spans, logged, lambda_context
):
    from agora.observability import logger

    bus = Bus()
    with tracing.invocation_span("PUT /api/payments/{id}/confirm", {"X-Amzn-Trace-Id": CLIENT_HEADER}):
        logger().set_correlation_id("checkout-5")
        event = Envelope.new("payments", "payment.completed", {"payment_id": "p1", "order_id": "o1"})
        EventPublisher("agora", client=bus).publish([event])
    logger().set_correlation_id(None)
    other = Envelope.new("payments", "payment.completed", {"payment_id": "p2", "order_id": "o2"})
    EventPublisher("agora", client=bus).publish([other])  # no trace at all: the consumer starts none
    handled = []

    def on_payment(envelope: Envelope) -> None:
        handled.append((envelope.id, logger().get_correlation_id()))
        with tracing.span("postgresql UPDATE"):
            pass

    handler = consumer_factory(on_payment)
    result = handler({"Records": [sqs_record(e) for e in bus.entries]}, lambda_context)
    assert result["batchItemFailures"] == []
    assert handled == [(event.id, "checkout-5"), (other.id, None)]

    found = spans()
    (publish,) = [s for s in found.of_trace(TRACE_ID) if s.name == "publish payment.completed"]
    batch = next(s for s in found if s.name.endswith(" batch"))
    (record,) = [s for s in found.of_trace(TRACE_ID) if s.kind is SpanKind.CONSUMER]
    assert record.parent.span_id == publish.context.span_id, "the consumer is a child of the publish span"
    assert record.parent.is_remote and "type" not in segment_of(record), "its own segment"
    assert record.attributes["correlation_id"] == "checkout-5"
    assert [link.context.span_id for link in record.links] == [batch.context.span_id]
    assert TRACE_ID in {link.context.trace_id for link in batch.links}
    inside = [s for s in found if s.parent is not None and s.parent.span_id == record.context.span_id]
    assert {"postgresql UPDATE", "DynamoDB.PutItem", "DynamoDB.UpdateItem"} <= {s.name for s in inside}
    lines = [line for line in logged() if line.get("message") == "event handled"]
    assert [line.get("correlation_id") for line in lines] == ["checkout-5", None]
