"""The load drill in miniature, so it never rots: a few seconds of the shop's mix, then the audit."""

from __future__ import annotations

import pytest

from bench import results_file
from tools.load import run


def test_a_short_load_has_no_server_error_and_leaves_the_invariants_true(tmp_path, monkeypatch):
    monkeypatch.setattr(results_file, "RESULTS", tmp_path)
    status = run.main(
        ["--users", "4", "--spawn-rate", "4", "--duration", "8", "--warmup", "4", "--name", "load-e2e"]
    )
    report = (tmp_path / "load-e2e.md").read_text()
    assert status == 0, report
    assert "Invariant audit after the run: passed" in report
    requests = int(next(r for r in report.splitlines() if r.startswith("| **all**")).split("|")[2])
    if requests < 10:
        pytest.fail(f"the drill made only {requests} requests:\n{report}")


def test_a_short_chaos_drill_stops_postgresql_and_the_system_recovers_by_itself(tmp_path, monkeypatch):
    """`make chaos` in miniature: PostgreSQL stopped for a few seconds under load, then started."""
    from tools.chaos import run as chaos

    monkeypatch.setattr(results_file, "RESULTS", tmp_path)
    drill = "--only postgres --users 3 --window 6 --before 3 --after 6 --warmup 4 --name chaos-e2e"
    status = chaos.main(drill.split())
    report = (tmp_path / "chaos-e2e.md").read_text()
    assert status == 0, report
    (row,) = [line for line in report.splitlines() if line.startswith("| PostgreSQL stopped")]
    assert "503 DEPENDENCY_UNAVAILABLE" in row, "the drill saw the outage"
    assert row.rstrip(" |").endswith("pass"), row
