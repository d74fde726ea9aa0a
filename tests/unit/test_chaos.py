"""The chaos drill's judgement: which processes it kills, how it reads Locust, when it calls a recovery."""

from __future__ import annotations

from pathlib import Path

from tools.chaos import faults
from tools.chaos.probe import OPERATIONS, Prober, Sample, Window
from tools.chaos.run import load_failures

ENDPOINT = "http://127.0.0.1:4566"


def fake_process(proc: Path, pid: int, command: list[str], **environment: str) -> None:
    folder = proc / str(pid)
    folder.mkdir(parents=True)
    (folder / "cmdline").write_bytes(b"\0".join(c.encode() for c in command) + b"\0")
    (folder / "environ").write_bytes(b"\0".join(f"{k}={v}".encode() for k, v in environment.items()) + b"\0")


def test_only_this_systems_runtimes_of_its_stage_are_killed(tmp_path):
    runtime = ["/venv/bin/python", "-s", "-m", "agora_lambda_runtime"]
    ours = {"AWS_ENDPOINT_URL": ENDPOINT, "AWS_LAMBDA_FUNCTION_NAME": "agora-local-orders-create-order"}
    fake_process(tmp_path, 101, runtime, **ours)
    fake_process(
        tmp_path, 102, runtime, **{**ours, "AWS_ENDPOINT_URL": "http://127.0.0.1:4599"}
    )  # the e2e system
    fake_process(
        tmp_path, 103, runtime, **{**ours, "AWS_LAMBDA_FUNCTION_NAME": "agora-e2e-orders-list-orders"}
    )
    fake_process(tmp_path, 104, ["/usr/bin/postgres", "-D", "data"], **ours)
    (tmp_path / "self").mkdir()
    assert faults.runtime_processes(ENDPOINT, tmp_path) == [101]


def test_a_fault_admits_its_own_answers_and_nothing_else():
    postgres = next(f for f in faults.FAULTS if f.name == "postgres")
    assert postgres.admits(503, "DEPENDENCY_UNAVAILABLE")
    assert not postgres.admits(500, "INTERNAL_ERROR")
    assert not postgres.admits(503, "AUTH_UNAVAILABLE")
    executors = next(f for f in faults.FAULTS if f.name == "executors")
    assert executors.admits(502, "GATEWAY_ERROR") and executors.admits(502, "ANYTHING")
    assert not executors.admits(500, "INTERNAL_ERROR")


def test_locust_failures_are_read_as_status_and_code(tmp_path):
    (tmp_path / "load_stats.csv").write_text(
        "Type,Name,Request Count,Failure Count\nPOST,POST /api/orders,40,3\n,Aggregated,120,5\n"
    )
    (tmp_path / "load_failures.csv").write_text(
        "Method,Name,Error,Occurrences\n"
        "POST,POST /api/orders,CatchResponseError('503 DEPENDENCY_UNAVAILABLE'),3\n"
        "GET,GET /api/orders,CatchResponseError('502 '),1\n"
        "GET,GET /api/products,ConnectionError('refused'),1\n"
    )
    total, failures = load_failures(tmp_path)
    assert total == 120
    assert failures == [
        (503, "DEPENDENCY_UNAVAILABLE", 3),
        (502, "", 1),
        (0, "ConnectionError('refused')", 1),
    ]


def prober_with(samples: list[Sample]) -> Prober:
    prober = Prober("http://127.0.0.1:1", 1)
    prober.samples = samples
    return prober


def test_recovery_is_when_every_operation_has_answered_well_again():
    repaired = 100.0
    samples = [Sample(90.0, op, 503, "DEPENDENCY_UNAVAILABLE", 0.05) for op in OPERATIONS]
    samples += [Sample(101.0 + i, op, 200, "", 0.5) for i, op in enumerate(OPERATIONS)]
    assert prober_with(samples).recovered_at(repaired) == 101.0 + len(OPERATIONS) - 1 + 0.5
    assert prober_with(samples[:-1]).recovered_at(repaired) is None, "one operation has not answered yet"
    late = [*samples[:-1], Sample(107.0, OPERATIONS[-1], 503, "DEPENDENCY_UNAVAILABLE", 0.1)]
    late.append(Sample(108.0, OPERATIONS[-1], 201, "", 1.0))
    prober = prober_with(late)
    assert prober.recovered_at(repaired) == 109.0
    assert prober.after(repaired)[OPERATIONS[-1]].status == 503, "its first answer after the repair failed"


def test_a_window_counts_failures_by_status_and_code_and_finds_the_slowest():
    window = Window(
        [
            Sample(1, "a", 503, "DEPENDENCY_UNAVAILABLE", 0.04),
            Sample(2, "b", 503, "DEPENDENCY_UNAVAILABLE", 0.9),
            Sample(3, "c", 200, "", 3.0),
        ]
    )
    assert window.errors() == {(503, "DEPENDENCY_UNAVAILABLE"): 2}
    assert window.failure_seconds() == [0.04, 0.9]
    slowest = window.slowest_failure()
    assert slowest is not None and slowest.op == "b"
