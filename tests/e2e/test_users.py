"""The users service through API Gateway on the deployed stack."""

from __future__ import annotations

import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import eventually, log_group


def new_email() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}@example.com"


def register(api_url: str, email: str, password: str = "e2e password 1") -> requests.Response:
    body = {"email": email, "password": password, "firstName": "Eve", "lastName": "Tester"}
    return requests.post(f"{api_url}/api/auth/register", json=body, timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def account(api_url):
    response = register(api_url, new_email())
    assert response.status_code == 201, response.text
    return response.json()


def test_the_session_lifecycle(api_url, http):
    email = new_email()
    created = register(api_url, email)
    assert created.status_code == 201
    assert created.json()["user"]["email"] == email

    login = http.post(
        f"{api_url}/api/auth/login", json={"email": email.upper(), "password": "e2e password 1"}, timeout=30
    )
    assert login.status_code == 200
    session = login.json()
    me = http.get(f"{api_url}/api/users/me", headers=bearer(session["token"]), timeout=30)
    assert me.status_code == 200
    assert me.json()["email"] == email

    rotated = http.post(
        f"{api_url}/api/auth/refresh", json={"refreshToken": session["refreshToken"]}, timeout=30
    )
    assert rotated.status_code == 200
    replay = http.post(
        f"{api_url}/api/auth/refresh", json={"refreshToken": session["refreshToken"]}, timeout=30
    )
    assert replay.status_code == 401
    assert replay.json()["code"] == "REFRESH_TOKEN_REUSED"

    token = rotated.json()["token"]
    assert http.post(f"{api_url}/api/auth/logout", headers=bearer(token), timeout=30).status_code == 200
    after = http.get(f"{api_url}/api/users/me", headers=bearer(token), timeout=30)
    assert after.status_code == 401
    assert after.json()["code"] == "TOKEN_REVOKED"


def test_wrong_email_and_wrong_password_get_the_same_answer(api_url, http, account):
    answers = [
        http.post(f"{api_url}/api/auth/login", json={"email": email, "password": password}, timeout=30)
        for email, password in [
            (new_email(), "e2e password 1"),
            (account["user"]["email"], "not the password"),
        ]
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json() == answers[1].json()


def test_ten_parallel_registrations_of_one_email_make_one_user(api_url):
    email = new_email()
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(r.status_code for r in pool.map(lambda _: register(api_url, email), range(10)))
    assert statuses == [201] + [409] * 9


def test_one_user_can_neither_read_nor_change_nor_delete_another(api_url, http, account):
    other = register(api_url, new_email()).json()
    url = f"{api_url}/api/users/{other['user']['id']}"
    headers = bearer(account["token"])
    answers = [
        http.get(url, headers=headers, timeout=30),
        http.put(url, json={"firstName": "Mallory"}, headers=headers, timeout=30),
        http.delete(url, headers=headers, timeout=30),
    ]
    for answer in answers:
        assert answer.status_code in (403, 404)
        assert other["user"]["email"] not in answer.text
    mine = http.get(url, headers=bearer(other["token"]), timeout=30).json()
    assert mine["firstName"] == "Eve"


def test_bad_input_is_a_4xx_problem(api_url, http):
    bad = [
        http.post(
            f"{api_url}/api/auth/register",
            data=b"{oops",
            headers={"Content-Type": "application/json"},
            timeout=30,
        ),
        http.post(f"{api_url}/api/auth/register", json={"email": new_email()}, timeout=30),
        http.post(
            f"{api_url}/api/auth/register",
            json={"email": "x", "password": "p" * 20, "firstName": "a", "lastName": "b"},
            timeout=30,
        ),
    ]
    for answer in bad:
        assert 400 <= answer.status_code < 500
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        assert answer.json()["code"]


def test_an_admin_can_list_users(api_url, http, account):
    admin = json.loads((Path(os.environ.get("AGORA_LOCAL_DIR", ".local")) / "admin.json").read_text())
    login = http.post(f"{api_url}/api/auth/login", json=admin, timeout=30)
    assert login.status_code == 200, login.text
    listing = http.get(
        f"{api_url}/api/users",
        params={"email": account["user"]["email"]},
        headers=bearer(login.json()["token"]),
        timeout=30,
    )
    assert listing.status_code == 200
    body = listing.json()
    assert set(body) == {"users", "total", "page", "pages"}
    assert [u["id"] for u in body["users"]] == [account["user"]["id"]]
    denied = http.get(f"{api_url}/api/users", headers=bearer(account["token"]), timeout=30)
    assert denied.status_code == 403


def test_registration_reaches_the_event_consumer(api_url, aws, account):
    logs = aws("logs")
    group = log_group("audit", "record_event")
    started = int(time.time() * 1000) - 60_000

    def consumer_saw_it():
        events = logs.filter_log_events(
            logGroupName=group, startTime=started, filterPattern=f'"{account["user"]["id"]}"'
        )["events"]
        records = [json.loads(e["message"]) for e in events if account["user"]["id"] in e["message"]]
        return [r for r in records if r.get("event_type") == "user.created"]

    assert eventually(consumer_saw_it, timeout_s=60, every_s=1)


def test_the_public_keys_are_published_and_verify_a_fresh_token(api_url, http):
    import jwt

    answer = http.get(f"{api_url}/api/auth/.well-known/jwks.json", timeout=30)
    assert answer.status_code == 200
    assert "max-age=300" in answer.headers["cache-control"]
    keys = answer.json()["keys"]
    assert keys and all(k["kty"] == "EC" and k["crv"] == "P-256" and "d" not in k for k in keys)
    email = f"jwks-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": "password123", "firstName": "J", "lastName": "K"}
    token = http.post(f"{api_url}/api/auth/register", json=body, timeout=30).json()["token"]
    kid = jwt.get_unverified_header(token)["kid"]
    (key,) = [k for k in keys if k["kid"] == kid]
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["ES256"])
    assert claims["email"] == email
