"""Request latency through the API Gateway of a running system (``make dev``).

    python -m bench.gateway_latency [--requests 200]

Warms each route, then times sequential requests from one client: the public
health route, an authenticated profile read (JWT check, denylist lookup, cache
read), and a checkout (``POST /api/orders``: the intent, the reservation through
the products service, the order and its event).  Writes
bench/results/gateway_latency.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.results_file import header, write

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADDRESS = {"street": "1 Main St", "city": "NYC", "state": "NY", "postal_code": "10001", "country": "US"}


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(call: Callable[[], requests.Response], count: int) -> dict[str, float]:
    for _ in range(5):
        call().raise_for_status()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call().raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 95), 1),
        "max_ms": round(max(samples), 1),
    }


def stocked_product(http: requests.Session, url: str, state: Path, units: int) -> int:
    """A product with enough stock for every timed checkout, made by the dev admin."""
    admin = json.loads((state / "admin.json").read_text())
    login = http.post(f"{url}/api/auth/login", json=admin, timeout=30)
    login.raise_for_status()
    created = http.post(
        f"{url}/api/products",
        json={
            "name": f"Bench {uuid.uuid4().hex[:6]}",
            "description": "checkout latency",
            "price": 10,
            "category": "Bench",
            "stockQuantity": units,
            "sku": f"BENCH-{uuid.uuid4().hex[:10]}",
        },
        headers={"Authorization": f"Bearer {login.json()['token']}"},
        timeout=30,
    )
    created.raise_for_status()
    return int(created.json()["id"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    state = Path(os.environ.get("AGORA_LOCAL_DIR", ROOT / ".local"))
    url = os.environ.get("AGORA_API_URL") or (state / "api-url").read_text().strip()
    http = requests.Session()
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    registered = http.post(
        f"{url}/api/auth/register",
        json={"email": email, "password": "bench password", "firstName": "Bench", "lastName": "Mark"},
        timeout=30,
    )
    registered.raise_for_status()
    auth = {"Authorization": f"Bearer {registered.json()['token']}"}
    product_id = stocked_product(http, url, state, units=args.requests + 10)
    order: dict[str, Any] = {
        "items": [{"product_id": product_id, "quantity": 1}],
        "shipping_address": ADDRESS,
        "customer_info": {"first_name": "Bench", "last_name": "Mark", "email": email},
    }
    routes = {
        "GET /api/users/health": lambda: http.get(f"{url}/api/users/health", timeout=30),
        "GET /api/users/me": lambda: http.get(f"{url}/api/users/me", headers=auth, timeout=30),
        "POST /api/orders": lambda: http.post(f"{url}/api/orders", json=order, headers=auth, timeout=60),
    }
    rows = [{"route": name, **timed(call, args.requests)} for name, call in routes.items()]
    report = {**header(), "requests": args.requests, "target": url, "routes": rows}
    table = write(
        "gateway_latency",
        report,
        f"Warm latency through API Gateway on LocalStack, {args.requests} sequential requests per route",
        ["route", "median ms", "p95 ms", "max ms"],
        [[r["route"], r["median_ms"], r["p95_ms"], r["max_ms"]] for r in rows],
    )
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
