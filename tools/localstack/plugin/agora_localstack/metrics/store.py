"""Reads metric data from LocalStack's CloudWatch store (its SQLite database) for the alarm evaluator.

LocalStack's ``GetMetricData`` would do for plain statistics, but it matches dimensions as a
substring (``service=orders`` also finds ``{service=orders, operation=x}``) and has no percentiles;
an alarm needs the metric with exactly its dimensions, and ``p99``.  The database is LocalStack
2026.3.0's (``cloudwatch_database_helper``): ``SINGLE_METRICS`` holds one row per value and
``AGGREGATED_METRICS`` one per ``StatisticValues`` set, dimensions stored as ``Name=Value\\t`` pairs
sorted by name.  It is opened read-only.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from agora_localstack.metrics.alarms import Fetch, statistic
from agora_localstack.metrics.expressions import Series


def dimensions_key(dimensions: list[Mapping[str, str]] | None) -> str | None:
    """The dimensions as LocalStack stores them, or None for none."""
    if not dimensions:
        return None
    return "".join(f"{d['Name']}={d['Value']}\t" for d in sorted(dimensions, key=lambda d: d["Name"]))


def fetcher(database: str, account_id: str, region: str) -> Fetch:
    def fetch(metric_stat: Mapping[str, Any], start: int, end: int, period: int) -> Series:
        metric = metric_stat["Metric"]
        where = [
            "account_id = ?",
            "region = ?",
            "namespace = ?",
            "metric_name = ?",
            "timestamp >= ?",
            "timestamp < ?",
        ]
        params: list[Any] = [account_id, region, metric.get("Namespace"), metric["MetricName"], start, end]
        key = dimensions_key(metric.get("Dimensions"))
        if key is None:
            where.append("dimensions IS NULL")
        else:
            where.append("dimensions = ?")
            params.append(key)
        if metric_stat.get("Unit"):
            where.append("unit = ?")
            params.append(metric_stat["Unit"])
        condition = " AND ".join(where)
        raw: dict[int, list[float]] = defaultdict(list)
        aggregated: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            for timestamp, value in connection.execute(
                f"SELECT timestamp, value FROM SINGLE_METRICS WHERE {condition}",  # noqa: S608
                params,
            ):
                raw[_bucket(timestamp, start, period)].append(float(value))
            for timestamp, count, total, low, high in connection.execute(
                f"SELECT timestamp, sample_count, sum, min, max FROM AGGREGATED_METRICS WHERE {condition}",  # noqa: S608
                params,
            ):
                aggregated[_bucket(timestamp, start, period)].append(
                    (float(count or 0), float(total or 0), float(low or 0), float(high or 0))
                )
        series: Series = {}
        for bucket in sorted(raw.keys() | aggregated.keys()):
            value = statistic(raw.get(bucket, []), metric_stat["Stat"], aggregated.get(bucket, []))
            if value is not None:
                series[bucket] = value
        return series

    return fetch


def _bucket(timestamp: float, start: int, period: int) -> int:
    return start + int((float(timestamp) - start) // period) * period
