"""The invariant audit: reads every service's database and says what does not add up.

    python -m tools.dev.audit [--grace-s 120]     # make audit: against the running make dev

Checks, and what a violation would mean:
- products (``products.audit``): for every product, stock + units held by live
  reservations = initial stock + admin adjustments, and the stock equals its ledger;
- stock vs orders: every held or committed reservation belongs to an order that is
  live (or still reserving, within the grace); every live order holds its reservation;
- money (``payments.audit``): refunds add up to what each payment gave back, none is stuck
  requested, no payment keeps money for a cancelled order; and each order's payment status
  matches what its payments took and gave back;
- outboxes: every committed event older than the grace is published or parked;
- delivery (``since`` given): every event an outbox published since then, older than the
  grace, was applied by every PostgreSQL consumer that subscribes to it (its inbox claim;
  the claim's key makes "once" hold by construction).  The audit trail's consumer keeps no
  state, so it is not checked here.
It prints what it checked and exits non-zero on any violation.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# The services' own audit modules and the shared layer, as the functions import them.
for _folder in (ROOT / "functions", ROOT / "layers" / "shared" / "python"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

LIVE = ("pending", "confirmed", "processing", "shipped", "delivered")
HOLDING = ("held", "committed")
POSTGRES_SERVICES = ("products", "orders", "payments")


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def check(self, what: str, problems: list[str]) -> None:
        self.checked.append(f"{what}: {'ok' if not problems else f'{len(problems)} violation(s)'}")
        self.violations += [f"{what}: {p}" for p in problems]


def databases(server_url: str) -> dict[str, str]:
    """Each PostgreSQL service's own database on a server, as the stacks name them."""
    from agora.migrate import with_database

    return {service: with_database(server_url, f"agora_{service}") for service in POSTGRES_SERVICES}


@contextmanager
def connect(conninfo: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        yield conn


def _rows(conn: Any, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return list(conn.execute(query, params).fetchall())


def stock_against_orders(products: Any, orders: Any, grace_s: int) -> list[str]:
    from products.audit import reservation_states

    held = {order_id: state for order_id, state in reservation_states(products).items() if state in HOLDING}
    states = {
        str(order_id): (status, young)
        for order_id, status, young in _rows(
            orders,
            "SELECT id, status, created_at > now() - make_interval(secs => %s) FROM orders",
            (grace_s,),
        )
    }
    problems = []
    for order_id, state in held.items():
        status, young = states.get(order_id, (None, False))
        if status in LIVE or (status == "reserving" and young):
            continue
        problems.append(f"reservation of order {order_id} is {state} but the order is {status or 'missing'}")
    for order_id, (status, _) in states.items():
        if status in LIVE and order_id not in held:
            problems.append(f"{status} order {order_id} holds no reservation")
    return problems


def outbox_delivered(conn: Any, grace_s: int) -> list[str]:
    rows = _rows(
        conn,
        "SELECT id, type FROM outbox WHERE published_at IS NULL AND parked_at IS NULL "
        "AND created_at < now() - make_interval(secs => %s) ORDER BY created_at LIMIT 20",
        (grace_s,),
    )
    return [
        f"event {event_id} ({event_type}) is neither published nor parked" for event_id, event_type in rows
    ]


# Who must have applied which event: (the publishing service, the event type) -> the consumers'
# inbox names, in their services' databases.
SUBSCRIBERS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("orders", "order.cancelled"): (
        ("products", "products.release_on_cancel"),
        ("payments", "payments.order_cancelled"),
    ),
    **{
        ("payments", event_type): (("orders", "orders.payment_status"),)
        for event_type in ("payment.completed", "payment.failed", "payment.refunded")
    },
}


def events_delivered(conns: dict[str, Any], since: datetime, grace_s: int) -> list[str]:
    """Every event published since ``since`` (and older than the grace) is in each subscriber's inbox."""
    problems = []
    for (publisher, event_type), subscribers in SUBSCRIBERS.items():
        published = [
            str(row[0])
            for row in _rows(
                conns[publisher],
                "SELECT id FROM outbox WHERE type = %s AND published_at IS NOT NULL AND created_at >= %s "
                "AND created_at < now() - make_interval(secs => %s)",
                (event_type, since, grace_s),
            )
        ]
        for service, consumer in subscribers:
            applied = {
                str(row[0])
                for row in _rows(
                    conns[service],
                    "SELECT event_id FROM inbox WHERE consumer = %s AND event_id = ANY(%s::uuid[])",
                    (consumer, published),
                )
            }
            problems += [
                f"{event_type} {event_id} not applied by {consumer}"
                for event_id in published
                if event_id not in applied
            ]
    return problems


def expected_payment_statuses(paid: Decimal, refunded: Decimal) -> set[str]:
    if paid == 0:
        return {"pending", "processing", "failed"}
    if refunded == paid:
        return {"refunded"}
    return {"partially_refunded"} if refunded > 0 else {"completed"}


def payment_status_against_money(
    orders: Any, totals: dict[str, tuple[Decimal, Decimal]], grace_s: int
) -> list[str]:
    """What each order's payments took and gave back, read against the status it shows (once settled)."""
    problems = []
    for order_id, status in _rows(
        orders,
        "SELECT id::text, payment_status FROM orders WHERE updated_at < now() - make_interval(secs => %s)",
        (grace_s,),
    ):
        paid, refunded = totals.get(order_id, (Decimal(0), Decimal(0)))
        if status not in expected_payment_statuses(paid, refunded):
            problems.append(f"order {order_id} shows {status}; payments took {paid}, gave back {refunded}")
    return problems


def audit(
    dbs: dict[str, str],
    grace_s: int = 120,
    hold_s: int = 600,
    reconcile_after_s: int = 120,
    *,
    delivered_since: datetime | None = None,
    delivery_grace_s: int = 10,
) -> Report:
    """``dbs``: service name -> conninfo of its database (see ``databases``)."""
    from payments import audit as payments_audit
    from products.audit import violations

    report = Report()
    with connect(dbs["products"]) as products, connect(dbs["orders"]) as orders:
        report.check(
            "products: stock = ledger, stock + held = initial + adjustments",
            violations(products, hold_s=hold_s),
        )
        report.check(
            "reservations belong to live orders, live orders hold them",
            stock_against_orders(products, orders, grace_s),
        )
    with connect(dbs["payments"]) as payments, connect(dbs["orders"]) as orders:
        report.check(
            "payments: refunds add up, none stuck, no money kept for cancelled orders",
            payments_audit.violations(payments, reconcile_after_s=reconcile_after_s),
        )
        report.check(
            "orders' payment status = what their payments took and gave back",
            payment_status_against_money(orders, payments_audit.order_payment_totals(payments), grace_s),
        )
    for service in POSTGRES_SERVICES:
        with connect(dbs[service]) as conn:
            report.check(f"{service}: outbox published or parked", outbox_delivered(conn, grace_s))
    if delivered_since is not None:
        with ExitStack() as stack:
            conns = {service: stack.enter_context(connect(dbs[service])) for service in POSTGRES_SERVICES}
            report.check(
                "every published event applied by each of its consumers",
                events_delivered(conns, delivered_since, delivery_grace_s),
            )
    return report


def main(argv: list[str] | None = None) -> int:
    from tools.dev.stack import Paths, state_dir

    parser = argparse.ArgumentParser(prog="python -m tools.dev.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--grace-s", type=int, default=120, help="how old an in-flight state may be")
    parser.add_argument("--hold-s", type=int, default=600, help="AGORA_RESERVATION_HOLD_S of the system")
    parser.add_argument("--database-url", help="the PostgreSQL server (default: the running make dev's)")
    parser.add_argument(
        "--delivered-since-h", type=float, default=24, help="check the delivery of events this recent (hours)"
    )
    args = parser.parse_args(argv)
    url = args.database_url
    if url is None:
        env = Paths(state_dir()).dev_env
        if not env.exists():
            print(f"error: no dev system ({env} is missing); start one with 'make dev'", file=sys.stderr)
            return 2
        url = dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line)["DATABASE_URL"]
    since = datetime.now(UTC) - timedelta(hours=args.delivered_since_h)
    report = audit(databases(url), args.grace_s, args.hold_s, delivered_since=since)
    for line in report.checked:
        print(f"checked  {line}")
    for line in report.violations:
        print(f"VIOLATION {line}")
    print(f"audit: {'FAILED' if report.violations else 'passed'} ({len(report.checked)} checks)")
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
