"""How a metric alarm's state follows from its data, as CloudWatch decides it.

Community LocalStack's own scheduler evaluates only single-metric alarms with a plain statistic,
re-reads them once every ``EvaluationPeriods * Period`` seconds, and counts every breaching value of
the last ``EvaluationPeriods + 2`` un-aligned periods (so an alarm stays in ALARM for three periods
after the data stopped breaching).  This evaluator replaces it (``metrics.evaluator``) and decides
every metric alarm the way the CloudWatch documentation describes:

- the data are the last ``EvaluationPeriods`` periods, aligned to multiples of ``Period`` (the
  current, still running period included, so a breach is seen as soon as its data point arrives);
- a period's value is the alarm's ``Statistic`` or ``ExtendedStatistic`` (``pNN``) of the metric
  with exactly the alarm's dimensions, or, for a metric math alarm, the value of its ``ReturnData``
  expression (see ``expressions``) over its ``MetricStat`` queries;
- ALARM when at least ``DatapointsToAlarm`` (default ``EvaluationPeriods``) values breach;
  ``TreatMissingData``: ``missing`` (default) → INSUFFICIENT_DATA when every period is missing,
  ``ignore`` → the state is kept then, ``breaching`` / ``notBreaching`` → a missing value counts
  as such; otherwise OK once ALARM can no longer be reached.

Anomaly-detection thresholds (``ThresholdMetricId``) are not evaluated (``UnsupportedAlarm``).
Nothing here imports LocalStack.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agora_localstack.metrics import expressions
from agora_localstack.metrics.expressions import Series

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
# Fetch(metric_stat, start, end, period) -> {period start: value}, for [start, end).
Fetch = Callable[[Mapping[str, Any], int, int, int], Series]


class UnsupportedAlarm(ValueError):
    pass


@dataclass(frozen=True)
class Decision:
    state: str
    reason: str
    reason_data: dict[str, Any] = field(default_factory=dict)


def period_of(alarm: Mapping[str, Any]) -> int:
    if alarm.get("Period"):
        return int(alarm["Period"])
    queries = alarm.get("Metrics") or []
    for query in sorted(queries, key=lambda q: not q.get("ReturnData", False)):
        period = query.get("Period") or (query.get("MetricStat") or {}).get("Period")
        if period:
            return int(period)
    raise UnsupportedAlarm(f"alarm {alarm.get('AlarmName')} has no period")


def periods(now: float, period: int, count: int) -> list[int]:
    """The starts of the last ``count`` periods aligned to ``period``, oldest first, the current one last."""
    current = int(now // period) * period
    return [current - period * i for i in range(count - 1, -1, -1)]


def series_of(alarm: Mapping[str, Any], fetch: Fetch, timestamps: Sequence[int], period: int) -> Series:
    start, end = timestamps[0], timestamps[-1] + period
    if alarm.get("ThresholdMetricId"):
        raise UnsupportedAlarm("anomaly detection alarms are not evaluated")
    queries = alarm.get("Metrics")
    if not queries:
        stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
        if not alarm.get("MetricName") or not stat:
            raise UnsupportedAlarm(f"alarm {alarm.get('AlarmName')} names no metric and statistic")
        metric_stat = {
            "Metric": {
                "Namespace": alarm.get("Namespace"),
                "MetricName": alarm["MetricName"],
                "Dimensions": alarm.get("Dimensions") or [],
            },
            "Period": period,
            "Stat": stat,
            **({"Unit": alarm["Unit"]} if alarm.get("Unit") else {}),
        }
        return fetch(metric_stat, start, end, period)
    return math_series(queries, fetch, timestamps, period)


def math_series(
    queries: Sequence[Mapping[str, Any]], fetch: Fetch, timestamps: Sequence[int], period: int
) -> Series:
    """The series of a metric math alarm: its ``ReturnData`` query over the others."""
    start, end = timestamps[0], timestamps[-1] + period
    returned = [q for q in queries if q.get("ReturnData", True)]
    if len(returned) != 1:
        raise UnsupportedAlarm("a metric math alarm must return exactly one of its queries")
    metrics: dict[str, Series] = {}
    nodes: dict[str, expressions.Node] = {}
    for query in queries:
        if "MetricStat" in query:
            stat = dict(query["MetricStat"])
            metrics[query["Id"]] = fetch(stat, start, end, int(stat.get("Period") or period))
        elif "Expression" in query:
            nodes[query["Id"]] = expressions.parse(query["Expression"])
        else:
            raise UnsupportedAlarm(f"query {query.get('Id')} has neither MetricStat nor Expression")
    # No SEARCH or METRICS() in alarms: the context gives neither.
    context = expressions.Context(series=metrics, expressions=nodes, grid=timestamps)
    for query_id in nodes:  # every expression, so that one that cannot be evaluated says so
        context.resolve(query_id)
    result = context.resolve(returned[0]["Id"])
    if isinstance(result, dict):
        return result
    if isinstance(result, list):
        raise UnsupportedAlarm("a metric math alarm must return a time series, not an array")
    return dict.fromkeys(timestamps, float(result))


def decide(alarm: Mapping[str, Any], fetch: Fetch, now: float) -> Decision | None:
    """The alarm's state now; None when it keeps its current one."""
    comparison = alarm.get("ComparisonOperator", "")
    if comparison not in COMPARISONS:
        raise UnsupportedAlarm(f"comparison {comparison} is not evaluated")
    compare, words = COMPARISONS[comparison]
    threshold = float(alarm["Threshold"])
    period = period_of(alarm)
    count = int(alarm.get("EvaluationPeriods") or 1)
    to_alarm = int(alarm.get("DatapointsToAlarm") or count)
    missing = alarm.get("TreatMissingData") or "missing"
    timestamps = periods(now, period, count)
    series = series_of(alarm, fetch, timestamps, period)
    values = [series.get(t) for t in timestamps]
    present = [(t, v) for t, v in zip(timestamps, values, strict=True) if v is not None]
    breaching = sum(1 for _, v in present if compare(v, threshold))
    unknown = len(values) - len(present)
    if missing == "breaching":
        breaching += unknown
    elif missing == "notBreaching":
        pass
    elif not present:
        if missing == "ignore":
            return None
        return Decision(
            INSUFFICIENT_DATA,
            f"Insufficient Data: {_count(count, 'datapoint')} {'was' if count == 1 else 'were'} unknown.",
            _reason_data(alarm, now, period, threshold, present),
        )
    data = _reason_data(alarm, now, period, threshold, present)
    if not present:  # breaching / notBreaching: every value is missing, and treated as said
        treated = "Breaching" if missing == "breaching" else "NonBreaching"
        return Decision(
            ALARM if breaching >= to_alarm else OK,
            f"Threshold Crossed: no datapoints were received for {_count(count, 'period')} and "
            f"{_count(count, 'missing datapoint')} {'was' if count == 1 else 'were'} treated as [{treated}].",
            data,
        )
    judged = len(values) if missing in ("breaching", "notBreaching") else len(present)
    shown = ", ".join(f"{_number(v)} ({_when(t)})" for t, v in reversed(present))
    if breaching >= to_alarm:
        return Decision(
            ALARM,
            f"Threshold Crossed: {breaching} out of the last {count} datapoints [{shown}] "
            f"{'was' if breaching == 1 else 'were'} {words} the threshold ({_number(threshold)}) "
            f"(minimum {_count(to_alarm, 'datapoint')} for OK -> ALARM transition).",
            data,
        )
    fine = judged - breaching
    if fine > count - to_alarm:
        return Decision(
            OK,
            f"Threshold Crossed: {_count(fine, 'datapoint')} [{shown}] "
            f"{'was' if fine == 1 else 'were'} not {words} the threshold ({_number(threshold)}) "
            f"(minimum {_count(count - to_alarm + 1, 'datapoint')} for ALARM -> OK transition).",
            data,
        )
    return None


def _reason_data(
    alarm: Mapping[str, Any], now: float, period: int, threshold: float, present: list[tuple[int, float]]
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _iso(now),
        "period": period,
        "recentDatapoints": [v for _, v in present],
        "threshold": threshold,
        "evaluatedDatapoints": [{"timestamp": _iso(t), "value": v} for t, v in reversed(present)],
    }
    if present:
        data["startDate"] = _iso(present[0][0])
    if alarm.get("Statistic"):
        data["statistic"] = alarm["Statistic"]
    if alarm.get("ExtendedStatistic"):
        data["statistic"] = alarm["ExtendedStatistic"]
    if alarm.get("Unit"):
        data["unit"] = alarm["Unit"]
    return data


def statistic(
    values: Sequence[float], stat: str, aggregated: Sequence[tuple[float, float, float, float]] = ()
) -> float | None:
    """A statistic of raw values plus pre-aggregated (sample count, sum, min, max) sets; None when
    there is no data (or a percentile of aggregated sets only)."""
    count = len(values) + sum(a[0] for a in aggregated)
    if count <= 0:
        return None
    match stat:
        case "SampleCount":
            return float(count)
        case "Sum":
            return math.fsum(values) + math.fsum(a[1] for a in aggregated)
        case "Average":
            return (math.fsum(values) + math.fsum(a[1] for a in aggregated)) / count
        case "Minimum":
            return min([*values, *(a[2] for a in aggregated)])
        case "Maximum":
            return max([*values, *(a[3] for a in aggregated)])
    if stat.startswith("p"):
        return _percentile(values, stat)
    raise UnsupportedAlarm(f"statistic {stat} is not supported")


def _percentile(values: Sequence[float], stat: str) -> float | None:
    """``pNN``: the nearest-rank percentile of the raw values (aggregated sets have none)."""
    try:
        percent = float(stat[1:])
    except ValueError:
        raise UnsupportedAlarm(f"statistic {stat} is not supported") from None
    if not 0 <= percent <= 100:
        raise UnsupportedAlarm(f"statistic {stat} is not supported")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _number(value: float) -> str:
    return repr(float(value))


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%d/%m/%y %H:%M:%S")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
