"""Every PostgreSQL service is alarmed, in its own stack, when its outbox relay parks an event."""

from __future__ import annotations

from stacks import names
from tests.infra.synthesis import Synthesis


def test_every_postgres_service_alarms_on_parked_outbox_rows(synth: Synthesis, services):
    watched = {
        (alarm.stack, dimension["Value"])
        for alarm in synth.resources("AWS::CloudWatch::Alarm")
        if alarm.props.get("MetricName") == "OutboxParked"
        and alarm.props["Namespace"] == "Agora"
        and alarm.props["Threshold"] == 0
        and alarm.props["ComparisonOperator"] == "GreaterThanThreshold"
        for dimension in alarm.props["Dimensions"]
        if dimension["Name"] == "service"
    }
    assert watched == {(names.service_stack(s.name), s.name) for s in services if s.uses_postgres}
