"""Least privilege and abuse resistance on the deployed system: throttled logins, card data nowhere,
events only from their owners, a database role per service."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from tests.e2e.conftest import eventually, function_name
from tests.e2e.test_order_flow import auth, new_product, place, register

CARD = "4242424242424242"


def test_wrong_passwords_in_a_row_are_slowed_down_and_say_nothing_of_the_account(api_url, http):
    account = register(api_url, http)
    login = f"{api_url}/api/auth/login"

    def attempts(email: str) -> list[tuple[int, str]]:
        answers = [
            http.post(login, json={"email": email, "password": "wrong password"}, timeout=30)
            for _ in range(7)
        ]
        return [(a.status_code, a.json()["code"]) for a in answers]

    known = attempts(account["user"]["email"])
    # Right after the failures, even the right password waits: the backoff holds the account.
    right = {"email": account["user"]["email"], "password": "password123"}
    slowed = http.post(login, json=right, timeout=30)
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1
    unknown = attempts(f"nobody-{uuid.uuid4().hex[:8]}@example.com")
    assert known == unknown, "an unknown email is answered exactly like a known one"
    assert known[:5] == [(401, "INVALID_CREDENTIALS")] * 5
    assert known[6] == (429, "RATE_LIMITED")


def test_card_numbers_are_stored_nowhere(api_url, http, admin_headers, dev_env):
    buyer = register(api_url, http)
    product = new_product(api_url, http, admin_headers, 15, 3)
    order = place(api_url, http, buyer, product["id"]).json()
    metadata = {"gift": [{"note": "card 4242 4242 4242 4242"}], "raw": int(CARD), "card_number": CARD}
    body = {
        "order_id": order["id"],
        "amount": order["total_amount"],
        "method": "card",
        "provider": "stripe",
        "metadata": metadata,
        "description": f"paid with {CARD}",
    }
    created = http.post(f"{api_url}/api/payments", json=body, headers=auth(buyer), timeout=60)
    assert created.status_code == 201, created.text
    assert created.json()["payment"]["card_last4"] == "4242"
    assert CARD not in created.text
    from agora.migrate import with_database

    with psycopg.connect(with_database(dev_env["DATABASE_URL"], "agora_payments")) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            text = " ".join(str(row) for row in conn.execute(f'SELECT * FROM "{table}"'))
            assert CARD not in text.replace(" ", "").replace("-", ""), table


def test_an_event_from_a_service_that_does_not_own_it_changes_nothing(api_url, http, admin_headers, aws):
    product = new_product(api_url, http, admin_headers, 12, 4)
    buyer = register(api_url, http)
    forged_for = place(api_url, http, buyer, product["id"], 2).json()
    genuine_for = place(api_url, http, buyer, product["id"], 1).json()

    def cancelled(order, source):
        envelope = {
            "id": str(uuid.uuid4()),
            "type": "order.cancelled",
            "version": 1,
            "source": source,
            "occurred_at": "2026-11-24T12:00:00.000Z",
            "data": {
                "order_id": order["id"],
                "user_id": order["user_id"],
                "reason": "x",
                "payment_status": "pending",
            },
        }
        return {
            "EventBusName": "agora",
            "Source": source,
            "DetailType": "order.cancelled",
            "Detail": json.dumps(envelope),
        }

    events = aws("events")
    events.put_events(Entries=[cancelled(forged_for, "agora.users")])
    events.put_events(Entries=[cancelled(genuine_for, "agora.orders")])

    def stock() -> int:
        return int(http.get(f"{api_url}/api/products/{product['id']}", timeout=30).json()["stockQuantity"])

    # The genuine one gives its unit back; the forged one, sent first, nothing.
    eventually(lambda: stock() == 2, timeout_s=30)
    forged = http.get(f"{api_url}/api/orders/{forged_for['id']}", headers=auth(buyer), timeout=30).json()
    assert forged["status"] == "pending"
    # The order the genuine event named is cancelled for real, so the books agree again.
    cancel = f"{api_url}/api/orders/{genuine_for['id']}/cancel"
    cleaned = http.post(cancel, json={}, headers=auth(buyer), timeout=60)
    assert cleaned.status_code == 200, cleaned.text


@pytest.mark.parametrize(("own", "other"), [("products", "orders"), ("orders", "payments")])
def test_each_service_connects_with_a_role_of_its_own_database_only(aws, dev_env, own, other):
    config = aws("lambda").get_function_configuration(FunctionName=function_name(own, "health"))
    arn = config["Environment"]["Variables"].get("AGORA_DATABASE_SECRET_ARN")
    if arn is None:  # health needs no database: take any function of the service that has one
        arn = aws("lambda").get_function_configuration(FunctionName=function_name(own, "readiness"))[
            "Environment"
        ]["Variables"]["AGORA_DATABASE_SECRET_ARN"]
    secret = json.loads(aws("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    assert secret["username"] not in ("postgres", "root")

    def connect(database: str) -> None:
        with psycopg.connect(
            host=secret["host"],
            port=secret["port"],
            user=secret["username"],
            password=secret["password"],
            dbname=database,
            connect_timeout=5,
        ) as conn:
            conn.execute("SELECT count(*) FROM outbox")

    connect(f"agora_{own}")
    with pytest.raises(psycopg.Error):
        connect(f"agora_{other}")


def test_with_the_denylist_unreachable_changes_are_refused_and_reads_still_answer(api_url, http):
    import os
    from pathlib import Path

    from tools.dev import backing

    account = register(api_url, http)
    me = f"{api_url}/api/users/{account['user']['id']}"
    state = Path(os.environ.get("AGORA_LOCAL_DIR", ".local")).resolve()
    if not backing.stop_redis(state):
        pytest.skip("this system's Redis is not the embedded one make dev started: it is not ours to stop")
    try:
        change = http.put(me, json={"firstName": "Changed"}, headers=auth(account), timeout=60)
        assert (change.status_code, change.json()["code"]) == (503, "AUTH_UNAVAILABLE")
        read = http.get(f"{api_url}/api/users/me", headers=auth(account), timeout=60)
        assert read.status_code == 200
    finally:
        backing.ensure_redis(state)

    def changes_again() -> bool:
        answer = http.put(me, json={"firstName": "Back"}, headers=auth(account), timeout=60)
        return answer.status_code == 200

    eventually(changes_again, timeout_s=30)
