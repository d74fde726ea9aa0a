"""One checkout and its payment, through the gateway, are one trace in X-Ray and one story in the logs.

The client starts the trace and names the checkout: every request it makes for it carries the same
``X-Amzn-Trace-Id`` (a trace of its own, as any X-Ray-aware client sends) and the same
``X-Request-ID``.  The functions continue that trace across internal calls and events, and log and
annotate everything under that request id (see ``agora.tracing``).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from tests.e2e.conftest import eventually, function_name, log_group
from tests.e2e.test_order_flow import ADDRESS, CUSTOMER, auth, new_product, register

# Every function a checkout and its payment reach, as (service, function id).
REACHED = (
    ("orders", "create_order"),
    ("products", "reserve_stock"),
    ("payments", "create_payment"),
    ("payments", "confirm_payment"),
    ("orders", "payment_events"),
)
# Where the request id must be found in the logs.
LOGGED = (
    ("orders", "create_order"),
    ("products", "reserve_stock"),
    ("payments", "create_payment"),
    ("payments", "confirm_payment"),
    ("orders", "payment_events"),
)


def checkout(api_url, http, admin_headers, headers: dict[str, str]) -> dict[str, Any]:
    """Register, place an order and pay it (create and confirm), each request with ``headers``."""
    product = new_product(api_url, http, admin_headers, 25, 5)
    buyer = register(api_url, http)
    body = {
        "user_id": buyer["user"]["id"],
        "items": [{"product_id": product["id"], "quantity": 1}],
        "shipping_address": ADDRESS,
        "customer_info": CUSTOMER,
    }
    placed = http.post(f"{api_url}/api/orders", json=body, headers=auth(buyer) | headers, timeout=60)
    assert placed.status_code == 201, placed.text
    assert placed.headers["X-Request-ID"] == headers["X-Request-ID"]
    order = placed.json()
    payment = {
        "order_id": order["id"],
        "amount": order["total_amount"],
        "method": "card",
        "provider": "stripe",
    }
    paid = http.post(f"{api_url}/api/payments", json=payment, headers=auth(buyer) | headers, timeout=60)
    assert paid.status_code == 201, paid.text
    confirmed = http.put(
        f"{api_url}/api/payments/{paid.json()['payment']['id']}/confirm",
        json={"provider_transaction_id": "txn_traced"},
        headers=auth(buyer) | headers,
        timeout=60,
    )
    assert confirmed.status_code == 200, confirmed.text
    return order


def test_a_checkout_and_its_payment_are_one_trace_and_one_story_in_the_logs(
    api_url, http, admin_headers, aws
):
    request_id = f"checkout-{uuid.uuid4().hex[:12]}"
    trace_id = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    client_span = os.urandom(8).hex()
    headers = {
        "X-Request-ID": request_id,
        "X-Amzn-Trace-Id": f"Root={trace_id};Parent={client_span};Sampled=1",
    }
    started = time.time()
    checkout(api_url, http, admin_headers, headers)

    xray = aws("xray")
    wanted = {function_name(service, function_id) for service, function_id in REACHED}

    def the_whole_trace() -> list[dict[str, Any]] | None:
        summaries = xray.get_trace_summaries(StartTime=started - 120, EndTime=time.time() + 60)
        if trace_id not in {s["Id"] for s in summaries["TraceSummaries"]}:
            return None
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        documents = [json.loads(s["Document"]) for t in traces for s in t["Segments"]]
        segments = {d["name"] for d in documents if d.get("type") != "subsegment"}
        return documents if wanted <= segments else None

    documents = eventually(the_whole_trace, timeout_s=120, every_s=2)
    assert {d["trace_id"] for d in documents} == {trace_id}
    by_id = {d["id"]: d for d in documents}
    segments = [d for d in documents if d.get("type") != "subsegment"]

    # Nested as they ran: the first request's segment under the client's span, every other segment
    # and subsegment under a (sub)segment of this trace.
    for document in documents:
        parent = document.get("parent_id")
        assert parent == client_span or parent in by_id, f"{document['name']} has no parent in the trace"

    def segment_of(service: str, function_id: str) -> list[dict[str, Any]]:
        return [s for s in segments if s["name"] == function_name(service, function_id)]

    (placed,) = [s for s in segment_of("orders", "create_order") if s["parent_id"] == client_span]
    for reserved in segment_of("products", "reserve_stock"):
        call = by_id[reserved["parent_id"]]
        assert call["name"] == "products.reserve_stock" and call["type"] == "subsegment"
        assert _segment_holding(call, by_id)["id"] == placed["id"], (
            "the reservation is a call of the checkout"
        )

    consumed = segment_of("orders", "payment_events")
    assert consumed, "the orders payment-event consumer continued the payment's trace"
    publishers = {_segment_holding(by_id[c["parent_id"]], by_id)["name"] for c in consumed}
    # Published right after the confirmation's commit, or by the relay if that attempt failed.
    assert publishers <= {
        function_name("payments", "confirm_payment"),
        function_name("payments", "outbox_relay"),
    }

    # One correlation id on every function's segment.
    for segment in segments:
        assert segment.get("annotations", {}).get("correlation_id") == request_id, segment["name"]

    logs = aws("logs")

    def lines_of(service: str, function_id: str) -> list[dict[str, Any]]:
        return logs.filter_log_events(
            logGroupName=log_group(service, function_id),
            startTime=int(started * 1000) - 5000,
            filterPattern=f'"{request_id}"',
        )["events"]

    for service, function_id in LOGGED:
        found = eventually(lambda s=service, f=function_id: lines_of(s, f), timeout_s=60, every_s=2)
        messages = [json.loads(e["message"]) for e in found if e["message"].lstrip().startswith("{")]
        assert any(m.get("correlation_id") == request_id for m in messages), (service, function_id)


def _segment_holding(document: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The segment a (sub)segment belongs to: up through its parents to the first that is no subsegment."""
    while document.get("type") == "subsegment":
        document = by_id[document["parent_id"]]
    return document
