"""The drill's own shopper: the same few requests in a loop, each answer kept with its time.

Locust carries the load; the prober is what the drill reads to say, for one fault, which
answers came while it lasted, how fast the failures were, and when each operation worked again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

ADDRESS = {"street": "1 Main St", "city": "NYC", "state": "NY", "postal_code": "10001", "country": "US"}
PAUSE_S = 0.2


@dataclass(frozen=True)
class Sample:
    at: float
    op: str
    status: int  # 0: no answer (the connection failed or timed out)
    code: str
    seconds: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


@dataclass
class Window:
    """What the prober saw between two instants."""

    samples: list[Sample] = field(default_factory=list)

    def errors(self) -> Counter[tuple[int, str]]:
        return Counter((s.status, s.code) for s in self.samples if not s.ok)

    def failure_seconds(self) -> list[float]:
        return sorted(s.seconds for s in self.samples if not s.ok)

    def slowest_failure(self) -> Sample | None:
        return max((s for s in self.samples if not s.ok), key=lambda s: s.seconds, default=None)


class Prober:
    """Runs in a thread until ``stop()``; ``samples`` grows as answers come."""

    def __init__(self, url: str, product_id: int) -> None:
        self.url = url
        self.product_id = product_id
        self.http = requests.Session()
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._loop, name="chaos-prober", daemon=True)
        self.headers: dict[str, str] = {}
        self.email = f"chaos-{uuid.uuid4().hex[:12]}@example.com"

    def start(self) -> None:
        answer = self.http.post(
            f"{self.url}/api/auth/register",
            json={
                "email": self.email,
                "password": "chaos drill password",
                "firstName": "Ch",
                "lastName": "Aos",
            },
            timeout=30,
        )
        answer.raise_for_status()
        self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}
        self._thread.start()

    def pause(self) -> None:
        """Stop asking after the current round (while the drill lets the system settle)."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        self._thread.join(timeout=60)

    def between(self, start: float, end: float) -> Window:
        return Window([s for s in list(self.samples) if start <= s.at < end])

    def after(self, instant: float, ops: Iterable[str] | None = None) -> dict[str, Sample]:
        """Each operation's first answer after ``instant``."""
        firsts: dict[str, Sample] = {}
        for sample in list(self.samples):
            if sample.at >= instant and sample.op not in firsts:
                firsts[sample.op] = sample
        return {op: firsts[op] for op in (ops or firsts) if op in firsts}

    def recovered_at(self, instant: float) -> float | None:
        """When every operation had answered well again after ``instant`` (None: not yet)."""
        latest = 0.0
        for op in OPERATIONS:
            good = [s.at + s.seconds for s in list(self.samples) if s.op == op and s.at >= instant and s.ok]
            if not good:
                return None
            latest = max(latest, min(good))
        return latest

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._running.wait()
            for op, step in self._steps():
                if self._stop.is_set():
                    return
                if (sample := self._timed(op, step)) is not None:
                    self.samples.append(sample)
            self._stop.wait(PAUSE_S)

    def _steps(self) -> list[tuple[str, Callable[[], requests.Response | None]]]:
        placed: dict[str, Any] = {}

        def checkout() -> requests.Response:
            body: dict[str, Any] = {
                "items": [{"product_id": self.product_id, "quantity": 1}],
                "shipping_address": ADDRESS,
                "customer_info": {"first_name": "Ch", "last_name": "Aos", "email": self.email},
            }
            headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
            answer = self.http.post(f"{self.url}/api/orders", json=body, headers=headers, timeout=30)
            if answer.status_code == 201:
                placed["id"] = answer.json()["id"]
            return answer

        def cancel() -> requests.Response | None:
            if (order := placed.get("id")) is None:
                return None  # nothing was placed in this round
            return self.http.post(
                f"{self.url}/api/orders/{order}/cancel", json={}, headers=self.headers, timeout=30
            )

        get = self.http.get
        return [
            ("GET /api/products", lambda: get(f"{self.url}/api/products?size=5", timeout=30)),
            ("GET /api/products/{id}", lambda: get(f"{self.url}/api/products/{self.product_id}", timeout=30)),
            ("GET /api/users/me", lambda: get(f"{self.url}/api/users/me", headers=self.headers, timeout=30)),
            ("GET /api/orders", lambda: get(f"{self.url}/api/orders", headers=self.headers, timeout=30)),
            ("POST /api/orders", checkout),
            ("POST /api/orders/{id}/cancel", cancel),
        ]

    @staticmethod
    def _timed(op: str, step: Callable[[], requests.Response | None]) -> Sample | None:
        started = time.monotonic()
        try:
            answer = step()
        except requests.RequestException as exc:
            return Sample(started, op, 0, type(exc).__name__, time.monotonic() - started)
        if answer is None:
            return None
        seconds = time.monotonic() - started
        try:
            code = str(answer.json().get("code", "")) if answer.status_code >= 400 else ""
        except ValueError:
            code = ""
        return Sample(started, op, answer.status_code, code, seconds)


OPERATIONS = (
    "GET /api/products",
    "GET /api/products/{id}",
    "GET /api/users/me",
    "GET /api/orders",
    "POST /api/orders",
    "POST /api/orders/{id}/cancel",
)
