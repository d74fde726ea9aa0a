"""The console's pure parts (tools/console): dashboard widgets → metric queries → series, metric math,
X-Ray documents → waterfall, search and service map, log lines; and its HTTP layer over a fake."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tools.console import expressions, logs, metrics, traces
from tools.console.expressions import ExpressionError
from tools.console.server import ConsoleServer, Query
from tools.console.sources import _pages, alarm_row, trace_started

ROOT = Path(__file__).resolve().parents[2]

# The shapes aws_cdk.aws_cloudwatch renders (see stacks/constructs/monitoring.py), as LocalStack returns them.
LATENCY = {
    "type": "metric",
    "width": 12,
    "height": 6,
    "x": 0,
    "y": 0,
    "properties": {
        "view": "timeSeries",
        "title": "API latency",
        "region": "us-east-1",
        "metrics": [
            [
                "AWS/ApiGateway",
                "Latency",
                "ApiName",
                "agora-local",
                "Stage",
                "local",
                {"label": "p50", "stat": "p50"},
            ],
            [
                "AWS/ApiGateway",
                "Latency",
                "ApiName",
                "agora-local",
                "Stage",
                "local",
                {"label": "p99", "stat": "p99"},
            ],
        ],
        "yAxis": {},
    },
}
DLQ_SINGLE = {
    "type": "metric",
    "width": 6,
    "height": 3,
    "x": 0,
    "y": 6,
    "properties": {
        "view": "singleValue",
        "title": "DLQ OrdersPaymentEvents",
        "metrics": [
            [
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                "agora-local-orders-payment-events-dlq",
                {"stat": "Maximum"},
            ]
        ],
    },
}
BUSINESS = {
    "type": "metric",
    "width": 12,
    "height": 6,
    "x": 12,
    "y": 6,
    "properties": {
        "view": "timeSeries",
        "title": "OrdersPlaced",
        "metrics": [
            [
                {
                    "label": "OrdersPlaced",
                    "expression": "SEARCH('{Agora} MetricName=\"OrdersPlaced\"', 'Sum', 300)",
                }
            ]
        ],
    },
}
# A MathExpression of three metrics, as the stacks' function-error alarms sum them.
ERRORS_SUM = {
    "type": "metric",
    "properties": {
        "view": "timeSeries",
        "title": "docs errors",
        "metrics": [
            [{"expression": "f0 + f1 + f2", "label": "docs errors", "id": "expr_1"}],
            *(
                [
                    "AWS/Lambda",
                    "Errors",
                    "FunctionName",
                    f"agora-local-docs-{name}",
                    {"id": f"f{i}", "visible": False},
                ]
                for i, name in enumerate(("openapi-document", "docs-page", "docs-asset"))
            ),
        ],
        "stat": "Sum",
    },
}


def no_metrics(search: metrics.Search) -> list[dict]:
    return []


def series(*points: tuple[float, float]) -> dict[float, float]:
    return dict(points)


# --- widgets → queries ---------------------------------------------------------------------------


def test_a_metric_row_becomes_a_metric_stat_query_with_its_dimensions_stat_and_label():
    widget = metrics.parse_widget(DLQ_SINGLE)
    assert (widget.title, widget.view, widget.x, widget.y, widget.width, widget.height) == (
        "DLQ OrdersPaymentEvents",
        "singleValue",
        0,
        6,
        6,
        3,
    )
    plan = metrics.plan_widget(widget, 60, no_metrics)
    assert plan.queries == [
        {
            "Id": "m1",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": "agora-local-orders-payment-events-dlq"}],
                },
                "Period": 60,
                "Stat": "Maximum",
            },
            "ReturnData": True,
        }
    ]
    assert (
        widget.rows[0].label == "ApproximateNumberOfMessagesVisible (agora-local-orders-payment-events-dlq)"
    )
    assert plan.notes == []


def test_percentiles_are_asked_for_as_the_nearest_statistic_localstack_serves_and_the_widget_says_so():
    plan = metrics.plan_widget(metrics.parse_widget(LATENCY), None, no_metrics)
    assert [q["MetricStat"]["Stat"] for q in plan.queries] == ["Average", "Maximum"]
    assert [q["MetricStat"]["Period"] for q in plan.queries] == [300, 300]
    assert plan.notes == [
        "p50 shown as Average: LocalStack serves no p50",
        "p99 shown as Maximum: LocalStack serves no p99",
    ]
    assert metrics.served_stat("Sum") == ("Sum", None)
    assert metrics.served_stat("p0")[0] == "Minimum"
    assert metrics.served_stat("tm90")[0] == "Average"


def test_the_dashboard_shorthand_repeats_values_of_the_row_above():
    rows = metrics.parse_rows(
        [
            ["AWS/ApiGateway", "4XXError", "ApiName", "agora-local", "Stage", "local"],
            [".", "5XXError", ".", ".", ".", ".", {"yAxis": "right"}],
            ["...", "prod"],
        ],
        "Sum",
        300,
    )
    assert [(r.name, r.dimensions, r.axis) for r in rows] == [  # type: ignore[union-attr]
        ("4XXError", (("ApiName", "agora-local"), ("Stage", "local")), "left"),
        ("5XXError", (("ApiName", "agora-local"), ("Stage", "local")), "right"),
        ("5XXError", (("ApiName", "agora-local"), ("Stage", "prod")), "left"),
    ]
    assert [r.id for r in rows] == ["m1", "m2", "m3"]


def test_a_math_expression_sums_its_hidden_metrics_point_by_point():
    widget = metrics.parse_widget(ERRORS_SUM)
    plan = metrics.plan_widget(widget, 300, no_metrics)
    assert [q["Id"] for q in plan.queries] == ["f0", "f1", "f2"]
    assert {q["MetricStat"]["Stat"] for q in plan.queries} == {"Sum"}
    results = {
        "f0": series((0, 1), (300, 2), (600, 0)),
        "f1": series((0, 1), (300, 0), (600, 4)),
        "f2": series((0, 0), (300, 1)),  # no point at 600: that sum has no point either
    }
    drawn = metrics.assemble(plan, results, [0, 300, 600])
    assert drawn == [
        {"id": "expr_1", "label": "docs errors", "axis": "left", "points": [[0, 2.0], [300, 3.0]]}
    ]


def test_the_5xx_rate_expression_of_the_api_alarm():
    node = expressions.parse("100 * errors / MAX([requests, 1])")
    context = expressions.Context(
        series={"errors": series((0, 1), (60, 0), (120, 0)), "requests": series((0, 4), (60, 0), (120, 10))},
        expressions={},
        searches={},
        metric_ids=["errors", "requests"],
    )
    assert expressions.evaluate(node, context) == {0: 25.0, 60: 0.0, 120: 0.0}


def test_a_search_finds_the_metrics_with_exactly_its_schemas_dimensions():
    search = metrics.parse_search('{Agora} MetricName="OrdersPlaced"')
    assert (search.namespace, search.schema, search.exact, search.metric_name) == (
        "Agora",
        (),
        (("MetricName", "OrdersPlaced"),),
        "OrdersPlaced",
    )
    plain = {"Namespace": "Agora", "MetricName": "OrdersPlaced", "Dimensions": []}
    by_service = {
        "Namespace": "Agora",
        "MetricName": "OrdersPlaced",
        "Dimensions": [{"Name": "service", "Value": "orders"}],
    }
    assert metrics.search_matches(search, plain)
    assert not metrics.search_matches(search, by_service)
    with_schema = metrics.parse_search('{Agora,service} MetricName="OrdersPlaced" ord')
    assert metrics.search_matches(with_schema, by_service)
    assert not metrics.search_matches(metrics.parse_search("{Agora,service} payments"), by_service)
    assert metrics.search_matches(metrics.parse_search("OrdersPl service=ord"), by_service)
    with pytest.raises(ExpressionError, match="OR"):
        metrics.parse_search("{Agora} OrdersPlaced OR OrdersFailed")


def test_a_search_widget_draws_one_series_per_metric_found():
    found: list[dict[str, Any]] = [
        {"Namespace": "Agora", "MetricName": "OrdersPlaced", "Dimensions": []},
        {
            "Namespace": "Agora",
            "MetricName": "OrdersPlaced",
            "Dimensions": [{"Name": "service", "Value": "x"}],
        },
    ]
    asked: list[metrics.Search] = []

    def find(search: metrics.Search) -> list[dict]:
        asked.append(search)
        return found

    plan = metrics.plan_widget(metrics.parse_widget(BUSINESS), 60, find)
    assert asked[0].metric_name == "OrdersPlaced"
    assert len(plan.queries) == 1
    query = plan.queries[0]
    assert (query["MetricStat"]["Stat"], query["MetricStat"]["Period"]) == ("Sum", 60)
    drawn = metrics.assemble(plan, {query["Id"]: series((0, 3), (60, 1))}, [0, 60])
    assert [(s["label"], s["points"]) for s in drawn] == [("OrdersPlaced", [[0, 3.0], [60, 1.0]])]


def test_a_search_that_misses_because_of_its_schema_says_why():
    by_service = [
        {
            "Namespace": "Agora",
            "MetricName": "OrdersPlaced",
            "Dimensions": [{"Name": "service", "Value": "orders"}],
        }
    ]
    plan = metrics.plan_widget(metrics.parse_widget(BUSINESS), None, lambda s: by_service)
    assert plan.queries == []
    assert plan.notes == [
        "SEARCH {Agora} matches only metrics with exactly these dimensions (none); OrdersPlaced has: service"
    ]
    assert metrics.assemble(plan, {}, []) == []


def test_an_expression_the_console_cannot_evaluate_is_a_note_not_a_failure():
    widget = metrics.parse_widget(
        {
            "type": "metric",
            "properties": {"metrics": [[{"expression": "ANOMALY_DETECTION_BAND(m1)", "id": "e1"}]]},
        }
    )
    plan = metrics.plan_widget(widget, 60, no_metrics)
    assert metrics.assemble(plan, {}, [0, 60]) == []
    assert plan.notes == ["e1: ANOMALY_DETECTION_BAND() is not supported"]
    broken = metrics.parse_widget(
        {"type": "metric", "properties": {"metrics": [[{"expression": "m1 +", "id": "e1"}]]}}
    )
    plan = metrics.plan_widget(broken, 60, no_metrics)
    metrics.assemble(plan, {}, [])
    assert plan.notes and plan.notes[0].startswith("e1: expected more")


def test_the_window_is_aligned_on_the_period_and_the_auto_period_fits_it():
    assert metrics.auto_period(3600) == 60
    assert metrics.auto_period(3 * 3600) == 300
    assert metrics.auto_period(7 * 86400) == 21600
    # LocalStack queries each period on its own: a week is never asked for by the minute.
    assert metrics.floor_period(3600) == 60
    assert metrics.floor_period(7 * 86400) == 900
    plan = metrics.plan_widget(metrics.parse_widget(DLQ_SINGLE), 60, no_metrics, floor=900)
    assert (plan.period, plan.queries[0]["MetricStat"]["Period"]) == (900, 900)
    assert metrics.window(1000.0, 600, 60) == (360.0, 1020.0)
    assert metrics.grid(360.0, 540.0, 60) == [360.0, 420.0, 480.0]


def test_a_get_metric_data_result_becomes_a_series_by_epoch_second():
    result = {"Timestamps": [datetime(2026, 1, 1, tzinfo=UTC)], "Values": [2]}
    assert metrics.series_of(result) == {datetime(2026, 1, 1, tzinfo=UTC).timestamp(): 2.0}


def test_a_widget_outline_keeps_its_layout_and_text():
    outline = metrics.parse_widget(
        {"type": "text", "x": 2, "y": 3, "width": 24, "height": 2, "properties": {"markdown": "# Hi"}}
    ).outline(4)
    assert outline == {
        "index": 4,
        "type": "text",
        "title": "",
        "view": "timeSeries",
        "x": 2,
        "y": 3,
        "width": 24,
        "height": 2,
        "stacked": False,
        "markdown": "# Hi",
        "series": 0,
        "problem": "",
    }
    odd = metrics.parse_widget({"type": "metric", "properties": {"metrics": [["AWS/SQS", "X", "QueueName"]]}})
    assert odd.rows == () and odd.problem.startswith(
        "the console cannot read this widget's metrics: metric row 1"
    )


# --- metric math ---------------------------------------------------------------------------------


def context(**found: dict[float, float]) -> expressions.Context:
    return expressions.Context(
        series=found, expressions={}, searches={}, metric_ids=list(found), grid=[0, 60, 120]
    )


def test_math_follows_precedence_and_keeps_points_both_operands_have():
    value = expressions.evaluate(
        expressions.parse("-a + b * 2 ^ 2 / (1 + 1)"), context(a=series((0, 1), (60, 2)), b=series((0, 3)))
    )
    assert value == {0: 5.0}


def test_a_point_that_divides_by_zero_is_left_out_and_a_number_that_does_is_an_error():
    assert expressions.evaluate(
        expressions.parse("a / b"), context(a=series((0, 1), (60, 1)), b=series((0, 0), (60, 2)))
    ) == {60: 0.5}
    with pytest.raises(ExpressionError, match="division by zero"):
        expressions.evaluate(expressions.parse("1 / 0"), context())


def test_aggregates_of_an_array_are_a_series_and_of_one_series_a_number():
    found = context(a=series((0, 1), (60, 5)), b=series((0, 3)))
    assert expressions.evaluate(expressions.parse("SUM([a, b])"), found) == {0: 4.0, 60: 5.0}
    assert expressions.evaluate(expressions.parse("AVG(METRICS())"), found) == {0: 2.0, 60: 5.0}
    assert expressions.evaluate(expressions.parse("MAX(a)"), found) == 5.0
    assert expressions.evaluate(expressions.parse("MIN([2, 3])"), found) == 2.0
    assert expressions.evaluate(expressions.parse("FILL(b, 0)"), found) == {0: 3.0, 60: 0.0, 120: 0.0}
    assert expressions.evaluate(expressions.parse("ABS(-a)"), found) == {0: 1.0, 60: 5.0}


def test_expressions_may_use_other_expressions_but_not_themselves():
    nodes = {
        "e1": expressions.parse("a * 2"),
        "e2": expressions.parse("e1 + 1"),
        "e3": expressions.parse("e3 + 1"),
    }
    found = expressions.Context(
        series={"a": series((0, 1))}, expressions=nodes, searches={}, metric_ids=["a"]
    )
    assert found.resolve("e2") == {0: 3.0}
    with pytest.raises(ExpressionError, match="refers to itself"):
        found.resolve("e3")
    with pytest.raises(ExpressionError, match="unknown id"):
        expressions.evaluate(expressions.parse("nope"), found)


def test_the_searches_inside_an_expression_are_found_before_it_is_evaluated():
    node = expressions.parse("SUM(SEARCH('{AWS/Lambda,FunctionName} Errors', 'Sum', 60)) / 2")
    assert expressions.searches_in(node) == [("{AWS/Lambda,FunctionName} Errors", "Sum", 60)]
    with pytest.raises(ExpressionError):
        expressions.searches_in(expressions.parse("SEARCH(1, 'Sum')"))
    with pytest.raises(ExpressionError, match="unexpected"):
        expressions.parse("a $ b")


# --- traces --------------------------------------------------------------------------------------

CATALOG = traces.Catalog.of(
    "local",
    [
        ("users", ("/api/auth", "/api/users")),
        ("products", ("/api/products",)),
        ("orders", ("/api/orders",)),
        ("payments", ("/api/payments",)),
    ],
)


def doc(span_id, name, start, end, parent=None, **extra):
    found = {
        "id": span_id,
        "name": name,
        "trace_id": "1-6b05e9bc-e73b2a9c2d10b8600f29a44c",
        "start_time": start,
    }
    found["end_time"] = end
    if parent:
        found |= {"parent_id": parent, "type": "subsegment"}
    return found | extra


# One checkout as agora.tracing writes it: the orders function (its parent, the Lambda segment, is
# never written on LocalStack), a database call, the internal call to products with the products
# function's segment under it, and an AWS SDK call.
CHECKOUT = [
    doc(
        "a1",
        "agora-local-orders-create-order",
        100.0,
        101.0,
        "lambda0",
        annotations={"http_request_method": "POST", "http_route": "/api/orders", "correlation_id": "c-1"},
        http={"response": {"status": 201}},
    ),
    doc(
        "a2",
        "postgresql INSERT",
        100.1,
        100.2,
        "a1",
        namespace="remote",
        annotations={"db_system": "postgresql"},
        sql={"sanitized_query": "INSERT INTO orders"},
    ),
    doc(
        "a3",
        "products.reserve_stock",
        100.2,
        100.8,
        "a1",
        namespace="remote",
        annotations={"peer_service": "products"},
    ),
    doc(
        "b1",
        "agora-local-products-reserve-stock",
        100.3,
        100.7,
        "a3",
        error=False,
        fault=True,
        cause={"exceptions": [{"type": "OutOfStock", "message": "no stock"}]},
    ),
    doc("a4", "EventBridge", 100.85, 100.9, "a1", namespace="aws", aws={"operation": "PutEvents"}),
]


def checkout_trace() -> dict:
    return {
        "Id": "1-6b05e9bc-e73b2a9c2d10b8600f29a44c",
        "Segments": [{"Id": d["id"], "Document": json.dumps(d)} for d in CHECKOUT],
    }


def test_services_come_from_function_names_arns_routes_and_annotations():
    assert CATALOG.service_in("agora-local-orders-create-order") == "orders"
    assert (
        CATALOG.service_in("arn:aws:lambda:us-east-1:000000000000:function:agora-local-payments-sweep")
        == "payments"
    )
    assert CATALOG.service_in("agora-users") == "users"
    assert CATALOG.service_in("POST /api/auth/login") == "users"
    assert CATALOG.service_in("/api/products/{id}") == "products"
    assert CATALOG.service_in("/api/productsx") is None
    assert CATALOG.service_in("agora-local-ordersx") is None
    assert CATALOG.service_in("fastapi.endpoint") is None


def test_nested_subsegments_are_brought_up_under_their_parent():
    nested = {
        "Segments": [
            {
                "Id": "s",
                "Document": json.dumps(
                    {
                        "id": "s",
                        "name": "orders",
                        "start_time": 1,
                        "end_time": 2,
                        "subsegments": [
                            {
                                "id": "t",
                                "name": "query",
                                "start_time": 1.1,
                                "end_time": 1.2,
                                "subsegments": [
                                    {"id": "u", "name": "inner", "start_time": 1.1, "end_time": 1.15}
                                ],
                            }
                        ],
                    }
                ),
            }
        ]
    }
    flat = traces.documents_of(nested)
    assert [(d["id"], d.get("parent_id"), d.get("type")) for d in flat] == [
        ("s", None, None),
        ("t", "s", "subsegment"),
        ("u", "t", "subsegment"),
    ]
    assert "subsegments" not in flat[0]


def test_the_waterfall_nests_spans_by_parent_in_start_order_with_offsets_and_states():
    roots = traces.build(traces.documents_of(checkout_trace()), CATALOG)
    found = traces.waterfall(roots)
    assert found["duration_ms"] == 1000.0
    assert [
        (r["id"], r["depth"], r["service"], r["offset_ms"], r["duration_ms"], r["status"])
        for r in found["rows"]
    ] == [
        ("a1", 0, "orders", 0.0, 1000.0, "ok"),
        ("a2", 1, "orders", 100.0, 100.0, "ok"),
        ("a3", 1, "orders", 200.0, 600.0, "ok"),
        ("b1", 2, "products", 300.0, 400.0, "fault"),
        ("a4", 1, "orders", 850.0, 50.0, "ok"),
    ]
    rows = {r["id"]: r for r in found["rows"]}
    assert rows["a1"]["http_status"] == 201
    assert rows["a1"]["annotations"]["correlation_id"] == "c-1"
    assert rows["a2"]["detail"] == "INSERT INTO orders"
    assert (rows["a3"]["target"], rows["a4"]["target"]) == ("products", "EventBridge")
    assert rows["b1"]["cause"] == "OutOfStock: no stock"
    assert rows["a4"]["detail"] == "EventBridge.PutEvents"


def test_a_span_whose_parent_is_missing_is_a_root_and_an_unfinished_one_has_no_length():
    roots = traces.build(
        [
            doc("x", "orphan", 5.0, 6.0, "gone"),
            {"id": "y", "name": "open", "start_time": 5.5, "in_progress": True},
        ],
        CATALOG,
    )
    assert [r.id for r in roots] == ["x", "y"]
    assert roots[1].in_progress and roots[1].end == roots[1].start
    assert roots[1].service == "open"  # nothing names a service: the span's own name


def test_a_trace_summary_has_its_title_services_and_worst_status():
    roots = traces.build(traces.documents_of(checkout_trace()), CATALOG)
    line = traces.summary("1-6b05e9bc-e73b2a9c2d10b8600f29a44c", roots)
    assert line["title"] == "POST /api/orders"
    assert line["name"] == "agora-local-orders-create-order"
    assert line["services"] == ["orders", "products"]  # what a client span calls is not a service it ran in
    assert (line["status"], line["http_status"], line["spans"], line["duration_ms"]) == (
        "fault",
        201,
        5,
        1000.0,
    )


def test_the_trace_search_filters_by_service_status_annotation_name_and_id():
    roots = traces.build(traces.documents_of(checkout_trace()), CATALOG)
    line = traces.summary("1-6b05e9bc-e73b2a9c2d10b8600f29a44c", roots)

    def hit(service="", status="", text=""):
        return traces.matches(line, roots, service, status, text)

    assert hit() and hit("products") and hit(status="fault")
    assert not hit("payments") and not hit(status="ok")
    assert hit(text="c-1") and hit(text="correlation_id=c-1") and hit(text="reserve_stock")
    assert hit(text="1-6b05e9bc-e73b2a9c2d10b8600f29a44c")
    assert not hit(text="c-2") and not hit(text="correlation_id=c-2")
    assert trace_started("1-6b05e9bc-e73b2a9c2d10b8600f29a44c") == 0x6B05E9BC


def test_the_service_map_is_derived_from_calls_between_services_and_to_what_lies_outside():
    roots = traces.build(traces.documents_of(checkout_trace()), CATALOG)
    graph = traces.service_map([roots, roots])
    nodes = {n["name"]: n for n in graph["nodes"]}
    assert set(nodes) == {"client", "orders", "products", "postgresql", "EventBridge"}
    assert (nodes["orders"]["kind"], nodes["orders"]["count"], nodes["orders"]["avg_ms"]) == (
        "service",
        2,
        1000.0,
    )
    assert (nodes["products"]["faults"], nodes["postgresql"]["kind"]) == (2, "remote")
    assert {(e["source"], e["target"], e["count"]) for e in graph["edges"]} == {
        ("client", "orders", 2),
        ("orders", "postgresql", 2),
        ("orders", "products", 2),  # through the client span whose callee wrote its own segment
        ("orders", "EventBridge", 2),
    }
    assert graph["source"] == "derived"


def test_x_rays_own_service_graph_is_shown_in_the_same_shape():
    graph = traces.graph_from_xray(
        [
            {
                "ReferenceId": 0,
                "Name": "orders",
                "Type": "AWS::Lambda::Function",
                "SummaryStatistics": {
                    "TotalCount": 4,
                    "TotalResponseTime": 2.0,
                    "FaultStatistics": {"TotalCount": 1},
                },
                "Edges": [{"ReferenceId": 1, "SummaryStatistics": {"TotalCount": 3}}],
            },
            {"ReferenceId": 1, "Name": "products", "Type": "AWS::Lambda::Function"},
        ]
    )
    assert graph["nodes"][0] == {
        "name": "orders",
        "kind": "service",
        "count": 4,
        "errors": 0,
        "faults": 1,
        "avg_ms": 500.0,
    }
    assert graph["edges"] == [{"source": "orders", "target": "products", "count": 3}]


# --- logs, alarms, paging ------------------------------------------------------------------------


def test_log_lines_are_read_as_powertools_json_emf_or_runtime_text():
    group = "/aws/lambda/agora-local-orders-create-order"
    line = json.dumps(
        {"level": "INFO", "message": "domain event", "correlation_id": "c-1", "xray_trace_id": "1-a-b"}
    )
    row = logs.row_of(group, {"timestamp": 5, "message": line + "\n"}, "local")
    assert (
        row["function"],
        row["kind"],
        row["level"],
        row["message"],
        row["correlation_id"],
        row["xray_trace_id"],
    ) == (
        "orders-create-order",
        "json",
        "INFO",
        "domain event",
        "c-1",
        "1-a-b",
    )
    emf = json.dumps(
        {
            "_aws": {"CloudWatchMetrics": [{"Namespace": "Agora", "Metrics": [{"Name": "OrdersPlaced"}]}]},
            "OrdersPlaced": [1.0],
        }
    )
    assert logs.row_of(group, {"message": emf}, "local")["message"] == "EMF OrdersPlaced=1.0"
    assert (
        logs.row_of(group, {"message": "REPORT RequestId: x\tDuration: 1 ms"}, "local")["kind"] == "platform"
    )
    assert logs.row_of(group, {"message": "plain {not json"}, "local")["kind"] == "text"
    assert logs.filter_pattern('c-"1') == '"c-1"' and logs.filter_pattern(" ") is None
    assert logs.matches({"message": "has c-1 in it"}, "c-1") and not logs.matches({"message": "no"}, "c-1")
    rows = [{"timestamp": t, "function": "f"} for t in (3, 1, 2)]
    assert [r["timestamp"] for r in logs.newest(rows, 2)] == [2, 3]


def test_an_alarm_row_shows_what_it_watches_and_when():
    math_alarm = alarm_row(
        {
            "AlarmName": "Api5xxRate",
            "StateValue": "ALARM",
            "Metrics": [
                {
                    "Id": "errors",
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "5XXError", "Dimensions": []},
                        "Period": 300,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                },
                {"Id": "expr_1", "Expression": "100 * errors / MAX([requests, 1])"},
            ],
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 1.0,
            "EvaluationPeriods": 2,
            "StateUpdatedTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
        }
    )
    assert (math_alarm["state"], math_alarm["metric"]) == ("ALARM", "100 * errors / MAX([requests, 1])")
    assert math_alarm["uses"] == ["errors = AWS/ApiGateway 5XXError Sum ()"]
    assert math_alarm["condition"] == "GreaterThanThreshold 1.0 for 2 period(s) of 300 s"
    plain = alarm_row(
        {
            "AlarmName": "p99",
            "Namespace": "AWS/ApiGateway",
            "MetricName": "Latency",
            "ExtendedStatistic": "p99",
            "Dimensions": [{"Name": "Stage", "Value": "local"}],
            "Period": 300,
        }
    )
    assert (plain["state"], plain["metric"]) == (
        "INSUFFICIENT_DATA",
        "AWS/ApiGateway Latency p99 (Stage=local)",
    )


def test_pages_are_followed_by_their_token_until_it_stops_or_repeats():
    class Client:
        def __init__(self):
            self.calls = []

        def list_metrics(self, **kwargs):
            self.calls.append(kwargs)
            count = len(self.calls)
            return {"Metrics": [count], "NextToken": f"t{count}" if count < 3 else None}

        def filter_log_events(self, **kwargs):
            self.calls.append(kwargs)
            return {"events": [], "nextToken": "same"}

    client = Client()
    assert [m for page in _pages(client, "list_metrics", Namespace="Agora") for m in page["Metrics"]] == [
        1,
        2,
        3,
    ]
    assert client.calls[1] == {"Namespace": "Agora", "NextToken": "t1"}
    assert len(list(_pages(Client(), "filter_log_events", logGroupName="g"))) == 2


# --- the HTTP layer ------------------------------------------------------------------------------


class FakeSources:
    stage = "local"
    state = Path("/tmp/state")
    catalog = CATALOG

    def alarms(self):
        return [{"name": "a", "state": "OK"}]

    def queues(self):
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    def trace(self, trace_id):
        return None

    def search_traces(self, window_s, service, status, text, limit):
        return {"asked": [window_s, service, status, text, limit]}

    def dashboards(self):
        raise RuntimeError("a bug")


@pytest.fixture
def console():
    server = ConsoleServer(0, FakeSources())  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fetch(url: str, host: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_the_server_answers_json_pages_and_pinned_assets_on_loopback_only(console):
    assert fetch(f"{console}/api/alarms")[::2] == (200, b'{"alarms": [{"name": "a", "state": "OK"}]}')
    status, kind, body = fetch(f"{console}/api/traces?window=10&service=orders&q=c-1&limit=99999")
    assert (status, kind) == (200, "application/json")
    assert json.loads(body) == {"asked": [300, "orders", "", "c-1", 1000]}  # clamped to the bounds
    assert fetch(f"{console}/api/traces/1-abc")[0] == 404
    assert fetch(f"{console}/api/nope")[0] == 404
    assert fetch(f"{console}/api/queues")[0] == 502  # LocalStack not answering
    assert fetch(f"{console}/api/dashboards")[::2] == (500, b'{"error": "RuntimeError: a bug"}')
    assert fetch(f"{console}/api/alarms", host="evil.example:80")[0] == 403
    page = fetch(f"{console}/")
    assert page[:2] == (200, "text/html; charset=utf-8")
    assert b"http://" not in page[2] and b"https://" not in page[2]  # nothing from elsewhere
    uplot = ROOT / "node_modules" / "uplot" / "dist" / "uPlot.iife.min.js"
    if uplot.exists():  # node_modules comes from `npm ci` (make deps)
        assert fetch(f"{console}/vendor/uPlot.iife.min.js")[2] == uplot.read_bytes()
    assert fetch(f"{console}/static/../server.py")[0] == 404


def test_the_period_parameter_is_auto_as_declared_or_whole_minutes():
    assert Query("window=3600").period == 60
    assert Query("window=86400&period=auto").period == 900
    assert Query("period=widget").period is None
    assert Query("period=90").period == 60
    assert Query("period=5").period == 60
    assert Query("window=x").window == 3600


# --- the browser helper --------------------------------------------------------------------------


def test_chromium_is_installed_only_when_missing_and_only_by_root(monkeypatch, tmp_path):
    from tools.console import browser

    installs: list[str] = []
    monkeypatch.setattr(browser, "_apt_install", lambda: installs.append("apt-get"))
    monkeypatch.setenv("AGORA_CHROMIUM", str(tmp_path / "chromium"))
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    with pytest.raises(browser.ChromiumUnavailable, match="needs root: sudo apt-get install -y chromium"):
        browser.ensure_chromium()
    assert installs == []
    assert browser.ensure() == 0  # `make test-e2e` goes on; the browser test skips with the reason

    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    with pytest.raises(browser.ChromiumUnavailable, match="does not start"):
        browser.ensure_chromium()  # the fake install installs nothing
    assert installs == ["apt-get"]

    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho Chromium 1.0\n")
    fake.chmod(0o755)
    assert browser.ensure_chromium() == fake
    assert installs == ["apt-get"]  # present: nothing installed
