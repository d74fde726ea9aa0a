"""CloudWatch metric math, evaluated here because LocalStack's GetMetricData serves no expressions.

The evaluator is the LocalStack plugin's (``tools/localstack/plugin/agora_localstack/metrics/
expressions.py``, which also evaluates the local alarms), imported from this checkout: it uses the
standard library only, so the project's venv imports it without LocalStack.  What it supports is
described there; the console gives it the ids ``METRICS()`` returns and the series each
``SEARCH('…', 'Stat', period)`` matched, fetched beforehand (``metrics.assemble``).

An :class:`ExpressionError` is shown on the widget instead of a graph.
"""

from tools.localstack.plugin.agora_localstack.metrics.expressions import (
    Array,
    BinOp,
    Call,
    Context,
    ExpressionError,
    Neg,
    Node,
    Num,
    Ref,
    SearchKey,
    Series,
    Str,
    Value,
    evaluate,
    parse,
    search_arguments,
    searches_in,
)

__all__ = [
    "Array",
    "BinOp",
    "Call",
    "Context",
    "ExpressionError",
    "Neg",
    "Node",
    "Num",
    "Ref",
    "SearchKey",
    "Series",
    "Str",
    "Value",
    "evaluate",
    "parse",
    "search_arguments",
    "searches_in",
]
