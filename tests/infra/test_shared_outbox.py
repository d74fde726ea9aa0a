"""Every PostgreSQL service is alarmed when its outbox relay parks an event."""

from __future__ import annotations


def test_every_postgres_service_alarms_on_parked_outbox_rows(target, services):
    _, _, template = target
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    watched = {
        dimension["Value"]
        for alarm in alarms.values()
        if alarm["Properties"].get("MetricName") == "OutboxParked"
        and alarm["Properties"]["Namespace"] == "Agora"
        and alarm["Properties"]["Threshold"] == 0
        and alarm["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
        for dimension in alarm["Properties"]["Dimensions"]
        if dimension["Name"] == "service"
    }
    assert watched == {s.name for s in services if s.uses_postgres}
