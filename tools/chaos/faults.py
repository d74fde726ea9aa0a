"""The faults ``make chaos`` injects, one at a time, into the running ``make dev`` system.

Each fault knows how to start and end itself, which answers the API may give while it lasts
(``allowed``: status and ``code``; anything else is a finding), and which dead-letter queue, if
any, it means to fill.  Every fault acts only on this machine's system: the embedded servers
under the dev state folder, the host executor's processes whose endpoint is this LocalStack, the
functions and queues of its stage.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.dev import backing

STAGE = "local"
# The products consumer of order.cancelled: failing it strands reservations until the redrive.
CONSUMER_FUNCTION = f"agora-{STAGE}-products-order-events"
CONSUMER_DLQ = f"agora-{STAGE}-products-order-events-dlq"
QUICK_VISIBILITY_S = "1"
ANY_CODE = "*"


@dataclass
class System:
    """What a fault reaches: the dev state folder, its AWS clients, its servers."""

    state: Path
    aws: Callable[[str], Any]
    endpoint: str
    saved: dict[str, Any] = field(default_factory=dict)

    def functions(self) -> Iterator[dict[str, Any]]:
        pages = self.aws("lambda").get_paginator("list_functions").paginate()
        for page in pages:
            for function in page["Functions"]:
                if function["FunctionName"].startswith(f"agora-{STAGE}-"):
                    yield function


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    start: Callable[[System], None]
    end: Callable[[System], None]
    # (status, code) answers expected while the fault lasts; code "*" admits any code.
    allowed: frozenset[tuple[int, str]] = frozenset()
    during: Callable[[System, float], None] | None = None  # called about once a second
    dead_letters: str | None = None  # the DLQ this fault means to fill, redriven after it

    def admits(self, status: int, code: str) -> bool:
        return (status, code) in self.allowed or (status, ANY_CODE) in self.allowed


# 1. PostgreSQL -------------------------------------------------------------------------------


def _embedded(state: Path, what: str) -> None:
    if not (state / what).is_dir():
        raise RuntimeError(f"{what} is not the dev system's own server (a URL was given): it is not stopped")


def stop_postgres(system: System) -> None:
    _embedded(system.state, "postgres")
    backing.stop_postgres(system.state)


def start_postgres(system: System) -> None:
    backing.ensure_postgres(system.state)


# 2. Redis ------------------------------------------------------------------------------------


def stop_redis(system: System) -> None:
    _embedded(system.state, "redis")
    backing.stop_redis(system.state)


def start_redis(system: System) -> None:
    backing.ensure_redis(system.state)


# 3. Execution environments -------------------------------------------------------------------


def runtime_processes(endpoint: str, proc: Path = Path("/proc")) -> list[int]:
    """The host executor's runtime processes that serve this LocalStack's functions of the stage."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environment = dict(
                item.split(b"=", 1) for item in (entry / "environ").read_bytes().split(b"\0") if b"=" in item
            )
        except OSError:
            continue  # gone, or not ours to read
        if b"agora_lambda_runtime" not in command:
            continue
        if environment.get(b"AWS_ENDPOINT_URL", b"").decode() != endpoint:
            continue
        if environment.get(b"AWS_LAMBDA_FUNCTION_NAME", b"").decode().startswith(f"agora-{STAGE}-"):
            found.append(int(entry.name))
    return found


def start_killing(system: System) -> None:
    system.saved["kill_rounds"] = {0}
    kill_runtimes(system)


def kill_runtimes(system: System) -> None:
    killed = 0
    for pid in runtime_processes(system.endpoint):
        try:
            os.killpg(pid, signal.SIGKILL)  # each runtime leads its own session
            killed += 1
        except ProcessLookupError:
            pass
    system.saved["killed"] = system.saved.get("killed", 0) + killed


def kill_now_and_then(system: System, elapsed_s: float) -> None:
    """Kill every runtime at the start of the window and every 6 s after it."""
    rounds = system.saved.setdefault("kill_rounds", set())
    round_ = int(elapsed_s // 6)
    if round_ not in rounds:
        rounds.add(round_)
        kill_runtimes(system)


def nothing(system: System) -> None:
    """Killed environments need no repair: the executor starts new ones on the next invocation."""


# 4. EventBridge PutEvents --------------------------------------------------------------------


def _configure(
    system: System, names: list[str], variables: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    client = system.aws("lambda")

    def one(name: str) -> None:
        current = client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        client.update_function_configuration(FunctionName=name, Environment={"Variables": variables(current)})
        client.get_waiter("function_updated_v2").wait(FunctionName=name)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, names))


def _arm(system: System, names: list[str], spec: str, **more: str) -> None:
    variables = {"AGORA_FAULTS": spec, **more}
    system.saved["armed"] = (names, list(variables))
    _configure(system, names, lambda env: {**env, **variables})


def _disarm(system: System) -> None:
    names, variables = system.saved.pop("armed", ([], []))
    _configure(system, names, lambda env: {k: v for k, v in env.items() if k not in variables})


def fail_put_events(system: System) -> None:
    publishers = [
        f["FunctionName"]
        for f in system.functions()
        if "AGORA_EVENT_BUS_NAME" in f.get("Environment", {}).get("Variables", {})
    ]
    _arm(system, publishers, "agora.events.put_events=error:*")


def restore_put_events(system: System) -> None:
    _disarm(system)


# 5. A failing consumer -----------------------------------------------------------------------


def _consumer_queue(system: System) -> str:
    """The consumer's own queue: the one its DLQ takes dead letters from (CloudFormation names it)."""
    from tools.dev.redrive import dead_letter_queues

    _, (source,) = dead_letter_queues(system.aws("sqs"), f"agora-{STAGE}-")[CONSUMER_DLQ]
    return source.url


def fail_consumer(system: System) -> None:
    sqs, url = system.aws("sqs"), _consumer_queue(system)
    system.saved["visibility"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"
    ]
    # A failed receive comes back after a second instead of minutes: the DLQ fills within the window.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": QUICK_VISIBILITY_S})
    # Its own back-off would spread eight receives over four minutes: one second each here.
    _arm(
        system,
        [CONSUMER_FUNCTION],
        "products.release.before_commit=error:*",
        AGORA_CONSUMER_RETRY_FIRST_S="1",
        AGORA_CONSUMER_RETRY_MAX_S="1",
    )


def restore_consumer(system: System) -> None:
    _disarm(system)
    sqs = system.aws("sqs")
    sqs.set_queue_attributes(QueueUrl=_consumer_queue(system), Attributes=system.saved["visibility"])


UNAVAILABLE = frozenset({(503, "DEPENDENCY_UNAVAILABLE")})
# Arming a function updates its configuration, and LocalStack then replaces its running environments
# (AWS lets an invocation in flight finish): a request in flight there answers the gateway's 502, and a
# caller whose internal call was cut off answers 503 DEPENDENCY_UNAVAILABLE.
RECONFIGURED = frozenset({(502, "GATEWAY_ERROR"), (503, "DEPENDENCY_UNAVAILABLE")})

FAULTS: tuple[Fault, ...] = (
    Fault(
        "postgres",
        "PostgreSQL stopped, then started again",
        stop_postgres,
        start_postgres,
        allowed=UNAVAILABLE,
    ),
    Fault(
        "redis",
        "Redis stopped, then started again",
        stop_redis,
        start_redis,
        # Writes refuse a token whose revocation cannot be checked (fail closed); reads go on.
        allowed=frozenset({(503, "AUTH_UNAVAILABLE"), (503, "DEPENDENCY_UNAVAILABLE")}),
    ),
    Fault(
        "executors",
        "every execution environment killed (SIGKILL) at the start of the window and every 6 s",
        start_killing,
        nothing,
        # An invocation that dies answers as a Lambda that crashed: the gateway's 502.
        allowed=frozenset({(502, ANY_CODE), (503, "DEPENDENCY_UNAVAILABLE")}),
        during=kill_now_and_then,
    ),
    Fault(
        "put_events",
        "EventBridge PutEvents failing in every function that publishes (fault point)",
        fail_put_events,
        restore_put_events,
        allowed=RECONFIGURED,
    ),
    Fault(
        "consumer",
        "the products consumer of order.cancelled failing (retried each second) until its DLQ fills",
        fail_consumer,
        restore_consumer,
        allowed=RECONFIGURED,
        dead_letters=CONSUMER_DLQ,
    ),
)
