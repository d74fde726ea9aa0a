"""A shop-shaped load on the local API, for Locust: mostly browsing, some buying, a few cancels and refunds.

Started by ``python -m tools.load.run`` (``make load``), which passes the API URL as
the host and, in ``AGORA_LOAD_PRODUCT_ID``, a product stocked for the whole run.
A response is a failure when it is a 5xx, or a 4xx the step did not expect; its
failure message is ``<status> <code>`` so the report counts errors by both.
"""

from __future__ import annotations

import os
import random
import uuid
from typing import Any

from locust import HttpUser, between, task

PRODUCT_ID = int(os.environ.get("AGORA_LOAD_PRODUCT_ID", "1"))
# Which page or product a shopper looks at, not a secret: a seeded generator keeps runs comparable.
pick = random.Random(20261124)  # noqa: S311
SEARCHES = ("phone", "shoe", "lamp", "book", "pro", "a")
ADDRESS = {"street": "1 Main St", "city": "NYC", "state": "NY", "postal_code": "10001", "country": "US"}


def _code(response: Any) -> str:
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return ""


class Shopper(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.email = f"load-{uuid.uuid4().hex[:12]}@example.com"
        self.password = "load test password"
        self.registered = False
        self.headers: dict[str, str] = {}
        self._sign_in()

    def _sign_in(self) -> bool:
        """Register (or, once registered, log in) until it works, as a client would after a failure."""
        if self.headers:
            return True
        body = {"email": self.email, "password": self.password}
        if self.registered:
            # 401: the register that failed had not created the account after all; register again.
            answer = self._call("POST", "/api/auth/login", "POST /api/auth/login", json=body, expect=(401,))
            self.registered = bool(answer and answer.get("token"))
        else:
            answer = self._call(
                "POST",
                "/api/auth/register",
                "register",
                json={**body, "firstName": "Lo", "lastName": "Ad"},
                expect=(409,),
            )
            # Whatever the answer, the account may exist now (a register that timed out may have
            # created it; 409 says it does): the next attempt logs in.
            self.registered = True
        if answer and answer.get("token"):
            self.headers = {"Authorization": f"Bearer {answer['token']}"}
        return bool(self.headers)

    def _call(self, method: str, path: str, name: str, expect: tuple[int, ...] = (), **kw: Any) -> Any:
        with self.client.request(method, path, name=name, catch_response=True, **kw) as response:
            if response.status_code < 400 or response.status_code in expect:
                response.success()
                return response.json() if response.content else {}
            response.failure(f"{response.status_code} {_code(response)}")
            return None

    # Browsing and searching: 70 % of the weight.
    @task(30)
    def browse(self) -> None:
        self._call("GET", f"/api/products?page={pick.randint(0, 2)}&size=12", "GET /api/products")

    @task(20)
    def product(self) -> None:
        self._call("GET", f"/api/products/{pick.randint(1, 32)}", "GET /api/products/{id}", expect=(404,))

    @task(20)
    def search(self) -> None:
        self._call("GET", f"/api/products?search={pick.choice(SEARCHES)}", "GET /api/products?search")

    # Accounts: 5 %.
    @task(5)
    def login(self) -> None:
        if not self._sign_in():
            return
        body = {"email": self.email, "password": self.password}
        self._call("POST", "/api/auth/login", "POST /api/auth/login", json=body)

    # Buying: 25 %.
    def _order(self) -> Any:
        if not self._sign_in():
            return None
        body = {
            "items": [{"product_id": PRODUCT_ID, "quantity": 1}],
            "shipping_address": ADDRESS,
            "customer_info": {"first_name": "Lo", "last_name": "Ad", "email": self.email},
        }
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        return self._call("POST", "/api/orders", "POST /api/orders", json=body, headers=headers)

    def _paid(self, order: Any) -> Any:
        body = {"order_id": order["id"], "amount": order["total_amount"], "method": "card", "provider": "sim"}
        created = self._call("POST", "/api/payments", "POST /api/payments", json=body, headers=self.headers)
        if not created:
            return None
        payment = created["payment"]
        self._call(
            "PUT",
            f"/api/payments/{payment['id']}/confirm",
            "PUT /api/payments/{id}/confirm",
            json={"provider_transaction_id": "load"},
            headers=self.headers,
        )
        return payment

    @task(15)
    def checkout(self) -> None:
        order = self._order()
        if order:
            self._paid(order)
            self._call("GET", f"/api/orders/{order['id']}", "GET /api/orders/{id}", headers=self.headers)

    @task(5)
    def cancel(self) -> None:
        order = self._order()
        if order:
            path = f"/api/orders/{order['id']}/cancel"
            self._call("POST", path, "POST /api/orders/{id}/cancel", json={}, headers=self.headers)

    @task(5)
    def refund(self) -> None:
        order = self._order()
        payment = self._paid(order) if order else None
        if payment:
            path = f"/api/payments/{payment['id']}/refund"
            self._call("POST", path, "POST /api/payments/{id}/refund", json={}, headers=self.headers)
