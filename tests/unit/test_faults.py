"""Fault points: silent unless armed, each kind fails as documented, environment arming read once."""

from __future__ import annotations

import pytest

from agora import deadline, faults
from agora.faults import InjectedCrash, InjectedFault, InjectedTimeout, armed, fault_point


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    monkeypatch.delenv(faults.ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    faults.disarm_all()
    faults._from_environment.cache_clear()
    yield
    faults.disarm_all()
    faults._from_environment.cache_clear()


def test_an_unarmed_point_does_nothing():
    fault_point("agora.test.point")


def test_error_raises_an_ordinary_exception_once_by_default():
    faults.arm("agora.test.point", "error")
    with pytest.raises(InjectedFault, match=r"agora\.test\.point"):
        fault_point("agora.test.point")
    fault_point("agora.test.point")


def test_crash_escapes_except_exception():
    def swallowing() -> str:
        try:
            fault_point("agora.test.point")
        except Exception:
            return "swallowed"
        return "passed"

    with armed("agora.test.point", "crash"), pytest.raises(InjectedCrash):
        swallowing()
    assert not isinstance(InjectedCrash("x"), Exception)


def test_timeout_raises_in_process():
    with armed("agora.test.point", "timeout"), pytest.raises(InjectedTimeout):
        fault_point("agora.test.point")


def test_times_counts_passes_and_none_means_every_pass():
    faults.arm("agora.test.a", "error", times=2)
    faults.arm("agora.test.b", "error", times=None)
    for _ in range(2):
        with pytest.raises(InjectedFault):
            fault_point("agora.test.a")
    fault_point("agora.test.a")
    for _ in range(5):
        with pytest.raises(InjectedFault):
            fault_point("agora.test.b")


def test_after_lets_passes_through_before_firing():
    with armed("agora.test.point", "error", after=2):
        fault_point("agora.test.point")
        fault_point("agora.test.point")
        with pytest.raises(InjectedFault):
            fault_point("agora.test.point")
        fault_point("agora.test.point")


def test_armed_disarms_on_exit_even_when_unfired():
    with armed("agora.test.point", "error", times=3):
        pass
    fault_point("agora.test.point")


def test_other_points_are_not_affected():
    with armed("agora.test.point", "error"):
        fault_point("agora.test.other")


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="kind"):
        faults.arm("x", "explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        faults.arm("x", "error", times=0)


def test_the_environment_spec_is_parsed():
    assert faults.parse(" a.b=crash , c=error:3,d=timeout:*,") == {
        "a.b": ("crash", 1),
        "c": ("error", 3),
        "d": ("timeout", None),
    }
    for bad in ("a", "a=boom", "=error", "a=error:0", "a=error:x"):
        with pytest.raises(ValueError, match="bad fault"):
            faults.parse(bad)


def test_the_environment_arms_points_read_once_per_process(monkeypatch):
    monkeypatch.setenv(faults.ENVIRONMENT_VARIABLE, "agora.test.point=error:2")
    with pytest.raises(InjectedFault):
        fault_point("agora.test.point")
    # Changing the environment later changes nothing: it is read once.
    monkeypatch.setenv(faults.ENVIRONMENT_VARIABLE, "agora.test.point=error:*")
    with pytest.raises(InjectedFault):
        fault_point("agora.test.point")
    fault_point("agora.test.point")


def test_an_environment_crash_outside_lambda_raises(monkeypatch):
    monkeypatch.setenv(faults.ENVIRONMENT_VARIABLE, "agora.test.point=crash")
    with pytest.raises(InjectedCrash):
        fault_point("agora.test.point")


def test_an_environment_crash_in_lambda_ends_the_process(monkeypatch):
    exits: list[int] = []

    def fake_exit(status: int) -> None:
        exits.append(status)
        raise SystemExit(status)

    monkeypatch.setenv(faults.ENVIRONMENT_VARIABLE, "agora.test.point=crash")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "agora-test-fn")
    monkeypatch.setattr(faults.os, "_exit", fake_exit)
    with pytest.raises(SystemExit):
        fault_point("agora.test.point")
    assert exits == [137]


def test_an_in_process_crash_in_lambda_still_raises(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "agora-test-fn")
    monkeypatch.setattr(faults.os, "_exit", lambda status: pytest.fail("the process was ended"))
    with armed("agora.test.point", "crash"), pytest.raises(InjectedCrash):
        fault_point("agora.test.point")


def test_an_environment_timeout_in_lambda_sleeps_past_the_remaining_time(monkeypatch, lambda_context):
    slept: list[float] = []
    monkeypatch.setenv(faults.ENVIRONMENT_VARIABLE, "agora.test.point=timeout")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "agora-test-fn")
    monkeypatch.setattr(faults.time, "sleep", slept.append)
    with deadline.invocation(lambda_context), pytest.raises(InjectedTimeout):
        fault_point("agora.test.point")
    assert len(slept) == 1
    assert slept[0] > lambda_context.get_remaining_time_in_millis() / 1000


def test_settings_refuse_a_malformed_fault_spec():
    from agora.settings import ConfigurationError, Settings

    assert Settings.from_env({"AGORA_SERVICE": "orders", "AGORA_FAULTS": "a=error:2"}).faults == "a=error:2"
    with pytest.raises(ConfigurationError, match="AGORA_FAULTS"):
        Settings.from_env({"AGORA_SERVICE": "orders", "AGORA_FAULTS": "a=boom"})
