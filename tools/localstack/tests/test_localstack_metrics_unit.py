"""Metrics and alarms on their own, no LocalStack: the EMF reader, the API Gateway metrics, metric
math, alarm decisions, the store reader on a database of LocalStack's schema, the sink."""

import ast
import json
import math
import sqlite3
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin"))

from agora_localstack.metrics import alarms, api_metrics, emf, expressions, store
from agora_localstack.metrics.sink import MetricSink

T = 1_795_549_723_523  # ms


def emf_line(**root) -> str:
    return json.dumps(root)


def powertools(metrics: dict, dimensions: list[list[str]], namespace="Agora", **members) -> str:
    return emf_line(
        _aws={
            "Timestamp": T,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": dimensions,
                    "Metrics": [{"Name": name, "Unit": unit} for name, (unit, _) in metrics.items()],
                }
            ],
        },
        **{name: value for name, (_, value) in metrics.items()},
        **members,
    )


# --- EMF -------------------------------------------------------------------------------------------


def test_a_powertools_line_gives_one_datum_per_metric_with_its_dimensions_unit_values_and_time():
    line = powertools(
        {"OrdersPlaced": ("Count", [1.0, 1.0]), "Latency": ("Milliseconds", 3.5)},
        [["service"]],
        service="orders",
    )
    data = emf.data_in_line(line)
    assert data == [
        emf.Datum("Agora", "OrdersPlaced", (("service", "orders"),), "Count", (1.0, 1.0), T),
        emf.Datum("Agora", "Latency", (("service", "orders"),), "Milliseconds", (3.5,), T),
    ]
    assert data[0].metric_data() == {
        "MetricName": "OrdersPlaced",
        "Dimensions": [{"Name": "service", "Value": "orders"}],
        "Timestamp": datetime.fromtimestamp(T / 1000, tz=UTC),
        "Values": [1.0],
        "Counts": [2.0],
        "Unit": "Count",
    }


def test_each_dimension_set_is_a_metric_of_its_own_and_an_empty_set_one_without_dimensions():
    line = powertools(
        {"ColdStart": ("Count", 1)},
        [["service"], ["service", "function_name"], [], ["service"]],
        service="orders",
        function_name="agora-local-orders-create-order",
    )
    assert [d.dimensions for d in emf.data_in_line(line)] == [
        (("service", "orders"),),
        (("service", "orders"), ("function_name", "agora-local-orders-create-order")),
        (),
    ]


def test_several_directives_and_namespaces_in_one_document():
    line = emf_line(
        _aws={
            "Timestamp": T,
            "CloudWatchMetrics": [
                {"Namespace": "A", "Dimensions": [["k"]], "Metrics": [{"Name": "x"}]},
                {"Namespace": "B", "Dimensions": [[]], "Metrics": [{"Name": "y", "StorageResolution": 1}]},
            ],
        },
        k="v",
        x=1,
        y=[2, 3],
    )
    assert emf.data_in_line(line) == [
        emf.Datum("A", "x", (("k", "v"),), None, (1.0,), T),
        emf.Datum("B", "y", (), None, (2.0, 3.0), T, 1),
    ]


def document(directive: dict | None = None, timestamp: object = 1, **root) -> str:
    """An EMF line with one directive (metric ``x`` in namespace ``A`` unless given)."""
    directive = {"Namespace": "A", "Metrics": [{"Name": "x"}]} if directive is None else directive
    return json.dumps({"_aws": {"Timestamp": timestamp, "CloudWatchMetrics": [directive]}, **root})


@pytest.mark.parametrize(
    "line",
    [
        "START RequestId: 1 Version: $LATEST",
        '{"level": "INFO", "message": "no metrics here"}',
        '{"_aws": "not an object"}',
        json.dumps({"_aws": {"CloudWatchMetrics": [{"Namespace": "A", "Metrics": [{"Name": "x"}]}]}, "x": 1}),
        document(timestamp="soon", x=1),
        document({"Metrics": [{"Name": "x"}]}, x=1),  # no Namespace
        document(),  # no value for x
        document(x="1"),
        document(x=True),
        document(x=[]),
        document({"Namespace": "A", "Metrics": [{"Name": "x", "Unit": "Parsecs"}]}, x=1),
        document({"Namespace": "A", "Dimensions": [["d"]], "Metrics": [{"Name": "x"}]}, x=1),  # no d
        document(
            {"Namespace": "A", "Dimensions": [["d"]], "Metrics": [{"Name": "x"}]}, x=1, d=7
        ),  # d: no string
        '{"_aws": {"Timestamp": 1, "CloudWatchMetrics"',  # truncated
    ],
)
def test_what_is_not_a_valid_emf_document_gives_nothing(line):
    assert emf.data_in_line(line) == []


def test_a_value_array_over_the_limit_or_not_finite_is_left_out_and_the_rest_kept():
    directive = {
        "Namespace": "A",
        "Dimensions": [[]],
        "Metrics": [{"Name": "x"}, {"Name": "y"}, {"Name": "z"}],
    }
    document = {"_aws": {"Timestamp": T, "CloudWatchMetrics": [directive]}, "x": list(range(101)), "y": 2}
    document["z"] = math.inf
    assert [d.name for d in emf.data_in_document(document)] == ["y"]


def test_only_emf_lines_of_an_invocations_logs_are_read():
    logs = "\n".join(
        [
            "START RequestId: abc Version: $LATEST",
            '{"level":"INFO","message":"order placed","service":"orders"}',
            powertools({"OrdersPlaced": ("Count", [1.0])}, [["service"]], service="orders"),
            "END RequestId: abc",
            "REPORT RequestId: abc\tDuration: 12.00 ms",
        ]
    )
    assert [(d.name, d.values) for d in emf.data_in_logs(logs)] == [("OrdersPlaced", (1.0,))]


# --- API Gateway metrics ---------------------------------------------------------------------------


def request_context(status_path="/api/orders/{id}", method="GET", settings=None, started_ms=1_000_000):
    return SimpleNamespace(
        deployment=SimpleNamespace(
            rest_api=SimpleNamespace(rest_api={"name": "agora-local"}),
            account_id="000000000000",
            region="us-east-1",
        ),
        api_id="agora",
        stage="local",
        context_variables={"requestTimeEpoch": started_ms},
        resource={"path": status_path} if status_path else None,
        resource_method={"httpMethod": method} if method else None,
        stage_configuration={
            "methodSettings": settings if settings is not None else {"*/*": {"metricsEnabled": True}}
        },
        request=SimpleNamespace(method="GET"),
    )


def test_a_request_counts_once_per_dimension_set_with_its_error_class_and_latency():
    account, region, request = api_metrics.request_of(request_context(), 503, now_ms=1_000_042.5)
    assert (account, region) == ("000000000000", "us-east-1")
    data = list(api_metrics.request_metric_data(request))
    assert {ns for ns, _ in data} == {"AWS/ApiGateway"}
    by_dimensions: dict[tuple, dict[str, float]] = {}
    for _, entry in data:
        key = tuple((d["Name"], d["Value"]) for d in entry["Dimensions"])
        by_dimensions.setdefault(key, {})[entry["MetricName"]] = entry["Value"]
    expected = {"Count": 1.0, "4XXError": 0.0, "5XXError": 1.0, "Latency": 42.5}
    assert by_dimensions == {
        (("ApiName", "agora-local"),): expected,
        (("ApiName", "agora-local"), ("Stage", "local")): expected,
        (
            ("ApiName", "agora-local"),
            ("Method", "GET"),
            ("Resource", "/api/orders/{id}"),
            ("Stage", "local"),
        ): expected,
    }


def test_per_method_metrics_need_detailed_metrics_and_a_matched_route():
    _, _, plain = api_metrics.request_of(request_context(settings={}), 404)
    assert (plain.resource, plain.method) == (None, None)
    _, _, unmatched = api_metrics.request_of(request_context(status_path=None, method=None), 404)
    assert unmatched.resource is None
    _, _, own = api_metrics.request_of(
        request_context(settings={"~1api~1orders~1{id}/GET": {"metricsEnabled": True}}), 200
    )
    assert (own.resource, own.method) == ("/api/orders/{id}", "GET")
    counts = {e["MetricName"]: e["Value"] for _, e in api_metrics.request_metric_data(own)}
    assert counts["4XXError"] == counts["5XXError"] == 0.0


def test_a_request_that_reached_no_stage_is_not_counted():
    assert api_metrics.request_of(SimpleNamespace(deployment=None, stage=None), 403) is None


# --- metric math -----------------------------------------------------------------------------------

RANGE = [0, 60, 120]
PLUGIN = Path(__file__).resolve().parents[1] / "plugin"


def evaluate(expression: str, series: dict[str, Any]) -> expressions.Value:
    """As an alarm evaluates a query: its metrics by id, the alarm's periods as the range."""
    return expressions.evaluate(expressions.parse(expression), expressions.Context(series, grid=RANGE))


def test_arithmetic_between_series_keeps_the_timestamps_both_have():
    errors, requests = {0: 1.0, 60: 4.0}, {60: 8.0, 120: 10.0}
    assert evaluate("100 * e / r", {"e": errors, "r": requests}) == {60: 50.0}


def test_fill_max_and_a_rate_over_sparse_series():
    variables = {"errors": {60: 2.0}, "requests": {0: 0.0, 60: 4.0}}
    assert evaluate("100 * FILL(errors, 0) / MAX([requests, 1])", variables) == {0: 0.0, 60: 50.0}
    assert evaluate("FILL(a, 0) + FILL(b, 0)", {"a": {0: 1.0}, "b": {120: 2.0}}) == {
        0: 1.0,
        60: 0.0,
        120: 2.0,
    }


def test_functions_precedence_and_scalars():
    assert evaluate("-2 ^ 2 + (1 + 2) * 3 - 4 / 2", {}) == 3.0
    assert evaluate("+2 * -3", {}) == -6.0
    assert evaluate("MAX(m)", {"m": {0: 1.0, 60: 5.0}}) == 5.0
    assert evaluate("AVG([m, 3])", {"m": {0: 1.0}}) == {0: 2.0}
    assert evaluate("ABS(m - 10)", {"m": {0: 4.0}}) == {0: 6.0}
    assert evaluate("ceil(m) + FLOOR(m)", {"m": {0: 1.5}}) == {0: 3.0}
    assert evaluate("m / 0", {"m": {0: 4.0}}) == {}
    assert evaluate("(m - 8) ^ 0.5", {"m": {0: 4.0, 60: 12.0}}) == {60: 2.0}  # no real root: no point


def test_arithmetic_on_an_array_applies_to_each_member():
    assert evaluate("[m, 2] * 2", {"m": {0: 1.0}}) == [{0: 2.0}, 4.0]
    assert evaluate("SUM([m, n] * 10)", {"m": {0: 1.0}, "n": {0: 2.0, 60: 3.0}}) == {0: 30.0, 60: 30.0}


@pytest.mark.parametrize(
    "expression",
    [
        "SEARCH('{Agora}', 'Sum', 300)",  # alarms give no SEARCH matches
        "AVG(METRICS())",  # nor METRICS()
        "m +",
        "unknown * 2",
        "IF(m > 1, 1, 0)",
        "ANOMALY_DETECTION_BAND(m)",
        "FILL(m, REPEAT)",
        "MAX([])",
        "1 / 0",
        "'m'",
    ],
)
def test_what_is_not_supported_says_so(expression):
    with pytest.raises(expressions.ExpressionError):
        evaluate(expression, {"m": {0: 1.0}})


STANDARD_LIBRARY = {*sys.stdlib_module_names, "__future__"}


def test_the_evaluator_imports_only_the_standard_library():
    """The console imports it from the repository, in a venv without LocalStack (or anything else)."""
    package = PLUGIN / "agora_localstack"
    for path in (package / "__init__.py", package / "metrics" / "__init__.py", Path(expressions.__file__)):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["(relative)"]
            else:
                continue
            outside = [n for n in names if n.partition(".")[0] not in STANDARD_LIBRARY]
            assert not outside, f"{path.name} imports {outside}"


# --- alarm decisions -------------------------------------------------------------------------------

NOW = 1_800_000_030.0  # 30 s into a minute
MINUTE = int(NOW // 60) * 60


def dlq_alarm(**extra):
    return {
        "AlarmName": "dlq",
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": "q-dlq"}],
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 0.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        **extra,
    }


def fixed(series_by_metric):
    """A fetch answering from ``{metric name: series}``, recording what was asked."""
    asked = []

    def fetch(metric_stat, start, end, period):
        asked.append((metric_stat["Metric"]["MetricName"], metric_stat["Stat"], start, end, period))
        return {
            t: v
            for t, v in series_by_metric.get(metric_stat["Metric"]["MetricName"], {}).items()
            if start <= t < end
        }

    return fetch, asked


def test_a_message_in_the_dlq_this_minute_is_alarm_and_an_empty_dlq_ok():
    fetch, asked = fixed({"ApproximateNumberOfMessagesVisible": {MINUTE: 1.0}})
    decision = alarms.decide(dlq_alarm(), fetch, NOW)
    assert decision.state == "ALARM"
    assert decision.reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [1.0 (")
    assert "was greater than the threshold (0.0)" in decision.reason
    assert decision.reason_data["recentDatapoints"] == [1.0]
    assert asked == [("ApproximateNumberOfMessagesVisible", "Maximum", MINUTE, MINUTE + 60, 60)]
    fetch, _ = fixed({"ApproximateNumberOfMessagesVisible": {MINUTE - 60: 3.0, MINUTE: 0.0}})
    assert alarms.decide(dlq_alarm(), fetch, NOW).state == "OK"


def test_missing_data_as_configured():
    nothing, _ = fixed({})
    assert alarms.decide(dlq_alarm(), nothing, NOW).state == "OK"
    assert "treated as [NonBreaching]" in alarms.decide(dlq_alarm(), nothing, NOW).reason
    assert alarms.decide(dlq_alarm(TreatMissingData="breaching"), nothing, NOW).state == "ALARM"
    assert alarms.decide(dlq_alarm(TreatMissingData="missing"), nothing, NOW).state == "INSUFFICIENT_DATA"
    assert alarms.decide(dlq_alarm(TreatMissingData="ignore"), nothing, NOW) is None


def test_m_out_of_n_over_aligned_periods():
    alarm = dlq_alarm(EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData="missing")
    one, _ = fixed({"ApproximateNumberOfMessagesVisible": {MINUTE - 120: 0.0, MINUTE - 60: 0.0, MINUTE: 2.0}})
    assert alarms.decide(alarm, one, NOW).state == "OK"  # 2 of 3 can no longer breach
    two, _ = fixed({"ApproximateNumberOfMessagesVisible": {MINUTE - 60: 1.0, MINUTE: 2.0, MINUTE - 180: 9.0}})
    decision = alarms.decide(alarm, two, NOW)
    assert decision.state == "ALARM" and decision.reason.startswith("Threshold Crossed: 2 out of the last 3")
    only_one_known, _ = fixed({"ApproximateNumberOfMessagesVisible": {MINUTE: 2.0}})
    assert alarms.decide(alarm, only_one_known, NOW) is None  # not enough data either way: keep the state


def test_a_metric_math_rate_alarm_of_the_api():
    alarm = {
        "AlarmName": "Api5xxRate",
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "Metrics": [
            {"Id": "expr_1", "Expression": "100 * errors / MAX([requests, 1])", "ReturnData": True},
            {
                "Id": "errors",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "5XXError"},
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
            {
                "Id": "requests",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "Count"},
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
        ],
    }
    burst, _ = fixed({"5XXError": {MINUTE: 20.0}, "Count": {MINUTE: 25.0}})
    assert alarms.decide(alarm, burst, NOW).state == "ALARM"
    fine, _ = fixed({"5XXError": {MINUTE: 0.0}, "Count": {MINUTE: 25.0}})
    assert alarms.decide(alarm, fine, NOW).state == "OK"
    quiet, _ = fixed({})
    assert alarms.decide(alarm, quiet, NOW).state == "OK"


def test_a_sum_of_function_errors_alarms_on_one_function_when_filled():
    def errors_of(i):
        return {
            "Id": f"f{i}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": "Errors",
                    "Dimensions": [{"Name": "FunctionName", "Value": f"fn{i}"}],
                },
                "Period": 60,
                "Stat": "Sum",
            },
            "ReturnData": False,
        }

    def alarm(expression):
        return {
            "AlarmName": "errors",
            "EvaluationPeriods": 1,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "Metrics": [
                errors_of(0),
                errors_of(1),
                {"Id": "e", "Expression": expression, "ReturnData": True},
            ],
        }

    def fetch(metric_stat, start, end, period):
        return {MINUTE: 2.0} if metric_stat["Metric"]["Dimensions"][0]["Value"] == "fn1" else {}

    assert alarms.decide(alarm("f0 + f1"), fetch, NOW).state == "OK"  # a missing term: no value
    assert alarms.decide(alarm("FILL(f0, 0) + FILL(f1, 0)"), fetch, NOW).state == "ALARM"


def test_a_math_alarm_may_refer_to_a_later_expression_and_must_return_one_series():
    def alarm(*queries):
        metric = {
            "Id": "m",
            "MetricStat": {"Metric": {"Namespace": "A", "MetricName": "x"}, "Period": 60, "Stat": "Sum"},
            "ReturnData": False,
        }
        return {
            "AlarmName": "math",
            "EvaluationPeriods": 1,
            "Threshold": 5.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "Metrics": [metric, *queries],
        }

    fetch, _ = fixed({"x": {MINUTE: 3.0}})
    doubled = alarm(
        {"Id": "e1", "Expression": "e2 * 2", "ReturnData": True},
        {"Id": "e2", "Expression": "m", "ReturnData": False},
    )
    assert alarms.decide(doubled, fetch, NOW).state == "ALARM"
    with pytest.raises(alarms.UnsupportedAlarm, match="not an array"):
        alarms.decide(alarm({"Id": "e", "Expression": "[m] + 1", "ReturnData": True}), fetch, NOW)
    unused_but_wrong = alarm(
        {"Id": "e", "Expression": "m", "ReturnData": True},
        {"Id": "bad", "Expression": "IF(m, 1, 0)", "ReturnData": False},
    )
    with pytest.raises(expressions.ExpressionError):
        alarms.decide(unused_but_wrong, fetch, NOW)


def test_unsupported_alarms_say_why():
    fetch, _ = fixed({})
    with pytest.raises(alarms.UnsupportedAlarm):
        alarms.decide(dlq_alarm(ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold"), fetch, NOW)
    with pytest.raises(alarms.UnsupportedAlarm):
        alarms.decide({**dlq_alarm(), "MetricName": None}, fetch, NOW)
    with pytest.raises(alarms.UnsupportedAlarm):
        alarms.statistic([1.0], "tm99")


def test_statistics_and_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert alarms.statistic(values, "p99") == 99.0
    assert alarms.statistic(values, "p50") == 50.0
    assert alarms.statistic([7.0], "p99") == 7.0
    assert alarms.statistic([1.0, 3.0], "Average", [(2.0, 10.0, 4.0, 6.0)]) == 3.5
    assert alarms.statistic([1.0], "Maximum", [(2.0, 10.0, 4.0, 6.0)]) == 6.0
    assert alarms.statistic([], "SampleCount", [(2.0, 10.0, 4.0, 6.0)]) == 2.0
    assert alarms.statistic([], "Sum") is None
    assert alarms.statistic([], "p90", [(2.0, 10.0, 4.0, 6.0)]) is None


# --- the store reader ------------------------------------------------------------------------------

# cloudwatch_database_helper's tables, as LocalStack 2026.3.0 creates them.
COMMON = """"id" INTEGER, "account_id" TEXT, "region" TEXT, "metric_name" TEXT, "namespace" TEXT,
  "timestamp" NUMERIC, "dimensions" TEXT, "unit" TEXT, "storage_resolution" INTEGER"""
SCHEMA = f"""
CREATE TABLE SINGLE_METRICS ({COMMON}, "value" NUMERIC, PRIMARY KEY("id"));
CREATE TABLE AGGREGATED_METRICS ({COMMON}, "sample_count" NUMERIC, "sum" NUMERIC, "min" NUMERIC,
  "max" NUMERIC, PRIMARY KEY("id"));
"""


def test_the_store_reader_matches_dimensions_exactly_and_buckets_by_period(tmp_path):
    database = tmp_path / "metrics.db"
    with sqlite3.connect(database) as connection:
        connection.executescript(SCHEMA)
        rows = [
            ("OrdersPlaced", MINUTE + 1, "service=orders\t", "Count", 1),
            ("OrdersPlaced", MINUTE + 59, "service=orders\t", "Count", 2),
            ("OrdersPlaced", MINUTE + 60, "service=orders\t", "Count", 4),
            ("OrdersPlaced", MINUTE + 5, "operation=x\tservice=orders\t", "Count", 100),  # other dimensions
            ("OrdersPlaced", MINUTE + 5, None, "Count", 1000),  # none
        ]
        connection.executemany(
            "INSERT INTO SINGLE_METRICS"
            " (account_id, region, namespace, metric_name, timestamp, dimensions, unit, value)"
            " VALUES ('000000000000', 'us-east-1', 'Agora', ?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute(
            "INSERT INTO AGGREGATED_METRICS (account_id, region, namespace, metric_name, timestamp,"
            " dimensions, unit, sample_count, sum, min, max)"
            " VALUES ('000000000000', 'us-east-1', 'Agora', 'OrdersPlaced', ?, 'service=orders\t', 'Count',"
            " 2, 10, 4, 6)",
            (MINUTE + 30,),
        )
    fetch = store.fetcher(str(database), "000000000000", "us-east-1")
    metric = {
        "Namespace": "Agora",
        "MetricName": "OrdersPlaced",
        "Dimensions": [{"Name": "service", "Value": "orders"}],
    }
    assert fetch({"Metric": metric, "Stat": "Sum"}, MINUTE, MINUTE + 120, 60) == {
        MINUTE: 13.0,
        MINUTE + 60: 4.0,
    }
    assert fetch({"Metric": metric, "Stat": "SampleCount"}, MINUTE, MINUTE + 60, 60) == {MINUTE: 4.0}
    assert fetch({"Metric": metric, "Stat": "p50"}, MINUTE, MINUTE + 60, 60) == {MINUTE: 1.0}
    no_dimensions = {**metric, "Dimensions": []}
    assert fetch({"Metric": no_dimensions, "Stat": "Sum"}, MINUTE, MINUTE + 60, 60) == {MINUTE: 1000.0}
    assert fetch({"Metric": metric, "Stat": "Sum", "Unit": "Seconds"}, MINUTE, MINUTE + 60, 60) == {}
    assert store.dimensions_key([{"Name": "service", "Value": "o"}, {"Name": "operation", "Value": "x"}]) == (
        "operation=x\tservice=o\t"
    )


# --- the sink --------------------------------------------------------------------------------------


def test_the_sink_groups_by_account_region_and_namespace_and_survives_a_failing_producer():
    calls = []
    lock = threading.Lock()

    def put(account, region, namespace, data):
        with lock:
            calls.append((account, region, namespace, len(data)))

    sink = MetricSink(put)
    sink.submit("1", "us-east-1", lambda: [("A", {"n": 1}), ("B", {"n": 2})])
    sink.submit("1", "us-east-1", lambda: [("A", {"n": 3})])
    sink.submit("2", "eu-west-1", lambda: [("A", {"n": 4})])
    sink.submit("1", "us-east-1", lambda: (_ for _ in ()).throw(ValueError("broken logs")))
    assert sink.flush()
    sink.stop()
    totals: dict[tuple, int] = {}
    for account, region, namespace, count in calls:
        totals[(account, region, namespace)] = totals.get((account, region, namespace), 0) + count
    assert totals == {("1", "us-east-1", "A"): 2, ("1", "us-east-1", "B"): 1, ("2", "eu-west-1", "A"): 1}
