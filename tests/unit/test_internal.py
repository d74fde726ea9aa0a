"""Internal calls: sized by the callee's declared timeout, bounded by the caller's deadline, retried only
when idempotent; internal functions record their own deadline."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pytest
from botocore.exceptions import ReadTimeoutError
from pydantic import BaseModel

from agora import aws, deadline, discovery, internal
from agora.discovery import ServiceDirectory
from agora.errors import DependencyUnavailable
from agora.internal import InternalRefusal, internal_handler, invoke
from tests.conftest import LambdaContext


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Context(LambdaContext):
    remaining_ms: int = 3000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class CloudMap:
    def __init__(self, attributes: dict[str, str]) -> None:
        self.attributes = attributes
        self.calls = 0

    def discover_instances(self, **kwargs):
        self.calls += 1
        return {"Instances": [{"InstanceId": "products-1", "Attributes": self.attributes}]}


class Events:
    def __init__(self) -> None:
        self.registered: list[tuple[str, object, str]] = []

    def register(self, event, handler, unique_id=None):
        self.registered.append((event, handler, unique_id))


class Meta:
    def __init__(self) -> None:
        self.events = Events()


class FakeLambda:
    def __init__(self, answer: object = None, function_error: bool = False, raises: Exception | None = None):
        self.answer = {"ok": True, "n": 1} if answer is None else answer
        self.function_error = function_error
        self.raises = raises
        self.calls: list[dict] = []
        self.meta = Meta()

    def invoke(self, **kwargs):
        self.calls.append(kwargs)
        if self.raises:
            raise self.raises
        answer = {"Payload": io.BytesIO(json.dumps(self.answer).encode())}
        if self.function_error:
            answer["FunctionError"] = "Unhandled"
        return answer


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(deadline, "clock", fake)
    return fake


@pytest.fixture
def cloud_map(monkeypatch):
    fake = CloudMap({"fn_reserve_stock": "agora-dev-products-reserve-stock", "timeout_reserve_stock": "15"})
    monkeypatch.setattr(discovery, "_directory", ServiceDirectory("agora", client=fake))
    return fake


@pytest.fixture
def created(monkeypatch):
    """The Lambda clients ``agora.aws`` is asked to create, with their options."""
    made: list[tuple[dict, FakeLambda]] = []

    def create(service, options):
        assert service == "lambda"
        client = FakeLambda()
        made.append((options, client))
        return client

    aws.clear_clients()
    internal._lambda_client.cache_clear()
    monkeypatch.setattr(aws, "_create", create)
    yield made
    aws.clear_clients()
    internal._lambda_client.cache_clear()


def test_the_read_timeout_is_the_callees_declared_timeout_plus_a_margin(cloud_map, created):
    assert invoke("products", "reserve_stock", {"order_id": "o1"}) == {"ok": True, "n": 1}
    ((options, client),) = created
    assert options == {
        "connect_timeout": 2.0,
        "read_timeout": 17.0,
        "retries": {"mode": "standard", "total_max_attempts": 1},
    }
    assert client.calls[0]["FunctionName"] == "agora-dev-products-reserve-stock"
    # The payload as given; the caller's context (trace, correlation id) rides beside it.
    assert internal.split_context(json.loads(client.calls[0]["Payload"]))[0] == {"order_id": "o1"}


def test_only_idempotent_calls_are_retried(cloud_map, created):
    invoke("products", "reserve_stock", {"order_id": "o1"}, idempotent=True)
    assert created[0][0]["retries"] == {"mode": "standard", "total_max_attempts": 3}


def test_the_read_timeout_never_outlives_the_caller(cloud_map, created, clock):
    with deadline.invocation(Context(remaining_ms=6500)):
        clock.now += 0.25
        invoke("products", "reserve_stock", {"order_id": "o1"})
    assert created[0][0]["read_timeout"] == 5.2  # 6.25 s left, less the 1 s the caller keeps


def test_a_caller_with_less_than_its_reserve_left_is_refused_before_any_call(cloud_map, created, clock):
    with (
        deadline.invocation(Context(remaining_ms=900)),
        pytest.raises(DependencyUnavailable, match="no time"),
    ):
        invoke("products", "reserve_stock", {"order_id": "o1"}, idempotent=True)
    assert created == []
    assert cloud_map.calls == 0


def test_clients_are_reused_per_configuration(cloud_map, created):
    for _ in range(3):
        invoke("products", "reserve_stock", {"order_id": "o1"})
    invoke("products", "reserve_stock", {"order_id": "o1"}, idempotent=True)
    assert len(created) == 2
    assert len(created[0][1].calls) == 3


def test_a_callee_without_a_published_timeout_gets_the_default(cloud_map, created):
    del cloud_map.attributes["timeout_reserve_stock"]
    invoke("products", "reserve_stock", {"order_id": "o1"})
    assert created[0][0]["read_timeout"] == internal.DEFAULT_CALLEE_TIMEOUT_S + 2


def test_retries_are_started_only_when_a_whole_attempt_fits(cloud_map, created, clock):
    invoke("products", "reserve_stock", {"order_id": "o1"}, idempotent=True)
    ((event, guard, _),) = created[0][1].meta.events.registered
    assert event == "before-send.lambda.Invoke"

    @dataclass
    class Request:
        context: dict

    def attempt(n: int) -> Request:
        return Request({"retries": {"attempt": n}})

    guard(request=attempt(2))  # no deadline known: botocore's own limits apply
    with deadline.invocation(Context(remaining_ms=30_000)):
        guard(request=attempt(1))
        guard(request=attempt(2))
        clock.now += 15
        guard(request=attempt(1))
        with pytest.raises(DependencyUnavailable, match="another attempt"):
            guard(request=attempt(2))


def test_the_callees_answers_are_told_apart(cloud_map):
    refusal = {
        "ok": False,
        "error": {"status": 409, "code": "INSUFFICIENT_STOCK", "detail": "no", "ids": [1]},
    }
    with pytest.raises(InternalRefusal) as refused:
        invoke("products", "reserve_stock", {}, client=FakeLambda(answer=refusal))
    assert (refused.value.status, refused.value.code, refused.value.extra) == (
        409,
        "INSUFFICIENT_STOCK",
        {"ids": [1]},
    )
    with pytest.raises(DependencyUnavailable, match="failed"):
        invoke("products", "reserve_stock", {}, client=FakeLambda(function_error=True))
    with pytest.raises(DependencyUnavailable, match="did not answer"):
        invoke(
            "products",
            "reserve_stock",
            {},
            client=FakeLambda(raises=ReadTimeoutError(endpoint_url="https://lambda")),
        )


def test_aws_clients_are_keyed_by_their_options_dicts_included(monkeypatch):
    made: list[str] = []
    monkeypatch.setattr(aws, "_create", lambda service, options: made.append(service) or object())
    aws.clear_clients()
    try:
        first = aws.client("lambda", read_timeout=3, retries={"mode": "standard", "total_max_attempts": 1})
        again = aws.client("lambda", retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=3)
        other = aws.client("lambda", read_timeout=4, retries={"mode": "standard", "total_max_attempts": 1})
        assert first is again and first is not other
        for n in range(aws.MAX_CLIENTS):
            aws.client("events", read_timeout=n + 10)
        assert (
            aws.client("lambda", read_timeout=3, retries={"mode": "standard", "total_max_attempts": 1})
            is not first
        )
    finally:
        aws.clear_clients()


class Probe(BaseModel):
    name: str


def test_an_internal_function_records_its_deadline(clock):
    seen: list[float | None] = []

    def use_case(request: Probe) -> dict:
        seen.append(deadline.remaining_s())
        return {"name": request.name}

    handler = internal_handler(Probe, use_case)
    assert handler({"name": "x"}, Context(remaining_ms=4200)) == {"ok": True, "name": "x"}
    assert seen == [pytest.approx(4.2)]
    assert deadline.remaining_s() is None, "the deadline ends with the invocation"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "a\x00b"}, "name"),
        ({"name": "ok", "extra": {"deep": ["fine", "bad\ud800"]}}, "extra.deep.1"),
        ({"name": "ok", "k\x00": 1}, "k\\x00"),
    ],
)
def test_an_internal_function_refuses_text_postgresql_cannot_store(payload, field, lambda_context):
    called: list[Probe] = []
    handler = internal_handler(Probe, lambda request: called.append(request) or {})
    answer = handler(payload, lambda_context)
    assert answer["ok"] is False
    assert answer["error"]["status"] == 422 and answer["error"]["code"] == "VALIDATION_FAILED"
    assert [e["field"] for e in answer["error"]["errors"]] == [field]
    assert called == []


def test_botocore_retries_an_idempotent_call_only_while_an_attempt_fits(cloud_map, clock, monkeypatch):
    from botocore.awsrequest import AWSResponse

    aws.clear_clients()
    internal._lambda_client.cache_clear()
    monkeypatch.setattr("time.sleep", lambda s: None)  # botocore's backoff
    attempts: list[float] = []

    class Raw:
        def stream(self, **kwargs):
            yield b'{"message": "busy"}'

    def server_busy(request, **kwargs):
        attempts.append(clock.now)
        clock.now += 10  # each attempt takes ten seconds, then fails as retryable
        return AWSResponse(request.url, 503, {}, Raw())

    try:
        with deadline.invocation(Context(remaining_ms=30_000)):
            real = internal._lambda_client(17.0, 3)
            real.meta.events.register("before-send.lambda.Invoke", server_busy)
            with pytest.raises(DependencyUnavailable):
                invoke("products", "reserve_stock", {"order_id": "o1"}, idempotent=True)
    finally:
        aws.clear_clients()
        internal._lambda_client.cache_clear()
    # 30 s: the first attempt; 20 s left fits a second 17 s attempt (1 s kept back); 10 s does not.
    assert len(attempts) == 2
