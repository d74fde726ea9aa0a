"""What one warm checkout costs in calls, counted from what a running system (``make dev``) recorded.

    python -m bench.checkout_counts [--tries 3] [--settle-s 90]

Each run is one shopper with one fresh ``X-Request-ID`` on every request: it registers, signs in
and browses (the list, a search, a product), then checks out — ``POST /api/orders``, ``POST
/api/payments``, ``PUT /api/payments/{id}/confirm`` — and goes on with the rest of the load's mix:
reads its order, refunds the payment, places a second order and cancels it.  A first run warms the
functions; the next is counted, and another one (``--tries`` counted runs at most) while a function
of the last started cold.  The checkout's three steps are the report's main table; the other
requests are counted the same way, for docs/capacity.md.

After each part the run waits until every event the flow published has reached each consumer that
subscribes to its type (``agora.operations``), then reads the flow's traces from LocalStack's X-Ray:
found by their ``correlation_id`` annotation through the console's search (``tools.console``), then
read whole with BatchGetTraces, with the consumers' batch invocations they link to.  Every request
starts a trace of its own, so a step is a trace; a consumer's span of an event continues the trace
that published it, so each step is split into the request itself and its events' consumers.

Counted from the spans (``agora.tracing``): Lambda invocations per function (HTTP operations and
internal functions by their invocation spans, consumers by the batch invocations their records link
to), PostgreSQL statements, DynamoDB calls (reads and writes), Redis commands, EventBridge PutEvents
calls and the events they carried, SQS messages consumed, and every other AWS SDK call.  Not traced,
so not counted there: PostgreSQL ``BEGIN``/``COMMIT`` and the liveness check before a connection is
reused, and Secrets Manager reads (Powertools' own client).  For those, every AWS API call LocalStack
logged between the checkout's first request and its last span is counted too, whoever made it: the
checkout starts clear of the minute's scheduled runs (LocalStack fires them together), and the other
traces that began in that window are listed.  Cold starts are read from the flow's log lines
(Powertools' ``cold_start``).

Writes bench/results/checkout_counts.{json,md}.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bench.gateway_latency import ADDRESS, stocked_product
from bench.results_file import footer, header, write
from tools.console import traces
from tools.console.sources import TRACE_BATCH, Sources, chunks
from tools.dev.stack import STAGE, boto

ROOT = Path(__file__).resolve().parent.parent
CHECKOUT = ("POST /api/orders", "POST /api/payments", "PUT /api/payments/{id}/confirm")
REQUEST, EVENTS = "request", "events"
# The shop's other requests, as the counts name them (a second request of a route gets "#2"), and as
# the report shows them.
OTHER_REQUESTS = {
    "POST /api/auth/register": "POST /api/auth/register",
    "POST /api/auth/login": "POST /api/auth/login",
    "GET /api/products": "GET /api/products (a page of 12)",
    "GET /api/products #2": "GET /api/products?search=phone",
    "GET /api/products/{id}": "GET /api/products/{id}",
    "GET /api/orders/{id}": "GET /api/orders/{id}",
    "POST /api/payments/{id}/refund": "POST /api/payments/{id}/refund (the checkout's, in full)",
    "POST /api/orders #2": "POST /api/orders (a second order, unpaid)",
    "POST /api/orders/{id}/cancel": "POST /api/orders/{id}/cancel (that second order)",
}
# Calls LocalStack logs that are the bench's own reading of the traces, not the system's work.
OWN_READS = frozenset({"xray.BatchGetTraces", "xray.GetTraceSummaries", "logs.FilterLogEvents"})
DYNAMODB_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
PUT_EVENTS = "EventBridge.PutEvents"
POLL_S = 1.0
# LocalStack fires every one-minute schedule at once; the checkout's window keeps clear of them.
SCHEDULE_PERIOD_S = 60.0
SCHEDULE_ROOM_S = 8.0
SCHEDULE_BURST_S = 4.0
SETTLE_S = 90.0
TRIES = 3
# A LocalStack request line: "<local time> INFO --- [thread] localstack.request.aws : AWS sqs.X => 200".
AWS_LOG_LINE = re.compile(
    r"^(\S+)\s+\w+\s+---\s+\[[^\]]*\]\s+localstack\.request\.aws\s*:\s+AWS\s+(\S+)\s+=>"
)

# --- counting (pure) -----------------------------------------------------------------------------


def _annotations(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return doc.get("annotations") or {}


def _is_segment(doc: Mapping[str, Any]) -> bool:
    """A span whose parent is in another process: an invocation, or a consumer's span of one event."""
    return doc.get("type") != "subsegment"


def _is_publication(doc: Mapping[str, Any]) -> bool:
    return _annotations(doc).get("messaging_system") == "eventbridge"


def _is_record(doc: Mapping[str, Any]) -> bool:
    """A consumer's span of one SQS message (it names the event; a publication names it too)."""
    return _is_segment(doc) and "event_id" in _annotations(doc) and not _is_publication(doc)


def _function(doc: Mapping[str, Any]) -> str:
    """The declared operation a span ran (``orders.create_order``), else its function's name."""
    operation = _annotations(doc).get("operation")
    if operation:
        return str(operation)
    return str(doc.get("name", "?")).removeprefix(f"agora-{STAGE}-")


def _title(doc: Mapping[str, Any]) -> str:
    """A step's name: the method and route its request served."""
    found = _annotations(doc)
    method, route = found.get("http_request_method"), found.get("http_route")
    if method and route:
        return f"{method} {route}"
    return str(found.get("span_name") or doc.get("name") or "?")


def _duration_ms(doc: Mapping[str, Any]) -> float:
    start, end = doc.get("start_time"), doc.get("end_time")
    return (float(end) - float(start)) * 1000 if start is not None and end is not None else 0.0


def _run_links(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The batch invocations a consumer's span of an event links to: (trace id, span id)."""
    return [
        (str(link["trace_id"]), str(link["id"]))
        for link in doc.get("links") or []
        if (link.get("attributes") or {}).get("agora.link") == "run"
        and link.get("trace_id")
        and link.get("id")
    ]


@dataclass
class Tally:
    """The calls of one part of a step (or of several, added up)."""

    invocations: Counter[str] = field(default_factory=Counter)  # by function
    invocation_ms: Counter[str] = field(default_factory=Counter)  # by function, summed (whole ms)
    statements: Counter[str] = field(default_factory=Counter)  # by "database VERB"
    redis: Counter[str] = field(default_factory=Counter)  # by command
    aws: Counter[str] = field(default_factory=Counter)  # by "Service.Operation"
    events: Counter[str] = field(default_factory=Counter)  # published, by type
    messages: Counter[str] = field(default_factory=Counter)  # consumed, by consumer

    def add(self, other: Tally) -> None:
        for name in ("invocations", "invocation_ms", "statements", "redis", "aws", "events", "messages"):
            getattr(self, name).update(getattr(other, name))

    def dynamodb(self, operations: frozenset[str]) -> int:
        return sum(n for call, n in self.aws.items() if call.removeprefix("DynamoDB.") in operations)

    @property
    def other_aws(self) -> int:
        counted = {f"DynamoDB.{op}" for op in DYNAMODB_READS | DYNAMODB_WRITES} | {PUT_EVENTS}
        return sum(n for call, n in self.aws.items() if call not in counted)

    def figures(self) -> dict[str, int]:
        """The headline numbers, in the report's column order."""
        return {
            "lambda_invocations": self.invocations.total(),
            "postgresql_statements": self.statements.total(),
            "dynamodb_reads": self.dynamodb(DYNAMODB_READS),
            "dynamodb_writes": self.dynamodb(DYNAMODB_WRITES),
            "redis_commands": self.redis.total(),
            "put_events_calls": self.aws[PUT_EVENTS],
            "events_published": self.events.total(),
            "sqs_messages_consumed": self.messages.total(),
            "other_aws_calls": self.other_aws,
        }

    def as_json(self) -> dict[str, Any]:
        detail = {
            name: dict(sorted(getattr(self, name).items()))
            for name in ("invocations", "statements", "redis", "aws", "events", "messages")
        }
        detail["invocation_ms"] = dict(sorted(self.invocation_ms.items()))
        return {**self.figures(), **detail}

    def count_call(self, doc: Mapping[str, Any]) -> None:
        """Count what a span that is no invocation did: a statement, a command, an SDK call, a publication."""
        found = _annotations(doc)
        if found.get("db_system") == "postgresql" or "sql" in doc:
            self.statements[f"{found.get('db_name') or '?'} {found.get('db_operation') or 'SQL'}"] += 1
        elif found.get("db_system") == "redis":
            self.redis[str(found.get("db_operation") or "?")] += 1
        elif found.get("rpc_system") == "aws-api" or doc.get("namespace") == "aws":
            service = found.get("rpc_service") or doc.get("name")
            operation = found.get("rpc_method") or (doc.get("aws") or {}).get("operation")
            self.aws[f"{service}.{operation}"] += 1
        elif _is_publication(doc):
            self.events[str(found.get("event_type") or "?")] += 1


@dataclass
class Counts:
    """Per step (in the order the steps began), per part (the request, its events' consumers)."""

    steps: dict[str, dict[str, Tally]]
    unlinked_batches: int = 0  # batch invocations counted from a link whose own span was not found

    def part(self, step: str, part: str) -> Tally:
        return self.steps.get(step, {}).get(part) or Tally()

    def total(self, steps: Iterable[str], parts: Iterable[str] = (REQUEST, EVENTS)) -> Tally:
        summed = Tally()
        wanted = tuple(parts)
        for step in steps:
            for part in wanted:
                summed.add(self.part(step, part))
        return summed


class _Tree:
    """The documents of some traces, each placed in its step and part."""

    def __init__(self, found: Iterable[Mapping[str, Any]]) -> None:
        self.docs = [doc for trace in found for doc in traces.documents_of(trace)]
        self.by_id = {str(doc.get("id")): doc for doc in self.docs}

    def place(self, doc: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
        """The root of a span's tree and its part: ``events`` when a consumer's span of an event is on
        the way up, else ``request``."""
        part, current, seen = REQUEST, doc, set()
        while True:
            seen.add(id(current))
            if _is_record(current):
                part = EVENTS
            parent = self.by_id.get(str(current.get("parent_id") or ""))
            if parent is None or id(parent) in seen:
                return current, part
            current = parent


def count(found: Iterable[Mapping[str, Any]], batches: Iterable[Mapping[str, Any]] = ()) -> Counts:
    """Count the calls of a flow from its traces (BatchGetTraces ``Traces`` entries) and the traces of
    the consumers' batch invocations its events' spans link to."""
    tree = _Tree(found)
    placed = sorted(
        ((doc, *tree.place(doc)) for doc in tree.docs), key=lambda item: float(item[1].get("start_time") or 0)
    )
    steps: dict[str, dict[str, Tally]] = {}
    names: dict[int, str] = {}
    seen: Counter[str] = Counter()
    for _, root, _ in placed:
        if id(root) not in names:
            # A second request of the same route is a step of its own: "GET /api/products #2".
            title = _title(root)
            seen[title] += 1
            names[id(root)] = title if seen[title] == 1 else f"{title} #{seen[title]}"
            steps[names[id(root)]] = {REQUEST: Tally(), EVENTS: Tally()}
    linked: dict[tuple[str, str], tuple[Tally, str]] = {}
    for doc, root, part in sorted(placed, key=lambda item: float(item[0].get("start_time") or 0)):
        tally = steps[names[id(root)]][part]
        if _is_record(doc):
            tally.messages[_function(doc)] += 1
            for key in _run_links(doc):
                linked.setdefault(key, (tally, _function(doc)))
        elif _is_segment(doc) and not _is_publication(doc):
            tally.invocations[_function(doc)] += 1
            tally.invocation_ms[_function(doc)] += round(_duration_ms(doc))
        else:
            tally.count_call(doc)
    return Counts(steps, unlinked_batches=_count_batches(linked, _Tree(batches)))


def _count_batches(linked: Mapping[tuple[str, str], tuple[Tally, str]], tree: _Tree) -> int:
    """One invocation per batch the flow's events were consumed in (in the part of its first record),
    with what the batch did outside its records; returns how many batch spans were not found."""
    missing = 0
    for (_, span_id), (tally, function) in linked.items():
        tally.invocations[function] += 1
        batch = tree.by_id.get(span_id)
        if batch is None:
            missing += 1
            continue
        tally.invocation_ms[function] += round(_duration_ms(batch))
        for doc in tree.docs:
            if doc is not batch and tree.place(doc)[0] is batch:
                tally.count_call(doc)
    return missing


def undelivered(found: Iterable[Mapping[str, Any]], subscribers: Callable[[str], Iterable[str]]) -> list[str]:
    """Each published event whose consumer (by declaration) has no span of it yet: ``type id -> consumer``."""
    docs = [doc for trace in found for doc in traces.documents_of(trace)]
    delivered = {(str(_annotations(doc).get("event_id")), _function(doc)) for doc in docs if _is_record(doc)}
    missing = []
    for doc in docs:
        if not _is_publication(doc):
            continue
        event_id, event_type = (str(_annotations(doc).get(key)) for key in ("event_id", "event_type"))
        missing += [
            f"{event_type} {event_id} -> {consumer}"
            for consumer in subscribers(event_type)
            if (event_id, consumer) not in delivered
        ]
    return missing


def run_links(found: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    docs = (doc for trace in found for doc in traces.documents_of(trace))
    return {key for doc in docs if _is_record(doc) for key in _run_links(doc)}


def subscribers_of(services: Iterable[Any]) -> Callable[[str], list[str]]:
    """Which declared consumers (``service.id``) an event type reaches."""
    consumers = [consumer for service in services for consumer in service.consumers]

    def of(event_type: str) -> list[str]:
        return [f"{c.service}.{c.id}" for c in consumers if c.all_events or event_type in c.event_types]

    return of


def aws_calls_in_log(lines: Iterable[str], start: float, end: float) -> Counter[str]:
    """The AWS API calls LocalStack logged between two epoch times (its log is in local time)."""
    found: Counter[str] = Counter()
    for line in lines:
        match = AWS_LOG_LINE.match(line)
        if match is None:
            continue
        try:
            at = datetime.fromisoformat(match.group(1)).timestamp()
        except ValueError:
            continue
        if start <= at <= end:
            found[match.group(2)] += 1
    return found


# --- the flow and its records (I/O) --------------------------------------------------------------


class Shopper:
    """One buyer's requests through the gateway, every one carrying the run's correlation id."""

    def __init__(self, url: str, correlation_id: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.headers = {"X-Request-ID": correlation_id}
        self.email = f"counts-{uuid.uuid4().hex[:10]}@example.com"
        self.latency_ms: dict[str, float] = {}

    def call(self, method: str, path: str, step: str, **kw: Any) -> Any:
        started = time.perf_counter()
        answer = self.http.request(method, f"{self.url}{path}", headers=self.headers, timeout=60, **kw)
        self.latency_ms[step] = round((time.perf_counter() - started) * 1000, 1)
        if answer.status_code >= 400:
            raise SystemExit(f"{step}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def sign_up_and_browse(self, product_id: int) -> None:
        account = {"email": self.email, "password": "counts password", "firstName": "Co", "lastName": "Unt"}
        self.call("POST", "/api/auth/register", "POST /api/auth/register", json=account)
        login = {"email": self.email, "password": account["password"]}
        token = self.call("POST", "/api/auth/login", "POST /api/auth/login", json=login)["token"]
        self.headers["Authorization"] = f"Bearer {token}"
        self.call("GET", "/api/products?page=0&size=12", "GET /api/products")
        self.call("GET", "/api/products?search=phone", "GET /api/products?search")
        self.call("GET", f"/api/products/{product_id}", "GET /api/products/{id}")

    def order(self, product_id: int, step: str) -> dict[str, Any]:
        body = {
            "items": [{"product_id": product_id, "quantity": 1}],
            "shipping_address": ADDRESS,
            "customer_info": {"first_name": "Co", "last_name": "Unt", "email": self.email},
        }
        return dict(self.call("POST", "/api/orders", step, json=body))

    def checkout(self, product_id: int) -> tuple[str, str]:
        """The order and its payment, confirmed."""
        order = self.order(product_id, CHECKOUT[0])
        body = {"order_id": order["id"], "amount": order["total_amount"], "method": "card", "provider": "sim"}
        payment = self.call("POST", "/api/payments", CHECKOUT[1], json=body)["payment"]
        path = f"/api/payments/{payment['id']}/confirm"
        self.call("PUT", path, CHECKOUT[2], json={"provider_transaction_id": "counts"})
        return str(order["id"]), str(payment["id"])

    def after_checkout(self, order_id: str, payment_id: str, product_id: int) -> None:
        """The rest of the load's mix: read the order, refund the payment, cancel a second order."""
        self.call("GET", f"/api/orders/{order_id}", "GET /api/orders/{id}")
        refund = f"/api/payments/{payment_id}/refund"
        self.call("POST", refund, "POST /api/payments/{id}/refund", json={"reason": "counts"})
        second = self.order(product_id, "POST /api/orders #2")
        self.call("POST", f"/api/orders/{second['id']}/cancel", "POST /api/orders/{id}/cancel", json={})


class Recorded:
    """What the system recorded of a correlation id: its traces, found as the console finds them."""

    def __init__(self, sources: Sources, subscribers: Callable[[str], Iterable[str]]) -> None:
        self.sources = sources
        self.subscribers = subscribers

    def fetch(self, trace_ids: Iterable[str]) -> list[dict[str, Any]]:
        xray = self.sources.client("xray")
        found: list[dict[str, Any]] = []
        for batch in chunks(sorted(set(trace_ids)), TRACE_BATCH):
            found += xray.batch_get_traces(TraceIds=batch)["Traces"]
        return found

    def traces(self, correlation_id: str, since: float) -> list[dict[str, Any]]:
        window = int(time.time() - since) + 60
        matched = self.sources.search_traces(window, "", "", f"correlation_id={correlation_id}", 1000)
        return self.fetch(t["id"] for t in matched["traces"])

    def settled(
        self, correlation_id: str, since: float, steps: Sequence[str], timeout_s: float
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The flow's traces and its batches' once every step is there, every event reached its
        consumers and two reads a second apart find the same spans."""
        deadline = time.monotonic() + timeout_s
        last = -1
        while True:
            found = self.traces(correlation_id, since)
            batches = self.fetch(t for t, _ in run_links(found))
            counts = count(found, batches)
            missing = [f"no trace of {s}" for s in steps if s not in counts.steps]
            missing += undelivered(found, self.subscribers)
            size = sum(len(t.get("Segments", [])) for t in [*found, *batches])
            if not missing and size == last:
                return found, batches
            last = -1 if missing else size
            if time.monotonic() > deadline:
                raise SystemExit(f"{correlation_id}: not settled after {timeout_s:.0f} s: {missing[:5]}")
            time.sleep(POLL_S)

    def cold_starts(self, correlation_id: str, since: float) -> list[str]:
        """The functions whose log lines of this flow say they started cold."""
        window = int(time.time() - since) + 60
        rows = self.sources.logs(correlation_id, window, 0)["events"]
        return sorted({r["function"] for r in rows if (r.get("fields") or {}).get("cold_start") is True})

    def away_from_schedules(self, scheduled: set[str], room_s: float = SCHEDULE_ROOM_S) -> None:
        """Wait, if need be, so that the next ``room_s`` seconds hold none of the runs LocalStack's
        one-minute schedules (relays, sweeps) start together; they would share the checkout's window."""
        trees = self.sources.spans(self.sources.trace_ids(150))
        starts = [roots[0].start for roots in trees.values() if roots and roots[0].name in scheduled]
        if not starts:
            return
        now = time.time()
        next_run = max(starts) + SCHEDULE_PERIOD_S * math.ceil((now - max(starts)) / SCHEDULE_PERIOD_S)
        if next_run - now < room_s:
            time.sleep(next_run - now + SCHEDULE_BURST_S)

    def other_work(self, start: float, end: float, flow_ids: set[str]) -> list[str]:
        """What else began while the checkout ran: the titles of other traces that started in the window."""
        window = int(time.time() - start) + 60
        ids = [i for i in self.sources.trace_ids(window) if i not in flow_ids]
        trees = self.sources.spans(ids)
        return sorted(
            traces.title_of(roots[0]) for roots in trees.values() if roots and start <= roots[0].start <= end
        )


@dataclass
class Run:
    correlation_id: str
    found: list[dict[str, Any]]
    batches: list[dict[str, Any]]
    cold_starts: list[str]
    latency_ms: dict[str, float]
    window: tuple[float, float]
    window_calls: Counter[str]
    window_other_traces: list[str]


class LocalStackLog:
    """LocalStack's own log of the AWS API calls it served, read from where a run began."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def calls(self, start: float, end: float) -> Counter[str]:
        if not self.path.exists():
            return Counter()
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        return aws_calls_in_log(text.splitlines(), start, end)


def scheduled_functions(services: Iterable[Any]) -> set[str]:
    """The function names of every declared schedule (relays, sweeps), as their spans are named."""
    return {
        f"agora-{STAGE}-{fn.function_name_suffix}"
        for service in services
        for fn in service.functions
        if getattr(fn, "schedule_minutes", None)
    }


def one_run(
    url: str, product_id: int, recorded: Recorded, log: LocalStackLog, settle_s: float, scheduled: set[str]
) -> Run:
    correlation_id = f"checkout-counts-{uuid.uuid4().hex}"
    shopper = Shopper(url, correlation_id)
    since = time.time() - 1
    shopper.sign_up_and_browse(product_id)
    # The sign-up's events reach their consumers before the checkout's window opens.
    recorded.settled(correlation_id, since, ["POST /api/auth/register"], settle_s)
    recorded.away_from_schedules(scheduled)
    log.mark()
    start = time.time()
    order_id, payment_id = shopper.checkout(product_id)
    found, batches = recorded.settled(correlation_id, since, CHECKOUT, settle_s)
    checkout = [t for t in found if _title_of_trace(t) in CHECKOUT]
    linked = {trace_id for trace_id, _ in run_links(checkout)}
    end = max(
        float(doc.get("end_time") or 0)
        for trace in [*checkout, *(b for b in batches if str(b["Id"]) in linked)]
        for doc in traces.documents_of(trace)
    )
    window_calls = log.calls(start, end + 0.2)
    others = recorded.other_work(start, end, {str(t["Id"]) for t in [*found, *batches]})
    shopper.after_checkout(order_id, payment_id, product_id)
    found, batches = recorded.settled(correlation_id, since, [*CHECKOUT, *OTHER_REQUESTS], settle_s)
    return Run(
        correlation_id,
        found,
        batches,
        recorded.cold_starts(correlation_id, since),
        shopper.latency_ms,
        (start, end),
        window_calls,
        others,
    )


def _title_of_trace(trace: Mapping[str, Any]) -> str:
    docs = traces.documents_of(trace)
    ids = {str(doc.get("id")) for doc in docs}
    roots = [doc for doc in docs if str(doc.get("parent_id") or "") not in ids]
    return _title(min(roots, key=lambda d: float(d.get("start_time") or 0))) if roots else "?"


def source_state() -> dict[str, Any]:
    """The commit the functions ran from, and which of their files differed from it (they run from the
    working tree)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout

    changed = git("status", "--porcelain", "--", "functions", "layers").splitlines()
    return {"commit": git("rev-parse", "HEAD").strip(), "uncommitted": [line[3:] for line in changed]}


# --- the report ----------------------------------------------------------------------------------

COLUMNS = [
    "step",
    "part",
    "Lambda invocations",
    "PostgreSQL statements",
    "DynamoDB reads",
    "DynamoDB writes",
    "Redis commands",
    "PutEvents calls",
    "events published",
    "SQS messages consumed",
    "other AWS calls",
]


def _row(step: str, part: str, tally: Tally) -> list[Any]:
    return [step, part, *tally.figures().values()]


def checkout_rows(counts: Counts) -> list[list[Any]]:
    rows = [_row(step, part, counts.part(step, part)) for step in CHECKOUT for part in (REQUEST, EVENTS)]
    rows.append(_row("**checkout**", REQUEST, counts.total(CHECKOUT, [REQUEST])))
    rows.append(_row("**checkout**", EVENTS, counts.total(CHECKOUT, [EVENTS])))
    rows.append(_row("**checkout**", "**all**", counts.total(CHECKOUT)))
    return rows


def _table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    return [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|",
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
    ]


def _by_step(counts: Counts, pick: Callable[[Tally], Counter[str]], label: str) -> list[str]:
    per_step = [pick(counts.total([step])) for step in CHECKOUT]
    total = pick(counts.total(CHECKOUT))
    rows = [[key, *(c[key] for c in per_step), total[key]] for key in sorted(total)]
    return _table([label, *CHECKOUT, "checkout"], rows)


def _cold(runs: list[list[str]]) -> str:
    return "; ".join(f"run {i + 1}: {', '.join(fns) or 'none'}" for i, fns in enumerate(runs))


def notes(run: Run, counts: Counts, cold: list[list[str]], source: Mapping[str, Any]) -> list[str]:
    total = counts.total(CHECKOUT)
    durations = [
        [fn, total.invocations[fn], round(total.invocation_ms[fn]), round(total.invocation_ms[fn] / n)]
        for fn, n in sorted(total.invocations.items())
    ]
    others = [_row(label, "request + events", counts.total([step])) for step, label in OTHER_REQUESTS.items()]
    window = sorted((call, n) for call, n in run.window_calls.items() if call not in OWN_READS)
    return [
        f"Correlation id `{run.correlation_id}`, the run counted after {len(cold) - 1} before it "
        f"(the first to warm the functions; cold then: {_cold(cold[:-1])}). "
        f"Cold starts in the counted run: **{', '.join(run.cold_starts) or 'none'}**. "
        f"The functions ran from the working tree at {str(source['commit'])[:10]}"
        + (f" (uncommitted: {', '.join(source['uncommitted'])})." if source["uncommitted"] else "."),
        "",
        "Lambda invocations of the checkout per function, and the time their invocation spans took on "
        "this machine. A consumer's invocation is a batch: one batch may carry events of several steps, "
        "and counts once, in the step of its first event.",
        "",
        *_table(["function", "invocations", "ms (sum)", "ms (mean)"], durations),
        "",
        "PostgreSQL statements by database and verb (each also has BEGIN and COMMIT per transaction and a "
        "liveness check per unit of work, none traced):",
        "",
        *_by_step(counts, lambda t: t.statements, "statement"),
        "",
        "Redis commands, AWS SDK calls (traced), events published and messages consumed:",
        "",
        *_by_step(counts, lambda t: Counter({f"redis {k}": v for k, v in t.redis.items()}), "command"),
        "",
        *_by_step(counts, lambda t: t.aws, "AWS call"),
        "",
        *_by_step(counts, lambda t: t.events, "event published"),
        "",
        *_by_step(counts, lambda t: t.messages, "message consumed by"),
        "",
        "Every AWS API call LocalStack logged during the checkout "
        f"({run.window[1] - run.window[0]:.1f} s from its first request to its last span; any caller, the "
        "tracing's own PutTraceSegments included, this bench's reads of X-Ray and the logs left out; "
        f"other traces begun in the window: {', '.join(run.window_other_traces) or 'none'}):",
        "",
        *_table(["AWS API call", "count"], window),
        "",
        "The shop's other requests in the same run, one each (request and its events together):",
        "",
        *_table(COLUMNS, others),
    ]


def report_json(run: Run, counts: Counts, cold: list[list[str]], source: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "correlation_id": run.correlation_id,
        "runs_before": len(cold) - 1,
        "cold_starts": run.cold_starts,
        "cold_starts_in_runs_before": cold[:-1],
        "latency_ms": run.latency_ms,
        "checkout": counts.total(CHECKOUT).as_json(),
        "steps": {
            step: {part: counts.part(step, part).as_json() for part in (REQUEST, EVENTS)}
            for step in [*CHECKOUT, *OTHER_REQUESTS]
        },
        "other_request_labels": OTHER_REQUESTS,
        "batch_spans_not_found": counts.unlinked_batches,
        "localstack_log_window": {
            "seconds": round(run.window[1] - run.window[0], 2),
            "calls": {call: n for call, n in sorted(run.window_calls.items()) if call not in OWN_READS},
            "other_traces": run.window_other_traces,
        },
        "source": source,
    }


def main(argv: list[str] | None = None) -> int:
    from agora.operations import load_all
    from tools.console.__main__ import catalog

    parser = argparse.ArgumentParser(prog="python -m bench.checkout_counts")
    parser.add_argument("--tries", type=int, default=TRIES, help="counted runs at most (while one is cold)")
    parser.add_argument("--settle-s", type=float, default=SETTLE_S, help="how long to wait for the events")
    args = parser.parse_args(argv)
    state = Path(os.environ.get("AGORA_LOCAL_DIR", ROOT / ".local")).resolve()
    url = os.environ.get("AGORA_API_URL") or (state / "api-url").read_text().strip()
    started = time.perf_counter()
    report = header()
    recorded = Recorded(Sources(state, STAGE, catalog(), boto), subscribers_of(load_all()))
    log = LocalStackLog(state / "localstack" / "localstack.log")
    product_id = stocked_product(requests.Session(), url, state, units=4 * (args.tries + 1))
    scheduled = scheduled_functions(load_all())
    warm_up = one_run(url, product_id, recorded, log, args.settle_s, scheduled)
    cold: list[list[str]] = [warm_up.cold_starts]
    while True:
        run = one_run(url, product_id, recorded, log, args.settle_s, scheduled)
        cold.append(run.cold_starts)
        if not run.cold_starts or len(cold) > args.tries:
            break
    counts = count(run.found, run.batches)
    source = source_state()
    report |= {"target": url, **report_json(run, counts, cold, source), **footer(started)}
    total = counts.total(CHECKOUT).figures()
    print(
        write(
            "checkout_counts",
            report,
            "Calls per checkout (warm), counted from the traces of one checkout through API Gateway on "
            f"LocalStack: {total['lambda_invocations']} Lambda invocations, "
            f"{total['postgresql_statements']} PostgreSQL statements, {total['events_published']} events",
            COLUMNS,
            checkout_rows(counts),
            notes(run, counts, cold, source),
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
