"""Evaluates every metric alarm of LocalStack's CloudWatch on a fixed interval (see ``alarms``).

Started when the ``cloudwatch`` service loads; LocalStack's own ``AlarmScheduler`` is then told to
schedule nothing, so one evaluator alone sets alarm states.  A state change goes through
``SetAlarmState`` on LocalStack's internal client, so the alarm's actions (an SNS topic), its history
and the composite alarms above it follow as they do for any state change.

``AGORA_ALARM_EVALUATION_S`` (default 10) is how often; AWS evaluates once a minute, which here
would only add latency.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

from agora_localstack.metrics.alarms import Decision, UnsupportedAlarm, decide
from agora_localstack.metrics.expressions import ExpressionError
from agora_localstack.metrics.store import fetcher

LOG = logging.getLogger(__name__)

INTERVAL_ENV = "AGORA_ALARM_EVALUATION_S"
DEFAULT_INTERVAL_S = 10.0
MAX_REASON = 1023


def interval_s() -> float:
    try:
        return max(1.0, float(os.environ.get(INTERVAL_ENV) or DEFAULT_INTERVAL_S))
    except ValueError:
        return DEFAULT_INTERVAL_S


class AlarmEvaluator:
    def __init__(self, every_s: float | None = None) -> None:
        self.every_s = every_s or interval_s()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Alarms that cannot be evaluated, by ARN and configuration: logged once, not every pass.
        self._reported: dict[str, Any] = {}

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        from localstack.runtime.shutdown import SHUTDOWN_HANDLERS

        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="agora-alarm-evaluator", daemon=True)
        self._thread.start()
        SHUTDOWN_HANDLERS.register(self.stop)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.evaluate_all()
            except Exception:
                LOG.exception("Alarm evaluation failed")

    def evaluate_all(self, now: float | None = None) -> None:
        from localstack.services.cloudwatch.cloudwatch_database_helper import CloudwatchDatabase
        from localstack.services.cloudwatch.models import LocalStackMetricAlarm, cloudwatch_stores

        now = time.time() if now is None else now
        for account_id, region, store in list(cloudwatch_stores.iter_stores()):
            fetch = fetcher(CloudwatchDatabase.METRICS_DB, account_id, region)
            for alarm in list(store.alarms.values()):
                if isinstance(alarm, LocalStackMetricAlarm):
                    self._evaluate(account_id, region, dict(alarm.alarm), fetch, now)

    def _evaluate(self, account_id: str, region: str, alarm: dict[str, Any], fetch: Any, now: float) -> None:
        arn = str(alarm.get("AlarmArn") or alarm.get("AlarmName"))
        try:
            decision = decide(alarm, fetch, now)
        except (UnsupportedAlarm, ExpressionError) as e:
            configured = alarm.get("AlarmConfigurationUpdatedTimestamp")
            if self._reported.get(arn) != configured:
                self._reported[arn] = configured
                LOG.warning("Alarm %s is not evaluated: %s", alarm.get("AlarmName"), e)
            return
        if decision is None or decision.state == alarm.get("StateValue"):
            return
        set_state(account_id, region, alarm["AlarmName"], decision)


def set_state(account_id: str, region: str, name: str, decision: Decision) -> None:
    from localstack.aws.connect import connect_to

    client = connect_to(aws_access_key_id=account_id, region_name=region).cloudwatch
    client.set_alarm_state(
        AlarmName=name,
        StateValue=decision.state,
        StateReason=decision.reason[:MAX_REASON],
        StateReasonData=json.dumps(decision.reason_data),
    )
    LOG.info("Alarm %s is now %s: %s", name, decision.state, decision.reason)


EVALUATOR = AlarmEvaluator()
