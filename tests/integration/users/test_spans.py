"""The users service's DynamoDB calls (pynamodb) are spans, and its outbox keeps each event's trace."""

from __future__ import annotations

import json
import uuid

import pytest

from agora import tracing
from agora.errors import Conflict
from agora.events import EventPublisher, PublishFailed
from agora.tracing import segment_of
from users.handlers import relay_outbox
from users.service import accounts

CLIENT_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_ID = 0x5759E988BD862E3FE1BE46A994272793


def email() -> str:
    return f"user-{uuid.uuid4().hex[:8]}@example.com"


@pytest.fixture(autouse=True)
def no_lambda_trace(monkeypatch):
    monkeypatch.delenv(tracing.LAMBDA_TRACE_ENV, raising=False)


def test_every_dynamodb_call_of_the_users_tables_is_a_span(users_ctx, spans):
    address = email()
    with tracing.invocation_span("POST /api/auth/register") as served:
        session = accounts.register(users_ctx, address, "password 123", "Ada", "L")
        users_ctx.users.get(session.user.id)
        with pytest.raises(Conflict):
            accounts.register(users_ctx, address, "password 123", "Ada", "L")
    calls = spans().starting("DynamoDB.")
    names = [c.name for c in calls]
    assert {"DynamoDB.TransactWriteItems", "DynamoDB.GetItem", "DynamoDB.DeleteItem"} <= set(names)
    assert all(c.context.trace_id == served.get_span_context().trace_id for c in calls)
    refused = [c for c in calls if c.name == "DynamoDB.TransactWriteItems"][-1]
    assert refused.attributes["problem.code"] == "CONFLICT", "the email's claim refused the second account"
    assert segment_of(refused)["error"] is True and segment_of(refused)["fault"] is False


class Bus:
    def __init__(self) -> None:
        self.entries: list[dict] = []

    def put_events(self, Entries):
        self.entries.extend(Entries)
        return {"Entries": [{"EventId": "e"} for _ in Entries]}


def test_the_relay_keeps_the_trace_of_the_request_that_wrote_the_event(
    users_ctx, spans, monkeypatch, lambda_context
):
    class DownBus:
        def publish(self, events):
            raise PublishFailed([(e.id, "EventBridge unreachable") for e in events])

    users_ctx.outbox.publisher = DownBus()
    with tracing.invocation_span("POST /api/auth/register", {"X-Amzn-Trace-Id": CLIENT_HEADER}) as served:
        accounts.register(users_ctx, email(), "password 123", "Ada", "L")

    bus = Bus()
    monkeypatch.setattr(relay_outbox, "EventPublisher", lambda name: EventPublisher(name, client=bus))
    assert relay_outbox.handler({"source": "aws.events"}, lambda_context) == {"published": 1}
    found = spans()
    run = found.named("users.relay_outbox")
    assert run.parent is None and run.context.trace_id != TRACE_ID, "each run is a trace of its own"
    publish = found.named("publish user.created")
    assert publish.context.trace_id == TRACE_ID
    assert publish.parent.span_id == served.get_span_context().span_id
    assert [link.context.span_id for link in publish.links] == [run.context.span_id]
    (entry,) = bus.entries
    assert json.loads(entry["Detail"])["trace"] == entry["TraceHeader"]
    assert entry["TraceHeader"].startswith("Root=1-5759e988-bd862e3fe1be46a994272793;")
