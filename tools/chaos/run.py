"""``make chaos``: the shop's load while one part fails at a time, and what the system does about it.

    python -m tools.chaos.run [--users 6] [--window 20] [--only postgres,redis,...] [--name chaos]

For each fault (``tools.chaos.faults``): Locust runs the shop's mix (``tools.load``) for the
whole phase, and the drill's prober (``tools.chaos.probe``) keeps asking the same six questions.
``--before`` seconds of calm, the fault for ``--window`` seconds, the repair, ``--after``
seconds of load.  Then the drill waits for the system to settle by itself (outboxes drained,
queues empty) and redrives the DLQ the fault meant to fill.  A fault passes when:

- every answer while it lasted was one it admits (e.g. 503 ``DEPENDENCY_UNAVAILABLE`` while
  PostgreSQL is down), and none before or after it failed;
- a failure was answered fast (``--fail-within-s``, 1 s) where the fault says so;
- each operation's first request after the repair succeeded, and the time until all did is
  the recovery time;
- no DLQ but the intended one holds a message, and that one is empty after its redrive;
- the invariant audit passes, and every event published since the drill began was applied
  by each of its consumers (``tools.dev.audit``).

Only the running ``make dev`` is touched (its loopback URL, its own servers, its stage's
functions and queues).  Writes bench/results/chaos.{md,json}; exits non-zero on any finding.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench import results_file
from bench.gateway_latency import stocked_product
from tools.chaos.faults import FAULTS, STAGE, Fault, System
from tools.chaos.probe import OPERATIONS, Prober, Window
from tools.dev import redrive
from tools.dev.audit import POSTGRES_SERVICES, audit, connect, databases
from tools.dev.stack import Paths, aws_env, boto
from tools.load.run import finish_locust, local_system, read_stats, start_locust, warm_up

FAIL_FAST = {"postgres", "redis"}
DLQ_WAIT_S = 60


@dataclass
class Outcome:
    fault: Fault
    window_s: float
    answers: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    slowest_failure_s: float = 0.0
    slowest_failure_op: str = ""
    failure_p50_s: float = 0.0
    failure_p90_s: float = 0.0
    first_after: dict[str, str] = field(default_factory=dict)
    recovery_s: float | None = None
    settle_s: float | None = None
    redriven: int = 0
    load_requests: int = 0
    findings: list[str] = field(default_factory=list)
    audit: str = ""

    def row(self) -> list[Any]:
        errors = ", ".join(f"{what} x {n}" for what, n in self.errors.most_common()) or "none"
        first = (
            "all succeeded"
            if all(v.startswith("2") for v in self.first_after.values())
            else (
                "; ".join(
                    f"{op}: {status}" for op, status in self.first_after.items() if not status.startswith("2")
                )
            )
        )
        return [
            self.fault.what,
            f"{self.window_s:.0f} s",
            self.load_requests,
            errors,
            (
                f"p50 {self.failure_p50_s:.2f} s, p90 {self.failure_p90_s:.2f} s, "
                f"max {self.slowest_failure_s:.2f} s ({self.slowest_failure_op})"
            )
            if self.slowest_failure_op
            else "-",
            first,
            f"{self.recovery_s:.1f} s" if self.recovery_s is not None else "not recovered",
            f"{self.settle_s:.0f} s" if self.settle_s is not None else "not settled",
            f"{self.redriven} redriven" if self.fault.dead_letters else "none",
            self.audit,
            "pass" if not self.findings else "FAIL: " + "; ".join(self.findings),
        ]


def depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def dead_letters(sqs: Any) -> dict[str, int]:
    """Each DLQ of the stage with messages in it, and how many."""
    queues = redrive.dead_letter_queues(sqs, f"agora-{STAGE}-")
    return {name: n for name, (dlq, _) in queues.items() if (n := depth(sqs, dlq.url))}


def consumer_backlog(sqs: Any) -> int:
    queues = redrive.dead_letter_queues(sqs, f"agora-{STAGE}-")
    return sum(depth(sqs, source.url) for _, sources in queues.values() for source in sources)


def outbox_backlog(dbs: dict[str, str]) -> int:
    pending = 0
    for service in POSTGRES_SERVICES:
        with connect(dbs[service]) as conn:
            row = conn.execute(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL"
            ).fetchone()
            pending += int(row[0])
    return pending


def load_failures(out: Path) -> tuple[int, list[tuple[int, str, int]]]:
    """Locust's request count and its failures as (status, code, count)."""
    stats, failures = read_stats(out)
    total = next((int(r["Request Count"]) for r in stats if r["Name"] == "Aggregated"), 0)
    parsed = []
    for failure in failures:
        # The locustfile fails a response with "<status> <code>", which Locust wraps in its error's repr.
        found = re.search(r"\b([1-5]\d\d) ?([A-Z_]*)", failure["Error"])
        status, code = (found.group(1), found.group(2)) if found else ("0", failure["Error"][:60])
        parsed.append((int(status), code, int(failure["Occurrences"])))
    return total, parsed


class Drill:
    def __init__(self, args: argparse.Namespace, url: str, state: Path) -> None:
        self.args = args
        self.url = url
        self.state = state
        self.system = System(
            state, aws=lambda service: boto(service, state), endpoint=aws_env(state)["AWS_ENDPOINT_URL"]
        )
        dev = Paths(state).backing()
        self.dbs = databases(dev["DATABASE_URL"])
        self.sqs = self.system.aws("sqs")
        self.product_id = stocked_product(requests.Session(), url, state, units=100_000)
        self.began = datetime.now(UTC)
        self.prober = Prober(url, self.product_id)

    def run(self, fault: Fault) -> Outcome:
        args = self.args
        phase_s = int(args.before + args.window + args.after)
        outcome = Outcome(fault, args.window)
        print(f"==> {fault.name}: {fault.what}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            locust = start_locust(self.url, args.users, args.users, phase_s, self.product_id, Path(tmp))
            began = time.monotonic()
            time.sleep(args.before)
            injected = time.monotonic()
            try:
                fault.start(self.system)
                while (elapsed := time.monotonic() - injected) < args.window or self._filling(fault, elapsed):
                    if fault.during is not None:
                        fault.during(self.system, elapsed)
                    time.sleep(1.0)
            finally:
                fault.end(self.system)  # whatever happened, the system is put back
            repaired = time.monotonic()
            outcome.window_s = repaired - injected
            finish_locust(locust, Path(tmp), phase_s + 120)
            outcome.load_requests, failures = load_failures(Path(tmp))
        self._judge_answers(outcome, began, injected, repaired, failures)
        self.prober.pause()  # no new traffic: the system can be seen to settle
        try:
            self._settle(outcome)
        finally:
            self.prober.resume()
        return outcome

    def _filling(self, fault: Fault, elapsed: float) -> bool:
        """A fault meant to fill a DLQ lasts until it has (a record reaches it after its queue's
        ``maxReceiveCount`` failed receives), a minute past its window at most."""
        if fault.dead_letters is None or elapsed > self.args.window + DLQ_WAIT_S:
            return False
        return not dead_letters(self.sqs).get(fault.dead_letters)

    def _judge_answers(
        self,
        outcome: Outcome,
        began: float,
        injected: float,
        repaired: float,
        failures: list[tuple[int, str, int]],
    ) -> None:
        fault, prober = outcome.fault, self.prober
        during = prober.between(injected, repaired)
        outcome.answers = len(during.samples)
        if seconds := during.failure_seconds():
            outcome.failure_p50_s = seconds[len(seconds) // 2]
            outcome.failure_p90_s = seconds[int(len(seconds) * 0.9)]
        if (slowest := during.slowest_failure()) is not None:
            outcome.slowest_failure_s, outcome.slowest_failure_op = slowest.seconds, slowest.op
        for (status, code), n in during.errors().items():
            outcome.errors[f"{status} {code}".strip()] += n
            if not fault.admits(status, code):
                outcome.findings.append(f"prober got {status} {code} x {n} during the fault")
        for status, code, n in failures:
            outcome.errors[f"{status} {code}".strip()] += n
            if not fault.admits(status, code):
                outcome.findings.append(f"load got {status} {code} x {n}")
        # Answers that came before the fault began (a request in flight as it began may meet it).
        calm = [s for s in prober.between(began, injected).samples if s.at + s.seconds < injected]
        before = Window(calm).errors()
        if before:
            outcome.findings.append(f"failures before the fault: {dict(before)}")
        if fault.name in FAIL_FAST and outcome.failure_p90_s > self.args.fail_within_s:
            outcome.findings.append(f"one failure in ten took {outcome.failure_p90_s:.2f} s or more")
        self._judge_recovery(outcome, repaired)

    def _judge_recovery(self, outcome: Outcome, repaired: float) -> None:
        fault, prober = outcome.fault, self.prober
        recovered = prober.recovered_at(repaired)
        deadline = time.monotonic() + self.args.recover_s
        while recovered is None and time.monotonic() < deadline:
            time.sleep(0.5)
            recovered = prober.recovered_at(repaired)
        outcome.recovery_s = None if recovered is None else max(0.0, recovered - repaired)
        if recovered is None:
            outcome.findings.append("not every operation answered well again")
        firsts = prober.after(repaired, OPERATIONS)
        outcome.first_after = {op: f"{s.status} {s.code}".strip() for op, s in firsts.items()}
        if fault.name in FAIL_FAST:
            outcome.findings += [
                f"first {op} after the repair: {s.status} {s.code}" for op, s in firsts.items() if not s.ok
            ]
        after = prober.between(recovered or repaired, time.monotonic()).errors()
        if recovered is not None and after:
            outcome.findings.append(f"failures after recovering: {dict(after)}")

    def _settle(self, outcome: Outcome) -> None:
        """Wait for the system to finish by itself, redrive what the fault meant to strand, then audit."""
        fault, started = outcome.fault, time.monotonic()
        if fault.dead_letters is not None:
            filled = dead_letters(self.sqs).get(fault.dead_letters, 0)
            if not filled:
                outcome.findings.append(f"{fault.dead_letters} received nothing: the fault did not take")
            with contextlib.redirect_stdout(sys.stderr):
                redrive.main(["--queue", fault.dead_letters])
            outcome.redriven = filled
        deadline = started + self.args.settle_s
        report = None
        while time.monotonic() < deadline:
            if not dead_letters(self.sqs) and not consumer_backlog(self.sqs) and not outbox_backlog(self.dbs):
                report = audit(self.dbs, grace_s=0, delivered_since=self.began, delivery_grace_s=0)
                if not report.violations:
                    break
                report = None
            time.sleep(2)
        outcome.settle_s = (
            time.monotonic() - started if report is not None and not report.violations else None
        )
        stranded = dead_letters(self.sqs)
        if stranded:
            outcome.findings.append(f"dead letters left: {stranded}")
        if report is None:
            backlog = outbox_backlog(self.dbs)
            outcome.findings.append(
                f"did not settle within {self.args.settle_s} s (outbox backlog {backlog})"
            )
            report = audit(self.dbs, grace_s=0, delivered_since=self.began, delivery_grace_s=0)
        outcome.audit = f"passed ({len(report.checked)} checks)" if not report.violations else "FAILED"
        outcome.findings += report.violations[:5]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.chaos.run", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=6, help="Locust shoppers during each fault")
    parser.add_argument("--window", type=float, default=20, help="seconds each fault lasts (at most 60)")
    parser.add_argument("--before", type=float, default=5)
    parser.add_argument("--after", type=float, default=20)
    parser.add_argument("--recover-s", type=float, default=30, help="how long recovery may take")
    parser.add_argument(
        "--settle-s",
        type=float,
        default=240,
        help="how long settling may take (the relay runs each minute, the checkout sweep after 120 s)",
    )
    parser.add_argument("--fail-within-s", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=30, help="seconds of unmeasured load first")
    parser.add_argument(
        "--only", default="", help="comma-separated fault names: " + ",".join(f.name for f in FAULTS)
    )
    parser.add_argument("--name", default="chaos", help="results file name under bench/results")
    args = parser.parse_args(argv)
    args.window = min(args.window, 60)
    wanted = [n for n in args.only.split(",") if n]
    unknown = set(wanted) - {f.name for f in FAULTS}
    if unknown:
        parser.error(f"unknown fault(s): {', '.join(sorted(unknown))}")
    faults = [f for f in FAULTS if not wanted or f.name in wanted]
    local = local_system("chaos")
    if local is None:
        return 2
    state, url = local
    report = results_file.header()
    started = time.perf_counter()
    drill = Drill(args, url, state)
    if stranded := dead_letters(drill.sqs):
        print(f"error: DLQs already hold messages {stranded}; `make redrive` first", file=sys.stderr)
        return 2
    warm_up(url, args.users, int(min(args.warmup, 120)), drill.product_id)
    drill.prober.start()
    try:
        outcomes = []
        for fault in faults:
            outcomes.append(drill.run(fault))
            print("    " + " | ".join(str(cell) for cell in outcomes[-1].row()), flush=True)
    finally:
        drill.prober.stop()
    columns = [
        "fault",
        "window",
        "load requests",
        "errors seen (status code x count)",
        "time to fail (prober)",
        "first request after the repair",
        "recovered in",
        "settled in",
        "DLQ",
        "audit",
        "verdict",
    ]
    rows = [o.row() for o in outcomes]
    report |= {
        "users": args.users,
        "window_s": args.window,
        "faults": [dict(zip(columns, row, strict=True)) for row in rows],
        "prober_answers": len(drill.prober.samples),
        **results_file.footer(started),
    }
    notes = [
        f"Load: {args.users} Locust shoppers (the `make load` mix) through each phase "
        f"of {args.before:.0f} s calm, the fault, {args.after:.0f} s after; "
        f"the prober asked {', '.join(OPERATIONS)} in a loop "
        f"({len(drill.prober.samples)} answers in all).",
        "Recovered in: from the repair to the moment every prober operation had answered well again. "
        "Settled in: from the end of the phase until outboxes and queues were empty, DLQs redriven "
        "and the audit clean.",
    ]
    print(
        results_file.write(
            args.name,
            report,
            f"Chaos: {len(outcomes)} faults, one at a time, under load",
            columns,
            rows,
            notes,
        )
    )
    return 1 if any(o.findings for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
