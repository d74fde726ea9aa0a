"""What a client reads right after a change, through the gateway of a running system (``make dev``).

    python -m bench.consistency [--orders 10]

For each of N orders: place, pay, confirm, then read the order at once
(read-your-writes: the payment must already show), then cancel it and poll the
order until the refund that the payments service makes on hearing
``order.cancelled`` shows (an event hop: outbox → EventBridge → SQS → consumer).
Writes bench/results/consistency.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from bench.gateway_latency import ADDRESS, percentile
from bench.results_file import footer, header, write

ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.02
GIVE_UP_S = 60.0


class Shop:
    def __init__(self, url: str, state: Path) -> None:
        self.url = url
        self.http = requests.Session()
        admin = json.loads((state / "admin.json").read_text())
        self.admin = self._token(self.call("POST", "/api/auth/login", json=admin))
        account = self.call(
            "POST",
            "/api/auth/register",
            json={
                "email": f"consistency-{uuid.uuid4().hex[:8]}@example.com",
                "password": "consistency bench",
                "firstName": "Con",
                "lastName": "Sistent",
            },
        )
        self.buyer = self._token(account)

    @staticmethod
    def _token(answer: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {answer['token']}"}

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        answer = self.http.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kw)
        answer.raise_for_status()
        return answer.json()

    def product(self, stock: int) -> int:
        body = {
            "name": f"Consistency {uuid.uuid4().hex[:6]}",
            "description": "bench",
            "price": 10,
            "category": "Bench",
            "stockQuantity": stock,
            "brand": "Agora",
            "sku": f"CB-{uuid.uuid4().hex[:10]}",
        }
        return int(self.call("POST", "/api/products", self.admin, json=body)["id"])

    def paid_order(self, product_id: int) -> dict[str, Any]:
        order = self.call(
            "POST",
            "/api/orders",
            self.buyer,
            json={
                "items": [{"product_id": product_id, "quantity": 1}],
                "shipping_address": ADDRESS,
                "customer_info": {"first_name": "Con", "last_name": "Sistent", "email": "c@example.com"},
            },
        )
        payment = self.call(
            "POST",
            "/api/payments",
            self.buyer,
            json={
                "order_id": order["id"],
                "amount": order["total_amount"],
                "method": "card",
                "provider": "sim",
            },
        )["payment"]
        self.call(
            "PUT", f"/api/payments/{payment['id']}/confirm", self.buyer, json={"provider_transaction_id": "b"}
        )
        return order

    def order(self, order_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/orders/{order_id}", self.buyer))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.consistency")
    parser.add_argument("--orders", type=int, default=10)
    args = parser.parse_args(argv)
    state = Path(os.environ.get("AGORA_LOCAL_DIR", ROOT / ".local"))
    url = os.environ.get("AGORA_API_URL") or (state / "api-url").read_text().strip()
    started = time.perf_counter()
    report = header()
    shop = Shop(url, state)
    product_id = shop.product(args.orders + 5)
    immediate, lags = 0, []
    for _ in range(args.orders):
        order = shop.paid_order(product_id)
        if shop.order(order["id"])["payment_status"] == "completed":
            immediate += 1
        shop.call("POST", f"/api/orders/{order['id']}/cancel", shop.buyer, json={"reason": "bench"})
        cancelled_at = time.perf_counter()
        while shop.order(order["id"])["payment_status"] != "refunded":
            if time.perf_counter() - cancelled_at > GIVE_UP_S:
                raise SystemExit(f"order {order['id']}: no refund after {GIVE_UP_S:.0f}s")
            time.sleep(POLL_S)
        lags.append((time.perf_counter() - cancelled_at) * 1000)
    rows = [
        ["order after confirm (read-your-writes)", f"{immediate}/{args.orders} on the first read", "", ""],
        [
            "refund on the order after cancel (one event hop)",
            f"{round(statistics.median(lags))} ms median",
            f"{round(percentile(lags, 95))} ms",
            f"{round(min(lags))} to {round(max(lags))} ms",
        ],
    ]
    report |= {
        "orders": args.orders,
        "target": url,
        "read_your_writes": {"immediate": immediate, "of": args.orders},
        "refund_after_cancel_ms": [round(x, 1) for x in lags],
        **footer(started),
    }
    print(
        write(
            "consistency",
            report,
            f"What the next read shows, {args.orders} orders through API Gateway on LocalStack "
            f"(polling every {POLL_S * 1000:.0f} ms)",
            ["read", "result", "p95", "range"],
            rows,
        )
    )
    return 0 if immediate == args.orders else 1


if __name__ == "__main__":
    raise SystemExit(main())
