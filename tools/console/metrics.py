"""Dashboard widgets → the metric queries LocalStack answers → the series a widget draws.

A metric widget's ``metrics`` array (the CloudWatch dashboard body structure) holds two kinds of
row: a metric, ``[namespace, name, dimension, value, …, {options}]`` (``"."`` repeats the value
above at that position, ``"..."`` all of the row above but what follows), and an expression,
``[{"expression": …, "id": …, "label": …}]``.  A metric row with ``"visible": false`` is fetched
for the expressions that use it and not drawn.

LocalStack's GetMetricData answers plain ``MetricStat`` queries with SampleCount, Sum, Average,
Minimum or Maximum only.  So the console sends it those, and itself evaluates math expressions
(``tools.console.expressions``), resolves SEARCH expressions against ListMetrics, and shows a
percentile as the nearest statistic LocalStack serves — saying so on the widget.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.console import expressions
from tools.console.expressions import ExpressionError, SearchKey, Series

DEFAULT_PERIOD = 300
SERVED_STATS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
STAT_ALIASES = {
    "sum": "Sum",
    "avg": "Average",
    "average": "Average",
    "min": "Minimum",
    "minimum": "Minimum",
    "max": "Maximum",
    "maximum": "Maximum",
    "n": "SampleCount",
    "samplecount": "SampleCount",
}
# A period fine enough for a readable graph: at most this many points in the window.
MAX_POINTS = 120
# LocalStack answers each period of each query with a query of its own: never more than this many.
MAX_BUCKETS = 1440
PERIODS = (60, 300, 900, 3600, 21600, 86400)
MAX_QUERIES = 500


@dataclass(frozen=True)
class MetricRow:
    id: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period: int
    label: str
    visible: bool = True
    axis: str = "left"


@dataclass(frozen=True)
class ExpressionRow:
    id: str
    expression: str
    label: str
    period: int
    visible: bool = True
    axis: str = "left"


Row = MetricRow | ExpressionRow


@dataclass(frozen=True)
class Widget:
    type: str
    title: str
    view: str
    x: int
    y: int
    width: int
    height: int
    rows: tuple[Row, ...] = ()
    stacked: bool = False
    markdown: str = ""
    # Why the console cannot draw the widget (a metrics array it cannot read), if so.
    problem: str = ""

    def outline(self, index: int) -> dict[str, Any]:
        """What the page lays out before any data arrives."""
        return {
            "index": index,
            "type": self.type,
            "title": self.title,
            "view": self.view,
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
            "stacked": self.stacked,
            "markdown": self.markdown,
            "series": len([row for row in self.rows if row.visible]),
            "problem": self.problem,
        }


def dashboard_widgets(body: Mapping[str, Any]) -> list[Widget]:
    return [parse_widget(raw) for raw in body.get("widgets", [])]


def parse_widget(raw: Mapping[str, Any]) -> Widget:
    props: Mapping[str, Any] = raw.get("properties", {})
    kind = str(raw.get("type", "metric"))
    rows: tuple[Row, ...] = ()
    problem = ""
    if kind == "metric":
        stat = normal_stat(str(props.get("stat", "Average")))
        try:
            rows = parse_rows(props.get("metrics", []), stat, int(props.get("period", DEFAULT_PERIOD)))
        except (ExpressionError, TypeError, ValueError) as exc:
            problem = f"the console cannot read this widget's metrics: {exc}"
    return Widget(
        type=kind,
        title=str(props.get("title", "")),
        view=str(props.get("view", "timeSeries")),
        x=int(raw.get("x", 0)),
        y=int(raw.get("y", 0)),
        width=int(raw.get("width", 6)),
        height=int(raw.get("height", 6)),
        rows=rows,
        stacked=bool(props.get("stacked", False)),
        markdown=str(props.get("markdown", "")),
        problem=problem,
    )


def parse_rows(metrics: Iterable[list[Any]], stat: str, period: int) -> tuple[Row, ...]:
    rows: list[Row] = []
    previous: list[Any] = []
    for index, raw in enumerate(metrics, start=1):
        options: dict[str, Any] = raw[-1] if raw and isinstance(raw[-1], dict) else {}
        values = list(raw[:-1] if options else raw)
        if "expression" in options:
            rows.append(expression_row(options, index, period))
            continue
        values = expand(values, previous)
        previous = values
        rows.append(metric_row(values, options, index, stat, period))
    return tuple(rows)


def expand(values: list[Any], previous: list[Any]) -> list[Any]:
    """Resolve the dashboard shorthand: ``"..."`` and ``"."`` repeat values of the row above."""
    if values and values[0] == "...":
        tail = values[1:]
        return [*previous[: len(previous) - len(tail)], *tail]
    return [previous[i] if value == "." and i < len(previous) else value for i, value in enumerate(values)]


def metric_row(
    values: list[Any], options: Mapping[str, Any], index: int, stat: str, period: int
) -> MetricRow:
    if len(values) < 2 or len(values) % 2:
        raise ExpressionError(f"metric row {index} is not [namespace, name, dimension, value, …]")
    namespace, name, *pairs = (str(v) for v in values)
    dimensions = tuple(zip(pairs[::2], pairs[1::2], strict=True))
    return MetricRow(
        id=str(options.get("id") or f"m{index}"),
        namespace=namespace,
        name=name,
        dimensions=dimensions,
        stat=normal_stat(str(options.get("stat", stat))),
        period=int(options.get("period", period)),
        label=str(options.get("label") or default_label(name, dimensions)),
        visible=bool(options.get("visible", True)),
        axis="right" if options.get("yAxis") == "right" else "left",
    )


def expression_row(options: Mapping[str, Any], index: int, period: int) -> ExpressionRow:
    row_id = str(options.get("id") or f"e{index}")
    return ExpressionRow(
        id=row_id,
        expression=str(options["expression"]),
        label=str(options.get("label") or row_id),
        period=int(options.get("period", period)),
        visible=bool(options.get("visible", True)),
        axis="right" if options.get("yAxis") == "right" else "left",
    )


def default_label(name: str, dimensions: Iterable[tuple[str, str]]) -> str:
    values = [value for _, value in dimensions]
    return f"{name} ({', '.join(values)})" if values else name


def normal_stat(stat: str) -> str:
    return STAT_ALIASES.get(stat.lower(), stat)


def served_stat(stat: str) -> tuple[str, str | None]:
    """The statistic LocalStack is asked for, and a note when it is not the one declared.

    LocalStack keeps no distributions, so a percentile becomes the nearest statistic it has: p0 the
    minimum, p50 and below the average, above p50 the maximum (an upper bound of any percentile)."""
    if stat in SERVED_STATS:
        return stat, None
    percentile = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat)
    if percentile:
        value = float(percentile.group(1))
        served = "Minimum" if value == 0 else "Average" if value <= 50 else "Maximum"
    else:
        served = "Average"
    return served, f"{stat} shown as {served}: LocalStack serves no {stat}"


# --- SEARCH --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """A parsed SEARCH query: ``{Namespace, Dim, …}`` (the schema: a match has exactly these
    dimensions), ``Key="value"`` (exact), ``Key=value`` and bare words (partial)."""

    namespace: str | None
    schema: tuple[str, ...] | None
    exact: tuple[tuple[str, str], ...] = ()
    partial: tuple[tuple[str | None, str], ...] = ()

    @property
    def metric_name(self) -> str | None:
        return next((value for key, value in self.exact if key == "MetricName"), None)


SCHEMA = re.compile(r"^\s*\{([^}]*)\}")
TERM = re.compile(
    r'\s*(?:(?P<key>"[^"]*"|[^\s="]+)\s*=\s*(?P<value>"[^"]*"|[^\s"]+)'  # Key=value, Key="value"
    r'|(?P<word>"[^"]*"|[^\s"]+))'  # a word or a "quoted phrase"
)


def parse_search(query: str) -> Search:
    namespace, schema, rest = None, None, query
    if match := SCHEMA.match(query):
        names = [unquote(part.strip()) for part in match.group(1).split(",") if part.strip()]
        if not names:
            raise ExpressionError(f"empty schema in SEARCH {query!r}")
        namespace, schema, rest = names[0], tuple(names[1:]), query[match.end() :]
    exact: list[tuple[str, str]] = []
    partial: list[tuple[str | None, str]] = []
    for term in TERM.finditer(rest):
        if term.group("word") is not None:
            word = term.group("word")
            if word.upper() in ("OR", "NOT") or word.startswith("("):
                raise ExpressionError(f"SEARCH with {word} is not supported by the console")
            if word.upper() != "AND":
                partial.append((None, unquote(word)))
            continue
        key, value = unquote(term.group("key")), term.group("value")
        if value.startswith('"'):
            exact.append((key, unquote(value)))
        else:
            partial.append((key, value))
    return Search(namespace, schema, tuple(exact), tuple(partial))


def unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def search_matches(search: Search, metric: Mapping[str, Any]) -> bool:
    """Whether a ListMetrics entry is one of the search's results."""
    dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
    if search.namespace is not None and metric["Namespace"] != search.namespace:
        return False
    if search.schema is not None and set(dimensions) != set(search.schema):
        return False
    fields = {"MetricName": metric["MetricName"], "Namespace": metric["Namespace"], **dimensions}
    if any(fields.get(key) != value for key, value in search.exact):
        return False
    return all(_partial(fields, key, value) for key, value in search.partial)


def _partial(fields: Mapping[str, str], key: str | None, value: str) -> bool:
    wanted = value.lower()
    if key is not None:
        return wanted in fields.get(key, "").lower()
    return any(wanted in text.lower() for pair in fields.items() for text in pair)


def schema_miss(search: Search, candidates: Iterable[Mapping[str, Any]]) -> str | None:
    """Why a search found nothing when metrics of its name exist with other dimensions, if so."""
    if search.schema is None or search.metric_name is None:
        return None
    others = sorted(
        {
            ", ".join(sorted(d["Name"] for d in m.get("Dimensions", []))) or "none"
            for m in candidates
            if m["MetricName"] == search.metric_name and m["Namespace"] == search.namespace
        }
    )
    if not others:
        return None
    wanted = ", ".join(search.schema) or "none"
    return (
        f"SEARCH {{{search.namespace}{''.join(',' + d for d in search.schema)}}} matches only metrics "
        f"with exactly these dimensions ({wanted}); {search.metric_name} has: {'; '.join(others)}"
    )


# --- planning and assembling ---------------------------------------------------------------------


FindMetrics = Callable[[Search], list[dict[str, Any]]]


@dataclass
class Plan:
    """The queries to send and how to turn their answers back into the widget's series."""

    widget: Widget
    period: int
    queries: list[dict[str, Any]] = field(default_factory=list)
    nodes: dict[str, expressions.Node] = field(default_factory=dict)
    # Each SEARCH's matches: (query id, metric name, its dimension values).
    searches: dict[SearchKey, list[tuple[str, str, str]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def auto_period(window_s: int) -> int:
    """The finest standard period that keeps the window within ``MAX_POINTS`` points."""
    return next((p for p in PERIODS if window_s / p <= MAX_POINTS), PERIODS[-1])


def floor_period(window_s: int) -> int:
    """The finest period the console asks for over this window (see ``MAX_BUCKETS``)."""
    return next((p for p in PERIODS if window_s / p <= MAX_BUCKETS), PERIODS[-1])


def query_id(text: str) -> str:
    """A GetMetricData query id (``^[a-z][a-zA-Z0-9_]*$``) made from any text."""
    cleaned = re.sub(r"[^a-zA-Z0-9_]", "_", text)
    return cleaned if re.match(r"^[a-z]", cleaned) else f"q_{cleaned}"


def stat_query(
    qid: str, namespace: str, name: str, dimensions: Iterable[tuple[str, str]], stat: str, period: int
) -> dict[str, Any]:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def plan_widget(
    widget: Widget, period: int | None, find_metrics: FindMetrics, *, floor: int = PERIODS[0]
) -> Plan:
    """The MetricStat queries a widget needs: its metric rows, and the matches of its SEARCHes
    (``find_metrics`` lists the candidates of one search).  ``period`` overrides every row's;
    none is finer than ``floor``."""
    declared = max((row.period for row in widget.rows), default=DEFAULT_PERIOD)
    plan = Plan(widget, max(period or declared, floor))

    def effective(own: int) -> int:
        return max(period or own, floor)

    for row in widget.rows:
        if isinstance(row, MetricRow):
            stat, note = served_stat(row.stat)
            if note:
                plan.note(note)
            plan.queries.append(
                stat_query(
                    query_id(row.id), row.namespace, row.name, row.dimensions, stat, effective(row.period)
                )
            )
        else:
            _plan_expression(plan, row, effective, find_metrics)
    return plan


def _plan_expression(
    plan: Plan, row: ExpressionRow, effective: Callable[[int], int], find_metrics: FindMetrics
) -> None:
    try:
        node = expressions.parse(row.expression)
        for key in expressions.searches_in(node):
            if key not in plan.searches:
                plan.searches[key] = _plan_search(plan, key, effective(key[2] or row.period), find_metrics)
    except ExpressionError as exc:
        plan.errors[row.id] = str(exc)
        return
    plan.nodes[row.id] = node


def _plan_search(
    plan: Plan, key: SearchKey, period: int, find_metrics: FindMetrics
) -> list[tuple[str, str, str]]:
    """Query each metric a SEARCH finds; return (query id, metric name, dimension values) of each."""
    query, stat, _ = key
    search = parse_search(query)
    stat, note = served_stat(normal_stat(stat))
    if note:
        plan.note(note)
    candidates = find_metrics(search)
    found = [m for m in candidates if search_matches(search, m)]
    if not found and (miss := schema_miss(search, candidates)):
        plan.note(miss)
    members: list[tuple[str, str, str]] = []
    for metric in found[:MAX_QUERIES]:
        qid = query_id(f"s{len(plan.searches)}_{len(members)}")
        dimensions = [(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])]
        plan.queries.append(
            stat_query(qid, metric["Namespace"], metric["MetricName"], dimensions, stat, period)
        )
        members.append((qid, metric["MetricName"], ", ".join(value for _, value in dimensions)))
    return members


def window(now: float, window_s: int, period: int) -> tuple[float, float]:
    """The window's start and end, on period boundaries, so that every query buckets alike."""
    start = math.floor((now - window_s) / period) * period
    end = math.ceil(now / period) * period
    return float(start), float(end)


def grid(start: float, end: float, period: int) -> list[float]:
    return [float(t) for t in range(int(start), int(end), period)]


def assemble(plan: Plan, results: Mapping[str, Series], timeline: list[float]) -> list[dict[str, Any]]:
    """The widget's visible series, in its order, from the fetched results by query id."""
    rows = plan.widget.rows
    metric_ids = [row.id for row in rows if isinstance(row, MetricRow)]
    context = expressions.Context(
        series={row.id: results.get(query_id(row.id), {}) for row in rows if isinstance(row, MetricRow)},
        expressions=plan.nodes,
        searches={
            key: [results.get(qid, {}) for qid, _, _ in members] for key, members in plan.searches.items()
        },
        metric_ids=metric_ids,
        grid=timeline,
    )
    drawn: list[dict[str, Any]] = []
    for row in rows:
        if not row.visible:
            continue
        if isinstance(row, MetricRow):
            drawn.append(series_out(row.id, row.label, row.axis, context.series[row.id]))
        elif row.id in plan.errors:
            plan.note(f"{row.label}: {plan.errors[row.id]}")
        else:
            drawn.extend(_expression_series(plan, row, context, timeline))
    return drawn


def _expression_series(
    plan: Plan, row: ExpressionRow, context: expressions.Context, timeline: list[float]
) -> list[dict[str, Any]]:
    try:
        value = context.resolve(row.id)
    except ExpressionError as exc:
        plan.note(f"{row.label}: {exc}")
        return []
    node = plan.nodes[row.id]
    if isinstance(value, float):
        return [series_out(row.id, row.label, row.axis, dict.fromkeys(timeline, value))]
    if isinstance(value, dict):
        return [series_out(row.id, row.label, row.axis, value)]
    labels = _member_labels(plan, node, row, len(value))
    return [
        series_out(f"{row.id}_{i}", labels[i], row.axis, member if isinstance(member, dict) else {})
        for i, member in enumerate(value)
    ]


def _member_labels(plan: Plan, node: expressions.Node, row: ExpressionRow, count: int) -> list[str]:
    """A SEARCH draws each match as the expression's label (else the metric's name) and the
    match's dimension values; any other list, as the label and an index."""
    if not (isinstance(node, expressions.Call) and node.name == "SEARCH"):
        return [f"{row.label} [{i}]" for i in range(count)]
    labels = []
    for _, name, values in plan.searches.get(expressions.search_arguments(node), []):
        base = row.label if row.label != row.id else name
        labels.append(f"{base} ({values})" if values else base)
    return labels


def series_out(series_id: str, label: str, axis: str, series: Series) -> dict[str, Any]:
    return {"id": series_id, "label": label, "axis": axis, "points": [[t, series[t]] for t in sorted(series)]}


def series_of(result: Mapping[str, Any]) -> Series:
    """A GetMetricData result as ``{epoch seconds: value}``."""
    return {ts.timestamp(): float(v) for ts, v in zip(result["Timestamps"], result["Values"], strict=True)}
