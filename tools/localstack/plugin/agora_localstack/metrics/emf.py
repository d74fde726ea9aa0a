"""CloudWatch embedded metric format (EMF): log lines that are metrics.

On AWS, Lambda's log ingestion turns every log line that is an EMF document into metrics; here the
same happens to each invocation's logs (see ``metrics.plugin``).  The format
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):

    {"_aws": {"Timestamp": 1795549723523,
              "CloudWatchMetrics": [{"Namespace": "Agora",
                                     "Dimensions": [["service"], ["service", "operation"]],
                                     "Metrics": [{"Name": "OrdersPlaced", "Unit": "Count"}]}]},
     "service": "orders", "operation": "create_order", "OrdersPlaced": [1.0, 1.0]}

Each metric directive yields, for each of its dimension sets, one datum per metric: the value (a
number, or an array of up to 100 numbers) is the root member named like the metric, and each
dimension's value is the root member of that name (a string).  What the specification makes invalid
is left out rather than guessed: a document without a numeric ``Timestamp``, a directive without a
``Namespace`` or ``Metrics`` list, a dimension set naming a member that is missing or not a string,
a metric whose value is missing, not numeric or not finite, an unknown unit.  A directive without
``Dimensions`` is taken as one empty dimension set.

Nothing here imports LocalStack: this module is tested on its own.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

LOG = logging.getLogger(__name__)

MAX_DIMENSIONS_PER_SET = 30
MAX_METRICS_PER_DIRECTIVE = 100
MAX_VALUES_PER_METRIC = 100
# CloudWatch's StandardUnit.
UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
_MARKER = '"_aws"'


@dataclass(frozen=True)
class Datum:
    """One metric of one dimension set, with every value an EMF document gave it."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    unit: str | None
    values: tuple[float, ...]
    timestamp_ms: int
    storage_resolution: int | None = None

    def metric_data(self) -> dict[str, Any]:
        """The ``MetricData`` entry of ``PutMetricData`` (``Values`` with their ``Counts``)."""
        counted = Counter(self.values)
        entry: dict[str, Any] = {
            "MetricName": self.name,
            "Dimensions": [{"Name": name, "Value": value} for name, value in self.dimensions],
            "Timestamp": datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC),
            "Values": list(counted),
            "Counts": [float(count) for count in counted.values()],
        }
        if self.unit:
            entry["Unit"] = self.unit
        if self.storage_resolution:
            entry["StorageResolution"] = self.storage_resolution
        return entry


def data_in_logs(text: str) -> list[Datum]:
    """Every datum of every EMF line in a block of log output (other lines are skipped)."""
    data: list[Datum] = []
    for line in text.splitlines():
        if _MARKER in line:
            data.extend(data_in_line(line))
    return data


def data_in_line(line: str) -> list[Datum]:
    """The data of one log line; ``[]`` when it is not a valid EMF document."""
    line = line.strip()
    if not line.startswith("{") or _MARKER not in line:
        return []
    try:
        document = json.loads(line)
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    return data_in_document(document)


def data_in_document(document: dict[str, Any]) -> list[Datum]:
    metadata = document.get("_aws")
    if not isinstance(metadata, dict):
        return []
    timestamp = metadata.get("Timestamp")
    directives = metadata.get("CloudWatchMetrics")
    if not _is_number(timestamp) or not isinstance(directives, list):
        LOG.debug("EMF document without a numeric Timestamp or a CloudWatchMetrics list: skipped")
        return []
    data: list[Datum] = []
    for directive in directives:
        if isinstance(directive, dict):
            data.extend(_directive_data(document, directive, int(timestamp)))
    return data


def _directive_data(document: dict[str, Any], directive: dict[str, Any], timestamp_ms: int) -> list[Datum]:
    namespace = directive.get("Namespace")
    metrics = directive.get("Metrics")
    if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255 or not isinstance(metrics, list):
        LOG.debug("EMF directive without a Namespace or a Metrics list: skipped")
        return []
    dimension_sets = _dimension_sets(document, directive.get("Dimensions", [[]]))
    data: list[Datum] = []
    for metric in metrics[:MAX_METRICS_PER_DIRECTIVE]:
        parsed = _metric(document, metric)
        if parsed is None:
            continue
        name, unit, values, resolution = parsed
        data.extend(
            Datum(namespace, name, dimensions, unit, values, timestamp_ms, resolution)
            for dimensions in dimension_sets
        )
    return data


def _dimension_sets(document: dict[str, Any], declared: Any) -> list[tuple[tuple[str, str], ...]]:
    if not isinstance(declared, list):
        return []
    sets: list[tuple[tuple[str, str], ...]] = []
    for names in declared:
        if not isinstance(names, list) or len(names) > MAX_DIMENSIONS_PER_SET:
            continue
        values = [document.get(name) if isinstance(name, str) else None for name in names]
        if not all(isinstance(value, str) and value for value in values):
            LOG.debug("EMF dimension set %s names a member that is missing or not a string", names)
            continue
        dimensions = tuple(zip(names, values, strict=True))
        if len({name for name, _ in dimensions}) == len(dimensions) and dimensions not in sets:
            sets.append(dimensions)  # type: ignore[arg-type]
    return sets


def _metric(
    document: dict[str, Any], metric: Any
) -> tuple[str, str | None, tuple[float, ...], int | None] | None:
    if not isinstance(metric, dict) or not isinstance(metric.get("Name"), str) or not metric["Name"]:
        return None
    name: str = metric["Name"]
    unit = metric.get("Unit")
    if unit is not None and unit not in UNITS:
        LOG.debug("EMF metric %s has an unknown unit %r: skipped", name, unit)
        return None
    resolution = metric.get("StorageResolution")
    if resolution is not None and resolution not in (1, 60):
        return None
    raw = document.get(name)
    members: list[Any] = raw if isinstance(raw, list) else [raw]
    values = tuple(float(v) for v in members if _is_finite(v))
    if not values or len(values) != len(members) or len(values) > MAX_VALUES_PER_METRIC:
        LOG.debug("EMF metric %s has no valid value: skipped", name)
        return None
    return name, unit, values, resolution


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: Any) -> TypeGuard[int | float]:
    return _is_number(value) and math.isfinite(value)
