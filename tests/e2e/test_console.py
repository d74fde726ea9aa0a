"""The local console (``python -m tools.console``) in a real headless Chromium, against the deployed
system: the page loads without a script error, shows the stacks' dashboards with graphs that have
points, the alarms with their states, a checkout this module makes in the trace search and its
waterfall, the service map, the checkout's log lines by correlation id, and the dead-letter queues.

Chromium is Debian's (``tools.console.browser.ensure_chromium`` installs it with apt-get when it is
missing and the run is root, as in CI); playwright-core drives it and downloads nothing.  Set
``AGORA_CONSOLE_SCREENSHOT=docs/console.png`` to keep the waterfall's screenshot.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from agora.operations import load_all
from tests.e2e.conftest import STAGE, eventually
from tests.e2e.test_order_flow import ADDRESS, CUSTOMER, auth, new_product, register
from tools.console import browser

ROOT = Path(__file__).resolve().parents[2]
READY = "document.querySelector('main').dataset.state === 'ready'"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def chromium() -> Path:
    try:
        return browser.ensure_chromium()
    except browser.ChromiumUnavailable as exc:
        pytest.skip(f"no headless Chromium: {exc}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def console() -> Iterator[str]:
    """``python -m tools.console`` on a free port, reading the system this suite runs against."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.console", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the console exited: {process.stdout.read() if process.stdout else ''}")
        try:
            return requests.get(f"{url}/api/info", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        eventually(answers, timeout_s=30, every_s=0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def read(console: str, path: str, **params: Any) -> Any:
    """What the page fetches: the console's JSON."""
    response = requests.get(f"{console}/api/{path}", params=params, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def visit(console: str, page: str, *steps: dict[str, Any]) -> dict[str, Any]:
    """Open ``#<page>`` in a fresh headless Chromium, wait until the view is ready, run ``steps``;
    fail on any script error, console error or failed load."""
    report = browser.drive([{"goto": f"{console}/#{page}"}, {"wait": READY, "timeout": 120000}, *steps])
    assert report["error"] is None, f"{report['error']}\n{report['results'].get('__html', '')[:3000]}"
    assert browser.errors(report) == []
    results: dict[str, Any] = report["results"]
    return results


@dataclass(frozen=True)
class Checkout:
    correlation: str
    order: dict[str, Any]
    payment: dict[str, Any]
    missing_order_correlation: str
    started: float


@pytest.fixture(scope="module")
def checkout(api_url: str, http: requests.Session, admin_headers: dict[str, str]) -> Checkout:
    """Register, create a product as admin, place an order, pay it and confirm the payment — every
    step of the order under one X-Request-ID — and ask for an order that does not exist (a 404)."""
    started = time.time()
    product = new_product(api_url, http, admin_headers, 12, 5)
    account = register(api_url, http)
    correlation = f"console-{uuid.uuid4().hex[:12]}"
    headers = auth(account) | {"X-Request-ID": correlation}
    body = {
        "user_id": account["user"]["id"],
        "items": [{"product_id": product["id"], "quantity": 1}],
        "shipping_address": ADDRESS,
        "customer_info": CUSTOMER,
    }
    placed = http.post(f"{api_url}/api/orders", json=body, headers=headers, timeout=60)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    paid = http.post(
        f"{api_url}/api/payments",
        json={
            "order_id": order["id"],
            "amount": order["total_amount"],
            "method": "card",
            "provider": "stripe",
        },
        headers=headers,
        timeout=60,
    )
    assert paid.status_code == 201, paid.text
    payment = paid.json()["payment"]
    confirmed = http.put(
        f"{api_url}/api/payments/{payment['id']}/confirm",
        json={"provider_transaction_id": f"txn_{correlation}"},
        headers=headers,
        timeout=60,
    )
    assert confirmed.status_code == 200, confirmed.text
    missing = f"console-404-{uuid.uuid4().hex[:12]}"
    gone = http.get(
        f"{api_url}/api/orders/{uuid.uuid4()}", headers=auth(account) | {"X-Request-ID": missing}, timeout=30
    )
    assert gone.status_code == 404
    return Checkout(correlation, order, payment, missing, started)


def find_trace(console: str, correlation: str, route: str, started: float) -> dict[str, Any] | None:
    """The trace of one request of this module: by its correlation id where spans carry it, else the
    newest trace of its route that began after the request was made."""
    correlated = [t for t in read(console, "traces", q=correlation)["traces"] if t["title"] == route]
    if correlated:
        return correlated[0]
    by_route = read(console, "traces", q=route)["traces"]
    return next((t for t in by_route if t["title"] == route and t["start"] >= started - 1), None)


# --- the page and the dashboards -----------------------------------------------------------------


def test_the_console_loads_and_lists_the_dashboards_the_stacks_define(console, chromium, aws):
    found = visit(
        console,
        "/dashboards",
        {
            "eval": "[...document.querySelectorAll('#dashboard-list a')].map(a => a.dataset.name)",
            "as": "names",
        },
        {"eval": "document.getElementById('info').textContent", "as": "info"},
    )
    defined = {"agora-overview", *(f"agora-{service.name}" for service in load_all())}
    assert defined <= set(found["names"])
    assert found["names"][0] == "agora-overview"
    deployed = {d["DashboardName"] for d in aws("cloudwatch").list_dashboards()["DashboardEntries"]}
    assert set(found["names"]) == deployed
    assert "LocalStack http://127.0.0.1:" in found["info"]


def test_a_dashboard_renders_every_widget_and_its_graphs_have_points(console, chromium, aws, tmp_path):
    # LocalStack reports SQS's queue metrics every minute: the DLQ depth graph has points from then on.
    def graphed() -> bool:
        layout = read(console, "dashboards/agora-orders")["widgets"]
        return any(
            read(console, f"dashboards/agora-orders/widgets/{w['index']}")["series"][0]["points"]
            for w in layout
            if w["title"].startswith("DLQ depth")
        )

    eventually(graphed, timeout_s=180, every_s=5)
    shot = tmp_path / "dashboard.png"
    found = visit(
        console,
        "/dashboards/agora-orders",
        {
            "eval": "[...document.querySelectorAll('.widget')].map(w => ({"
            "title: w.querySelector('h3').textContent, state: w.dataset.state, points: +w.dataset.points,"
            " canvases: w.querySelectorAll('canvas').length}))",
            "as": "widgets",
        },
        {"screenshot": str(shot)},
    )
    body = json.loads(aws("cloudwatch").get_dashboard(DashboardName="agora-orders")["DashboardBody"])
    widgets = found["widgets"]
    assert len(widgets) == len(body["widgets"])
    assert [w for w in widgets if w["state"] != "loaded"] == []
    drawn = [w for w in widgets if w["points"] and w["canvases"]]
    assert any(w["title"].startswith("DLQ depth") for w in drawn), widgets
    assert shot.read_bytes().startswith(PNG)


def test_the_business_graphs_have_points_once_agora_metrics_exist(console, checkout, aws):
    published = aws("cloudwatch").list_metrics(Namespace="Agora", MetricName="OrdersPlaced")["Metrics"]
    layout = read(console, "dashboards/agora-overview")["widgets"]
    placed = next(w for w in layout if w["title"] == "OrdersPlaced")
    widget = read(console, f"dashboards/agora-overview/widgets/{placed['index']}")
    if not published:
        # Until EMF lines become CloudWatch metrics on LocalStack (issue 16), the widget is empty;
        # it must still render without an error.  Said out loud, not skipped.
        import warnings

        warnings.warn(
            "no Agora metrics on LocalStack yet: the OrdersPlaced graph cannot have points", stacklevel=1
        )
        assert "error" not in widget
        return

    # The checkout placed an order: its OrdersPlaced datum reaches the overview's graph.
    def has_points() -> dict[str, Any] | None:
        found = read(console, f"dashboards/agora-overview/widgets/{placed['index']}")
        return found if any(s["points"] for s in found["series"]) else None

    try:
        eventually(has_points, timeout_s=120, every_s=5)
    except pytest.fail.Exception:
        pytest.fail(f"the overview's OrdersPlaced graph has no points; the console says: {widget['notes']}")


# --- alarms --------------------------------------------------------------------------------------


def test_the_alarms_table_lists_every_alarm_with_its_state(console, chromium, aws):
    found = visit(
        console,
        "/alarms",
        {
            "eval": "[...document.querySelectorAll('#alarms-table tbody tr')]"
            ".map(r => [r.dataset.name, r.dataset.state])",
            "as": "rows",
        },
    )
    alarms = [
        a
        for page in aws("cloudwatch").get_paginator("describe_alarms").paginate()
        for a in page["MetricAlarms"]
    ]
    assert {name for name, _ in found["rows"]} == {a["AlarmName"] for a in alarms}
    assert {state for _, state in found["rows"]} <= {"OK", "ALARM", "INSUFFICIENT_DATA"}
    assert len(found["rows"]) >= 20


# --- traces --------------------------------------------------------------------------------------


def test_the_checkout_appears_in_the_trace_search_and_its_waterfall_shows_its_segments(
    console, chromium, checkout, tmp_path
):
    trace = eventually(
        lambda: find_trace(console, checkout.correlation, "POST /api/orders", checkout.started), timeout_s=60
    )
    correlated = trace["annotations"].get("correlation_id") == checkout.correlation
    query = checkout.correlation if correlated else "POST /api/orders"
    shot = tmp_path / "waterfall.png"
    found = visit(
        console,
        f"/traces?q={urllib.parse.quote(query)}",
        {
            "eval": "[...document.querySelectorAll('#traces-table tbody tr')].map(r => r.dataset.traceId)",
            "as": "listed",
        },
        {"click": f"#traces-table tr[data-trace-id='{trace['id']}']"},
        {
            "wait": f"location.hash === '#/traces/{trace['id']}' && {READY}"
            " && !!document.getElementById('waterfall')"
        },
        {
            "eval": "[...document.querySelectorAll('#waterfall .span-row:not(.head)')].map(r => ({"
            "service: r.dataset.service, status: r.dataset.status, depth: +r.dataset.depth,"
            " name: r.querySelector('.name > div').textContent,"
            " annotations: (r.querySelector('.ann') || {}).textContent || ''}))",
            "as": "rows",
        },
        {"eval": "document.getElementById('trace-id').textContent", "as": "shown"},
        {"screenshot": str(shot)},
    )
    assert trace["id"] in found["listed"]
    assert found["shown"] == trace["id"]
    rows = found["rows"]
    assert rows and rows[0]["depth"] == 0 and rows[0]["service"] == "orders"
    assert "http_route=/api/orders" in " ".join(r["annotations"] for r in rows)
    assert shot.read_bytes().startswith(PNG)
    if keep := os.environ.get("AGORA_CONSOLE_SCREENSHOT"):
        shutil.copyfile(shot, ROOT / keep)

    services = {r["service"] for r in rows}
    # Cross-service tracing (issue 16, in progress elsewhere): once a trace holds spans of more than the
    # function that served the request, the order's trace must include the products reservation it
    # invoked, and the checkout's traces — one per request, tied by the correlation id — orders,
    # products and payments.  Before that lands a trace is the orders segment alone (asserted above).
    if len(services) > 1:
        assert {"orders", "products"} <= services, services
        checkout_traces = read(console, "traces", q=checkout.correlation)["traces"]
        assert {"orders", "products", "payments"} <= {s for t in checkout_traces for s in t["services"]}


def test_an_error_is_highlighted_in_the_waterfall(console, chromium, checkout):
    route = "GET /api/orders/{id}"
    trace = eventually(
        lambda: find_trace(console, checkout.missing_order_correlation, route, checkout.started), timeout_s=60
    )
    assert trace["status"] == "error"
    found = visit(
        console,
        f"/traces/{trace['id']}",
        {
            "eval": "document.querySelector('#waterfall .span-row[data-depth=\"0\"]').dataset.status",
            "as": "root",
        },
        {"eval": "document.querySelectorAll('#waterfall .bar.error').length", "as": "bars"},
    )
    assert found["root"] == "error"
    assert found["bars"] >= 1


def test_the_service_map_shows_the_services_the_checkout_went_through(console, chromium, checkout):
    trace = eventually(
        lambda: find_trace(console, checkout.correlation, "POST /api/orders", checkout.started), timeout_s=60
    )
    found = visit(
        console,
        "/map",
        {
            "eval": "[...document.querySelectorAll('#service-map .node')].map(n => n.dataset.service)",
            "as": "nodes",
        },
        {
            "eval": "[...document.querySelectorAll('#service-map .edge-group')]"
            ".map(e => e.dataset.source + '>' + e.dataset.target)",
            "as": "edges",
        },
    )
    assert {"client", "orders"} <= set(found["nodes"])
    assert "client>orders" in found["edges"]
    if "products" in trace["services"]:  # cross-service tracing is in (see the waterfall test)
        assert "orders>products" in found["edges"]


# --- logs and dead-letter queues -----------------------------------------------------------------


def test_logs_by_correlation_id_tell_the_checkouts_story(console, chromium, checkout):
    def lines() -> list[Any] | None:
        events = read(console, "logs", q=checkout.correlation)["events"]
        return events if any(e["function"] == "audit-record-event" for e in events) else None

    eventually(lines, timeout_s=60)
    found = visit(
        console,
        f"/logs?q={checkout.correlation}",
        {
            "eval": "[...document.querySelectorAll('#logs-table tbody tr')].map(r => [r.dataset.function,"
            " r.dataset.correlationId])",
            "as": "rows",
        },
    )
    functions = {function for function, _ in found["rows"]}
    # The audit trail logs each domain event of the order under the request's correlation id.
    assert "audit-record-event" in functions
    assert {correlation for _, correlation in found["rows"]} == {checkout.correlation}
    # Correlation in every log line (issue 16): once the functions that served the checkout log
    # under its id, each service of the checkout is in the story.
    if "orders-create-order" in functions:
        assert {f.split("-", 1)[0] for f in functions} >= {"orders", "products", "payments"}


def test_the_dead_letter_queues_are_listed_with_their_depth(console, chromium, aws):
    found = visit(
        console,
        "/dlqs",
        {
            "eval": "[...document.querySelectorAll('#dlq-table tbody tr')]"
            ".map(r => [r.dataset.name, r.dataset.depth])",
            "as": "rows",
        },
    )
    urls = aws("sqs").list_queues(QueueNamePrefix=f"agora-{STAGE}-").get("QueueUrls", [])
    dlqs = {u.rsplit("/", 1)[-1] for u in urls if u.endswith("-dlq")}
    assert {name for name, _ in found["rows"]} == dlqs
    assert len(dlqs) >= 4
    assert all(depth.isdigit() for _, depth in found["rows"])
