"""What the console reads from LocalStack's AWS APIs: dashboards and metrics, alarms, traces, logs
and dead-letter queues.  Every call goes through boto3 against the LocalStack endpoint with the
test credentials (``tools.dev.stack.boto``); the shaping is in the pure modules beside this one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.console import logs, metrics, traces
from tools.console.expressions import Series

# BatchGetTraces takes at most five ids a call.
TRACE_BATCH = 5
# A trace is re-read while segments may still arrive (async consumers, retries); older ones are kept.
TRACE_SETTLE_S = 120
TRACE_CACHE_MAX = 20_000
# The newest traces of the window a search or the service map reads at most.
MAX_SCAN = 2000
WORKERS = 8


class NotFound(Exception):
    """What was asked for is not there (the server answers 404)."""


class Sources:
    """The console's reads, over one set of boto3 clients (clients are thread safe once made)."""

    def __init__(
        self, state: Path, stage: str, catalog: traces.Catalog, client: Callable[[str, Path], Any]
    ) -> None:
        self.state = state
        self.stage = stage
        self.catalog = catalog
        self._client = client
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._traces: dict[str, tuple[float, list[traces.Span]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="console-aws")

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._client(service, self.state)
            return self._clients[service]

    # --- dashboards ------------------------------------------------------------------------------

    def dashboards(self) -> list[dict[str, Any]]:
        cw = self.client("cloudwatch")
        names = [
            d["DashboardName"] for page in _pages(cw, "list_dashboards") for d in page["DashboardEntries"]
        ]
        # The overview first, then by name.
        return [{"name": n} for n in sorted(names, key=lambda n: (n != "agora-overview", n))]

    def widgets(self, name: str) -> list[metrics.Widget]:
        body = self.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"]
        return metrics.dashboard_widgets(json.loads(body))

    def dashboard(self, name: str) -> dict[str, Any]:
        return {"name": name, "widgets": [w.outline(i) for i, w in enumerate(self.widgets(name))]}

    def widget_data(self, name: str, index: int, window_s: int, period: int | None) -> dict[str, Any]:
        widgets = self.widgets(name)
        if index >= len(widgets):
            raise NotFound(f"{name} has no widget {index}")
        widget = widgets[index]
        plan = metrics.plan_widget(widget, period, self._find_metrics, floor=metrics.floor_period(window_s))
        if widget.problem:
            plan.note(widget.problem)
        start, end = metrics.window(time.time(), window_s, plan.period)
        results = self._metric_data(plan.queries, start, end)
        series = metrics.assemble(plan, results, metrics.grid(start, end, plan.period))
        return {
            **widget.outline(index),
            "series": series,
            "notes": plan.notes,
            "period": plan.period,
            "start": start,
            "end": end,
        }

    def _find_metrics(self, search: metrics.Search) -> list[dict[str, Any]]:
        kwargs = {k: v for k, v in (("Namespace", search.namespace), ("MetricName", search.metric_name)) if v}
        cw = self.client("cloudwatch")
        return [m for page in _pages(cw, "list_metrics", **kwargs) for m in page["Metrics"]]

    def _metric_data(self, queries: list[dict[str, Any]], start: float, end: float) -> dict[str, Series]:
        cw = self.client("cloudwatch")
        results: dict[str, Series] = {}
        for chunk in chunks(queries, metrics.MAX_QUERIES):
            for page in _pages(
                cw,
                "get_metric_data",
                MetricDataQueries=chunk,
                StartTime=datetime.fromtimestamp(start, UTC),
                EndTime=datetime.fromtimestamp(end, UTC),
            ):
                for result in page["MetricDataResults"]:
                    results.setdefault(result["Id"], {}).update(metrics.series_of(result))
        return results

    # --- alarms and queues -----------------------------------------------------------------------

    def alarms(self) -> list[dict[str, Any]]:
        cw = self.client("cloudwatch")
        found = [alarm_row(a) for page in _pages(cw, "describe_alarms") for a in page["MetricAlarms"]]
        order = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}
        return sorted(found, key=lambda a: (order.get(a["state"], 3), a["name"]))

    def queues(self) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        urls = [
            u
            for page in _pages(sqs, "list_queues", QueueNamePrefix=f"agora-{self.stage}-")
            for u in page.get("QueueUrls", [])
        ]
        dlqs = sorted(u for u in urls if u.rsplit("/", 1)[-1].endswith("-dlq"))
        return list(self._pool.map(self._queue_row, dlqs))

    def _queue_row(self, url: str) -> dict[str, Any]:
        sqs = self.client("sqs")
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        sources = sqs.list_dead_letter_source_queues(QueueUrl=url).get("queueUrls", [])
        return {
            "name": url.rsplit("/", 1)[-1],
            "url": url,
            "depth": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
            "retention_s": int(attributes.get("MessageRetentionPeriod", 0)),
            "sources": [s.rsplit("/", 1)[-1] for s in sources],
        }

    # --- traces ----------------------------------------------------------------------------------

    def trace_ids(self, window_s: int) -> list[str]:
        """The ids of the traces in the window, newest first (X-Ray ids start with their epoch)."""
        xray = self.client("xray")
        now = time.time()
        ids = {
            t["Id"]
            for page in _pages(
                xray,
                "get_trace_summaries",
                StartTime=datetime.fromtimestamp(now - window_s, UTC),
                EndTime=datetime.fromtimestamp(now + 60, UTC),
            )
            for t in page["TraceSummaries"]
        }
        return sorted(ids, key=lambda i: (i.split("-")[1:2], i), reverse=True)

    def spans(self, trace_ids: list[str]) -> dict[str, list[traces.Span]]:
        """The trees of these traces, read in batches, settled ones from the cache."""
        now = time.time()
        wanted = [i for i in trace_ids if not self._settled(i, now)]
        for fetched in self._pool.map(self._batch, chunks(wanted, TRACE_BATCH)):
            with self._lock:
                for trace_id, roots in fetched.items():
                    self._traces[trace_id] = (now, roots)
        with self._lock:
            if len(self._traces) > TRACE_CACHE_MAX:
                self._traces.clear()
            return {i: self._traces[i][1] for i in trace_ids if i in self._traces}

    def _settled(self, trace_id: str, now: float) -> bool:
        cached = self._traces.get(trace_id)
        return cached is not None and cached[0] - trace_started(trace_id) > TRACE_SETTLE_S

    def _batch(self, ids: list[str]) -> dict[str, list[traces.Span]]:
        answer = self.client("xray").batch_get_traces(TraceIds=ids)
        return {t["Id"]: traces.build(traces.documents_of(t), self.catalog) for t in answer["Traces"]}

    def search_traces(
        self, window_s: int, service: str, status: str, text: str, limit: int
    ) -> dict[str, Any]:
        ids = self.trace_ids(window_s)
        trees = self.spans(ids[:MAX_SCAN])
        found = []
        for trace_id, roots in trees.items():
            line = traces.summary(trace_id, roots)
            if traces.matches(line, roots, service, status, text):
                found.append(line)
        found.sort(key=lambda t: t["start"], reverse=True)
        return {"traces": found[:limit], "matched": len(found), "scanned": len(trees), "total": len(ids)}

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        roots = self.spans([trace_id]).get(trace_id)
        if roots is None:
            return None
        return {**traces.summary(trace_id, roots), **traces.waterfall(roots)}

    def service_map(self, window_s: int) -> dict[str, Any]:
        xray = self.client("xray")
        now = time.time()
        graph = xray.get_service_graph(
            StartTime=datetime.fromtimestamp(now - window_s, UTC), EndTime=datetime.fromtimestamp(now, UTC)
        )
        if graph.get("Services"):
            return traces.graph_from_xray(graph["Services"])
        ids = self.trace_ids(window_s)
        trees = self.spans(ids[:MAX_SCAN])
        return {**traces.service_map(trees.values()), "traces": len(trees), "total": len(ids)}

    # --- logs ------------------------------------------------------------------------------------

    def log_groups(self) -> list[str]:
        cw_logs = self.client("logs")
        prefix = logs.group_prefix(self.stage)
        return [
            g["logGroupName"]
            for page in _pages(cw_logs, "describe_log_groups", logGroupNamePrefix=prefix)
            for g in page["logGroups"]
        ]

    def logs(self, text: str, window_s: int, limit: int) -> dict[str, Any]:
        groups = self.log_groups()
        start_ms = int((time.time() - window_s) * 1000)
        rows = [
            row
            for found in self._pool.map(lambda g: self._group_events(g, text, start_ms), groups)
            for row in found
        ]
        return {"events": logs.newest(rows, limit), "matched": len(rows), "groups": len(groups)}

    def _group_events(self, group: str, text: str, start_ms: int) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
        if pattern := logs.filter_pattern(text):
            kwargs["filterPattern"] = pattern
        cw_logs = self.client("logs")
        return [
            logs.row_of(group, event, self.stage)
            for page in _pages(cw_logs, "filter_log_events", **kwargs)
            for event in page["events"]
            if logs.matches(event, text)
        ]


def alarm_row(alarm: dict[str, Any]) -> dict[str, Any]:
    updated = alarm.get("StateUpdatedTimestamp")
    period = alarm.get("Period") or _alarm_period(alarm)
    return {
        "name": alarm["AlarmName"],
        "state": alarm.get("StateValue", "INSUFFICIENT_DATA"),
        "reason": alarm.get("StateReason", ""),
        "description": alarm.get("AlarmDescription", ""),
        "metric": _watched(alarm),
        "uses": _used(alarm),
        "condition": f"{alarm.get('ComparisonOperator', '')} {alarm.get('Threshold', '')} "
        f"for {alarm.get('EvaluationPeriods', 1)} period(s) of {period} s",
        "updated": updated.timestamp() if isinstance(updated, datetime) else None,
        "actions": alarm.get("AlarmActions", []),
    }


def _watched(alarm: dict[str, Any]) -> str:
    """What an alarm watches: its metric, or its expression."""
    queries = alarm.get("Metrics") or []
    if not queries:
        return _metric_text(alarm, alarm.get("Statistic") or alarm.get("ExtendedStatistic") or "")
    expression = next((q["Expression"] for q in queries if q.get("Expression")), None)
    return expression or "; ".join(_used(alarm))


def _used(alarm: dict[str, Any]) -> list[str]:
    """The metrics an alarm's expression uses, by id."""
    return [
        f"{q['Id']} = {_metric_text(q['MetricStat']['Metric'], q['MetricStat'].get('Stat', ''))}"
        for q in alarm.get("Metrics") or []
        if "MetricStat" in q
    ]


def _metric_text(metric: dict[str, Any], statistic: str) -> str:
    dims = ", ".join(f"{d['Name']}={d['Value']}" for d in metric.get("Dimensions", []))
    return f"{metric.get('Namespace')} {metric.get('MetricName')} {statistic} ({dims})".replace("  ", " ")


def _alarm_period(alarm: dict[str, Any]) -> int | str:
    periods = {q["MetricStat"]["Period"] for q in alarm.get("Metrics", []) if "MetricStat" in q}
    return periods.pop() if len(periods) == 1 else "?"


def trace_started(trace_id: str) -> float:
    """The epoch second an X-Ray trace id carries (``1-<8 hex digits>-<24 hex digits>``)."""
    try:
        return float(int(trace_id.split("-")[1], 16))
    except (IndexError, ValueError):
        return 0.0


# CloudWatch Logs spells its page token in lower camel case.
PAGE_TOKENS = {"filter_log_events": "nextToken", "describe_log_groups": "nextToken"}


def _pages(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of an operation, following its token by hand (LocalStack answers some
    operations boto3 has no paginator for)."""
    token_name = PAGE_TOKENS.get(operation, "NextToken")
    seen: set[str] = set()
    while True:
        page = getattr(client, operation)(**kwargs)
        yield page
        token = page.get(token_name)
        if not token or token in seen:
            return
        seen.add(token)
        kwargs[token_name] = token


def chunks[T](items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
