"""Property-based fuzzing of the published HTTP contract (``openapi/agora.json``) with Schemathesis.

Every operation of the document is called with generated requests: valid ones (positive mode) and
ones the document forbids (negative mode).  Secured operations are called once as a user and once as
an admin (an admin-only operation answers a user 403 ``ADMIN_ONLY``, which the document lists); public
ones without a token, since a token changes nothing for them.  Each answer must pass Schemathesis'
checks: no 5xx, a documented status, content type, body and headers, and an invalid request a 4xx.

Random ids mostly reach 404s, so the fuzzer first makes objects of its own (a user, a second one whose
only use is to log in afresh, two accounts to delete, two products, an order and its payment) and also
generates requests naming them.  What would end the fuzzer's own session is kept apart: each logout
uses a session logged in for it, and only the accounts made to be deleted are ever named in a DELETE.
A generated request never writes a product the fuzzer did not make, and whatever the run made is
removed at the end, so that it can run against a long-lived ``make dev``.

Shared by the e2e pass (``tests/e2e/test_contract_fuzz.py``: a fixed seed and budget) and
``make fuzz`` (``tools/dev/fuzz.py``: a random seed, more examples, against ``make dev``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from schemathesis import Case, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.core.result import Ok
from schemathesis.errors import FailureGroup, SchemathesisError
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi" / "agora.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
# Each random login is a failed one, and failures count against the client IP's budget (50 an hour,
# shared by everything run from 127.0.0.1): a few show the 401 answer, a valid login shows the 200.
LOGIN_ATTEMPTS = 3
REQUEST_TIMEOUT_S = 35  # API Gateway itself gives up after 29 s
PASSWORD = "fuzz password 1"
ADDRESS = {"street": "1 Fuzz St", "city": "Testville", "state": "NY", "postal_code": "10001", "country": "US"}
CUSTOMER = {"first_name": "Fuzz", "last_name": "User", "email": "fuzz@example.com"}
ANONYMOUS, USER, ADMIN = "anonymous", "user", "admin"


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    id: str
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Known:
    """What the fuzzer made before it starts, so that generated requests reach real objects too."""

    user: Account
    admin: Account
    sessions: Account  # never named in a request: its credentials stay valid for fresh logins
    victims: dict[str, Account]  # per caller, the account its DELETE /api/users/{id} may delete
    products: list[dict[str, Any]]
    order: dict[str, Any]
    payment: dict[str, Any]

    def leaves_others_alone(self, case: Case) -> bool:
        """Whether a generated request can change nothing the fuzzer did not make.

        Random product ids are small integers, and on a long-lived system those name the catalog:
        ``DELETE /api/products/1`` would take its first product away.  Ids below the fuzzer's own
        products belong to others; reading them is fine, writing them is not.
        """
        if case.method.upper() == "GET" or not case.operation.path.startswith("/api/products/{id}"):
            return True
        value = case.path_parameters.get("id")
        return not (isinstance(value, int) and 0 < value < min(p["id"] for p in self.products))

    def path_values(self, operation: APIOperation, caller: str) -> list[dict[str, Any]]:
        """Path parameters naming the fuzzer's own objects, for generated requests on ``operation``."""
        path, method = operation.path, operation.method.upper()
        if path == "/api/users/{id}":
            if method == "DELETE":
                return [{"id": self.victims[caller].id}]
            return [{"id": self.user.id}]
        if path.startswith("/api/products/{id}"):
            return [{"id": product["id"]} for product in self.products]
        if path == "/api/products/sku/{sku}":
            return [{"sku": product["sku"]} for product in self.products]
        if path.startswith("/api/orders/{id}"):
            return [{"id": self.order["id"]}]
        if path == "/api/payments/order/{orderId}":
            return [{"orderId": self.order["id"]}]
        if path.startswith("/api/payments/{id}"):
            return [{"id": self.payment["id"]}]
        if path == "/api/docs/{asset}":
            return [{"asset": "swagger-ui.css"}]
        return []


@dataclass
class Finding:
    """One kind of contract violation of one operation: the first request that showed it, and how
    often, as which callers and in which modes it was seen."""

    operation: str
    failures: tuple[str, ...]
    status: int | None
    code: str | None
    request: str
    response: str
    detail: str
    callers: set[str] = field(default_factory=set)
    modes: set[str] = field(default_factory=set)
    seen: int = 1

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.operation, self.failures, self.status, self.code)

    def text(self) -> str:
        answer = f"{self.status} {self.code or ''}".strip() if self.status is not None else "no answer"
        who = f"as {'/'.join(sorted(self.callers))}, {'/'.join(sorted(self.modes))}"
        return (
            f"- {self.operation}: {', '.join(self.failures)} -> {answer} ({who}, seen {self.seen}x)\n"
            f"    request:  {self.request}\n    response: {self.response}\n"
            + "".join(f"    | {line}\n" for line in self.detail.splitlines()[:12] if line.strip())
        )


@dataclass
class Report:
    seed: int
    examples: int
    requests: int = 0  # generated requests sent (the hand-made valid ones are counted apart)
    explicit: int = 0
    elapsed_s: float = 0.0
    waiting_s: float = 0.0  # of which spent waiting for answers
    findings: list[Finding] = field(default_factory=list)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    # Generated valid requests (by the document) that the server refused as invalid, per operation:
    # not a failure of the checks, but where the document is looser than the code.
    refused_valid: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    out_of_time: list[str] = field(default_factory=list)

    def record(self, operation: str, status: int, mode: str) -> None:
        self.statuses.setdefault(operation, Counter())[status] += 1
        if mode == GenerationMode.POSITIVE.value and status in (400, 422):
            self.refused_valid[operation] += 1

    def add(self, finding: Finding, caller: str, mode: str) -> None:
        finding.callers.add(caller)
        finding.modes.add(mode)
        for known in self.findings:
            if known.key == finding.key:
                known.seen += 1
                known.callers |= finding.callers
                known.modes |= finding.modes
                return
        self.findings.append(finding)

    def text(self) -> str:
        lines = [
            f"Schemathesis {schemathesis.__version__}: {self.requests} generated requests and "
            f"{self.explicit} hand-made ones over {len(self.statuses)} operations in {self.elapsed_s:.0f}s, "
            f"{self.waiting_s:.0f}s of it waiting for answers "
            f"(seed {self.seed}, {self.examples} examples per operation, caller and mode)",
        ]
        for operation, counts in sorted(self.statuses.items()):
            spread = ", ".join(f"{status}x{n}" for status, n in sorted(counts.items()))
            lines.append(f"  {operation}: {spread}")
        if self.out_of_time:
            lines.append(f"not run, out of time: {', '.join(self.out_of_time)}")
        if self.skipped:
            lines.append("nothing to generate: " + "; ".join(self.skipped))
        if self.refused_valid:
            refused = ", ".join(f"{op} {n}x" for op, n in sorted(self.refused_valid.items()))
            lines.append(f"valid by the document, refused 400/422 by the server: {refused}")
        if self.findings:
            lines.append(f"{len(self.findings)} contract violations:")
            lines.extend(finding.text() for finding in self.findings)
        else:
            lines.append("no contract violation")
        lines.append(
            f"replay: .venv/bin/python -m tools.dev.fuzz --seed {self.seed} --examples {self.examples}"
        )
        return "\n".join(lines)


# The callers' tokens are the fuzzer's to choose (generated Authorization headers would only get 401s),
# and any 4xx rejects an invalid request: 413 too, when the invalid part is also too large.
CONFIG = {
    "generation": {"with-security-parameters": False},
    "checks": {"negative_data_rejection": {"expected-statuses": ["4xx", "5xx"]}},
}


def load(document: Path = DOCUMENT) -> BaseSchema:
    """The document as Schemathesis reads it, configured here (no ``schemathesis.toml`` is looked for)."""
    return schemathesis.openapi.from_path(document, config=schemathesis.Config.from_dict(CONFIG))


def operations(schema: BaseSchema) -> list[APIOperation]:
    """Every operation of the document, those that end a session or delete something last."""
    found = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()
        found.append(result.ok())
    return sorted(
        found, key=lambda op: (op.method.upper() == "DELETE" or _ends_session(op), op.path, op.method)
    )


def _ends_session(operation: APIOperation) -> bool:
    return operation.path == "/api/auth/logout" or operation.path.endswith("/cancel")


def _is_public(operation: APIOperation) -> bool:
    security = operation.definition.raw.get("security")
    return not any("bearerAuth" in requirement for requirement in security or [])


def callers(operation: APIOperation) -> tuple[str, ...]:
    return (ANONYMOUS,) if _is_public(operation) else (USER, ADMIN)


def operation_seed(run_seed: int, *labels: str) -> int:
    """A stable seed per operation, caller and mode, so that each draws its own inputs."""
    digest = hashlib.blake2b(":".join([str(run_seed), *labels]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class Client:
    """The API as the fuzzer's own set-up sees it: plain requests, any refusal is fatal.

    It notes how to undo everything the run makes, whoever makes it, as it is made: clean-up then
    works however far the run got.
    """

    def __init__(self, api_url: str, session: requests.Session) -> None:
        self.api_url = api_url.rstrip("/")
        self.session = session
        self.admin: Account | None = None
        self.undo: list[tuple[str, str]] = []  # (method, path), sent as the admin

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(method, self.api_url + path, timeout=REQUEST_TIMEOUT_S, **kwargs)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        body: dict[str, Any] = response.json()
        self.remember(method, path, response.status_code, body)
        return body

    def remember(self, method: str, path: str, status: int, body: Any) -> None:
        """Note how to undo what a request created: cancel an order, retire a product, delete an account."""
        if method != "POST" or status != 201 or not isinstance(body, dict):
            return
        if path == "/api/orders":
            self.undo.append(("POST", f"/api/orders/{body['id']}/cancel"))
        elif path == "/api/products":
            self.undo.append(("DELETE", f"/api/products/{body['id']}"))
        elif path == "/api/auth/register":
            self.undo.append(("DELETE", f"/api/users/{body['user']['id']}"))

    def register(self, label: str) -> Account:
        email = f"fuzz-{label}-{uuid.uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": PASSWORD, "firstName": "Fuzz", "lastName": label.title()}
        answer = self.call("POST", "/api/auth/register", 201, json=body)
        return Account(email, PASSWORD, answer["user"]["id"], answer["token"])

    def login(self, email: str, password: str) -> dict[str, Any]:
        return self.call("POST", "/api/auth/login", 200, json={"email": email, "password": password})

    def account(self, email: str, password: str) -> Account:
        answer = self.login(email, password)
        return Account(email, password, answer["user"]["id"], answer["token"])

    def clean_up(self) -> None:
        """Leave nothing of the run behind on a long-lived system: best effort, never fatal.

        Orders go first (cancelling gives their stock back), the fuzzer's admin last.
        """
        if self.admin is None:
            return
        steps = sorted(self.undo, key=lambda step: step[0] != "POST")
        for method, path in [*steps, ("DELETE", f"/api/users/{self.admin.id}")]:
            with contextlib.suppress(requests.RequestException):
                self.session.request(
                    method, self.api_url + path, headers=self.admin.bearer, timeout=REQUEST_TIMEOUT_S
                )


def prepare(client: Client, admin_email: str, admin_password: str) -> Known:
    """Make the fuzzer's own users, products, order and payment."""
    admin = client.admin = client.account(admin_email, admin_password)
    user = client.register("user")
    products = [
        client.call(
            "POST",
            "/api/products",
            201,
            headers=admin.bearer,
            json={
                "name": f"Fuzz item {n}",
                "description": "made by the contract fuzzer",
                "price": 12.5 + n,
                "category": "Fuzz",
                "brand": "Fuzz",
                "stockQuantity": 500,
                "sku": f"FUZZ-{uuid.uuid4().hex[:10]}",
            },
        )
        for n in range(2)
    ]
    order = client.call(
        "POST",
        "/api/orders",
        201,
        headers=user.bearer,
        json={
            "items": [{"product_id": products[0]["id"], "quantity": 1}],
            "shipping_address": ADDRESS,
            "customer_info": CUSTOMER,
        },
    )
    payment = client.call(
        "POST",
        "/api/payments",
        201,
        headers=user.bearer,
        json={
            "order_id": order["id"],
            "amount": order["total_amount"],
            "method": "card",
            "provider": "stripe",
        },
    )["payment"]
    return Known(
        user=user,
        admin=admin,
        sessions=client.register("sessions"),
        victims={USER: client.register("victim"), ADMIN: client.register("victim")},
        products=products,
        order=order,
        payment=payment,
    )


class Fuzzer:
    """Runs the operations one after another, each as its callers, in both modes, into one report."""

    def __init__(
        self,
        schema: BaseSchema,
        client: Client,
        known: Known,
        report: Report,
        *,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.schema = schema
        self.client = client
        self.known = known
        self.report = report
        self.progress = progress or (lambda line: None)

    def account(self, caller: str) -> Account | None:
        return {USER: self.known.user, ADMIN: self.known.admin}.get(caller)

    def headers(self, case: Case, caller: str) -> dict[str, str]:
        """The token a case is sent with: the caller's, unless using it would end the caller's session."""
        account = self.account(caller)
        if account is None:
            return {}
        operation = case.operation
        if operation.path == "/api/auth/logout":
            # Logging out revokes the session it is sent with: give it one of its own.
            fresh = self.known.sessions if caller == USER else self.known.admin
            return {"Authorization": f"Bearer {self.client.login(fresh.email, fresh.password)['token']}"}
        victim = self.known.victims[caller]
        if (
            operation.method.upper() == "DELETE"
            and case.path_parameters.get("id") == victim.id
            and caller == USER
        ):
            return victim.bearer  # a user may delete only themself
        return account.bearer

    def send(self, case: Case, caller: str, mode: str) -> None:
        label = case.operation.label
        headers = self.headers(case, caller)
        started = time.monotonic()
        try:
            response = case.call(
                base_url=self.client.api_url,
                session=self.client.session,
                headers=headers,
                timeout=REQUEST_TIMEOUT_S,
            )
        except requests.RequestException as exc:
            finding = Finding(label, ("No answer",), None, None, _request_line(case), "", repr(exc))
            self.report.add(finding, caller, mode)
            return
        finally:
            self.report.waiting_s += time.monotonic() - started
        self.report.record(label, response.status_code, mode)
        if response.status_code == 201:
            with contextlib.suppress(ValueError):
                self.client.remember(case.method.upper(), case.operation.path, 201, response.json())
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            self.report.add(_finding(case, response, group), caller, mode)
        except SchemathesisError as exc:
            failure = f"Check error: {type(exc).__name__}"
            self.report.add(_finding(case, response, None, failure, str(exc)), caller, mode)

    def explicit_cases(self, operation: APIOperation, caller: str) -> list[Case]:
        """Valid requests made by hand, for the answers random input hardly ever gets (a 200 login)."""
        body: Any
        match operation.method.upper(), operation.path:
            case "POST", "/api/auth/login":
                body = {"email": self.known.sessions.email, "password": PASSWORD}
            case "POST", "/api/auth/refresh":
                fresh = self.client.login(self.known.sessions.email, PASSWORD)
                body = {"refreshToken": fresh["refreshToken"]}
            case "POST", "/api/auth/register":
                email = f"fuzz-new-{uuid.uuid4().hex[:10]}@example.com"
                body = {"email": email, "password": PASSWORD, "firstName": "New", "lastName": "Fuzz"}
            case "POST", "/api/orders" if caller == USER:
                body = {
                    "items": [{"product_id": self.known.products[1]["id"], "quantity": 2}],
                    "shipping_address": ADDRESS,
                    "customer_info": CUSTOMER,
                }
            case _:
                return []
        return [operation.Case(body=body, media_type="application/json")]

    def strategy(self, operation: APIOperation, caller: str, mode: GenerationMode) -> st.SearchStrategy[Case]:
        if mode is GenerationMode.NEGATIVE:
            return operation.as_strategy(generation_mode=mode).filter(_query_sent_as_generated)
        strategies = [operation.as_strategy(generation_mode=mode)] + [
            operation.as_strategy(generation_mode=mode, path_parameters=values)
            for values in self.known.path_values(operation, caller)
        ]
        return st.one_of(strategies).filter(self.known.leaves_others_alone)

    def examples(self, operation: APIOperation, mode: GenerationMode) -> int:
        if operation.path == "/api/auth/login" and mode is GenerationMode.POSITIVE:
            return LOGIN_ATTEMPTS
        return self.report.examples

    def fuzz(self, operation: APIOperation, caller: str, mode: GenerationMode) -> None:
        label = f"{operation.label} as {caller}, {mode.value}"
        before = self.report.requests

        @settings(
            max_examples=self.examples(operation, mode),
            deadline=None,
            database=None,
            derandomize=False,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
        )
        @seed(operation_seed(self.report.seed, operation.label, caller, mode.value))
        @given(case=self.strategy(operation, caller, mode))
        def generated(case: Case) -> None:
            self.report.requests += 1
            self.send(case, caller, mode.value)

        started = time.monotonic()
        try:
            generated()
        except HypothesisException as exc:
            if self.report.requests == before:
                self.report.skipped.append(f"{label} ({type(exc).__name__})")
        self.progress(
            f"  {label}: {self.report.requests - before} requests, {time.monotonic() - started:.1f}s"
        )

    def run(self, operations: list[APIOperation], deadline: float) -> None:
        for operation in operations:
            for caller in callers(operation):
                if time.monotonic() > deadline:
                    self.report.out_of_time.append(f"{operation.label} as {caller}")
                    continue
                for case in self.explicit_cases(operation, caller):
                    self.report.explicit += 1
                    self.send(case, caller, "hand-made")
                for mode in MODES:
                    self.fuzz(operation, caller, mode)


def fuzz(
    api_url: str,
    admin_email: str,
    admin_password: str,
    *,
    run_seed: int,
    examples: int,
    max_time_s: float,
    document: Path = DOCUMENT,
    only: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Fuzz every operation of ``document`` (those whose label contains ``only``) against ``api_url``."""
    started = time.monotonic()
    schema = load(document)
    report = Report(seed=run_seed, examples=examples)
    selected = [op for op in operations(schema) if only is None or only in op.label]
    with requests.Session() as session:
        client = Client(api_url, session)
        try:
            known = prepare(client, admin_email, admin_password)
            Fuzzer(schema, client, known, report, progress=progress).run(selected, started + max_time_s)
        finally:
            client.clean_up()
    report.elapsed_s = time.monotonic() - started
    return report


def seed_admin(state: Path) -> tuple[str, str]:
    """An admin of the fuzzer's own, made by the users service's seed as ``make dev`` makes its own."""
    from tools.dev.stack import Paths, aws_env, stack_outputs

    email = f"fuzz-admin-{uuid.uuid4().hex[:10]}@agora.local"
    password = uuid.uuid4().hex
    outputs = stack_outputs(Paths(state))
    env = {
        **aws_env(state),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers" / "shared" / "python")]),
        "AGORA_TRACE_EXPORT": "off",
        "AGORA_SERVICE": "users",
        "AGORA_USERS_TABLE": outputs.get("UsersTableName", ""),
        "AGORA_ADMIN_EMAIL": email,
        "AGORA_ADMIN_PASSWORD": password,
    }
    done = subprocess.run(
        [sys.executable, "-m", "users.seed"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"the fuzzer's admin could not be made:\n{done.stdout}{done.stderr}")
    return email, password


def _query_sent_as_generated(case: Case) -> bool:
    """Whether the query reaches the server as generated.  A dict or list standing for a scalar query
    parameter goes out as that parameter repeated (``email=a&email=b``); the server reads one of them,
    a valid value, and Schemathesis would call the answer an accepted invalid request."""
    return not any(isinstance(value, dict | list) for value in (case.query or {}).values())


def _request_line(case: Case) -> str:
    body = "" if isinstance(case.body, NotSet) else f" body={_short(case.body)}"
    query = f"?{urlencode(case.query, doseq=True)}" if case.query else ""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    shown = f" headers={_short(headers)}" if headers else ""
    return f"{case.method} {case.formatted_path}{query}{shown}{body}"


def _finding(
    case: Case,
    response: Response,
    group: FailureGroup | None,
    failure: str | None = None,
    detail: str = "",
) -> Finding:
    failures = tuple(sorted({f.title for f in group.exceptions})) if group else (failure or "?",)
    if group:
        detail = "\n".join(f"{f.title}: {f.message}" for f in group.exceptions)
    return Finding(
        operation=case.operation.label,
        failures=failures,
        status=response.status_code,
        code=_code(response),
        request=_request_line(case),
        response=f"{response.status_code} {_content_type(response)} {response.text[:300]}",
        detail=detail,
    )


def _content_type(response: Response) -> str:
    return next(iter(response.headers.get("content-type", [])), "-")


def _code(response: Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("code")) if isinstance(body, dict) and "code" in body else None


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value) if isinstance(value, str | bytes) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "..."
