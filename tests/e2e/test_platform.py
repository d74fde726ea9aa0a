"""Platform paths inside the deployed stack: migrations on deploy, outbox -> EventBridge -> SQS ->
consumer, and Cloud Map lookups from inside a function."""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from psycopg.types.json import Jsonb

from agora.events import Envelope
from agora.migrate import with_database
from tests.e2e.conftest import eventually, function_name, log_group


def invoke(aws, name: str, payload: dict | None = None) -> dict:
    answer = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode())
    body = json.loads(answer["Payload"].read() or b"null")
    assert "FunctionError" not in answer, body
    return body


@pytest.mark.parametrize("service", ["users", "products", "orders", "payments"])
def test_readiness_finds_every_dependency_and_its_own_cloud_map_entry(aws, api_url, service):
    report = invoke(aws, function_name(service, "readiness"))
    assert report["ready"] is True, report
    discovery = report["checks"]["discovery"]
    assert discovery["instance"] == f"{service}-1"
    assert discovery["attributes"]["base_url"].endswith(f"/api/{service}")
    assert discovery["attributes"]["fn_readiness"] == function_name(service, "readiness")
    expected = {"event_bus", "discovery", "cache"} | ({"users_table"} if service == "users" else {"database"})
    assert set(report["checks"]) == expected


def test_deploy_applied_the_migrations(dev_env):
    url = with_database(dev_env["DATABASE_URL"], "agora_products")
    with psycopg.connect(url) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    assert "agora:0001_outbox.sql" in names


def test_an_outbox_event_reaches_its_sqs_fed_consumer(aws, dev_env):
    envelope = Envelope.new("products", "product.created", {"product_id": "e2e", "name": "E2E probe"})
    url = with_database(dev_env["DATABASE_URL"], "agora_products")
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO outbox (id, type, envelope) VALUES (%s, %s, %s)",
            (envelope.id, envelope.type, Jsonb(envelope.model_dump(mode="json"))),
        )
    started = time.time()
    relayed = invoke(aws, function_name("products", "outbox_relay"))
    assert relayed["published"] >= 1

    logs = aws("logs")
    group = log_group("audit", "record_event")

    def consumer_logged_it():
        events = logs.filter_log_events(
            logGroupName=group, startTime=int(started * 1000) - 5000, filterPattern=f'"{envelope.id}"'
        )["events"]
        return [e for e in events if envelope.id in e["message"]]

    found = eventually(consumer_logged_it, timeout_s=60, every_s=1)
    record = json.loads(found[0]["message"])
    assert record["event_type"] == "product.created"
    assert record["event_source"] == "agora.products"

    with psycopg.connect(url) as conn:
        published = conn.execute("SELECT published_at FROM outbox WHERE id = %s", (envelope.id,)).fetchone()
    assert published is not None and published[0] is not None
