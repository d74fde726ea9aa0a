"""CloudWatch metric math: the one evaluator of the plugin's alarms and of the local console.

Standard library only, and it must stay so: LocalStack's venv runs it for metric math alarms
(``alarms``), and the console (``tools.console.expressions``) imports this file from the repository
in the project's venv, where LocalStack is not installed.

A time series is a mapping of epoch seconds (a period's start) to value.  Supported:

- numbers, ids, ``( )``, unary ``-`` and ``+``, ``+ - * /`` and ``^`` (``-2 ^ 2`` is -4);
- between two series, arithmetic yields a value only at the timestamps both have (a missing value
  on either side gives a missing result, which is why sums of sparse metrics use ``FILL``); with a
  number, at every timestamp of the series; with an array, member by member; a point that divides
  by zero or has no finite value is left out (two numbers that do so are an error);
- arrays ``[a, b, ...]``;
- ``MAX``, ``MIN``, ``SUM``, ``AVG`` of one series: a number over the series; of an array: the series
  of the function across the members at each timestamp any member has (numbers count at every
  one of them), e.g. ``MAX([requests, 1])``;
- ``ABS``, ``CEIL``, ``FLOOR``, point by point;
- ``FILL(series, number)``: every timestamp of the evaluated range (``Context.grid``), the number
  where the series has no value;
- ``METRICS()`` and ``SEARCH('query', 'Stat', period)``, only where the caller gives the ids and the
  matches (``Context.metric_ids``, ``Context.searches``; the console does, alarms do not).

Anything else (``IF``, comparisons, anomaly bands, ``FILL(m, REPEAT)``, …) raises
:class:`ExpressionError`.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

type Series = dict[float, float]
type Value = float | Series | list[Value]
# SEARCH's arguments: (query, statistic, period or None).
type SearchKey = tuple[str, str, int | None]


class ExpressionError(ValueError):
    """An expression this evaluator cannot parse or compute."""


# --- syntax ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Ref:
    id: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Array:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Call:
    name: str  # upper case: function names are not case-sensitive
    args: tuple[Node, ...]


Node = Num | Str | Ref | Neg | BinOp | Array | Call

TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<str>'(?:[^'\\]|\\.)*')
      | (?P<op>[-+*/^(),\[\]])
    )""",
    re.VERBOSE,
)


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) pairs; kind is ``num``, ``name``, ``str`` or ``op``."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise ExpressionError(f"unexpected {text[position:].strip()[:20]!r} in {text!r}")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent: sum := product (('+'|'-') product)*; product := unary (('*'|'/') unary)*;
    unary := ('-'|'+') unary | atom ('^' unary)?"""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'more'} in {self.text!r}")
        self.position += 1
        return token

    def accept(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] == value:
            self.position += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.sum()
        if (token := self.peek()) is not None:
            raise ExpressionError(f"unexpected {token[1]!r} in {self.text!r}")
        return node

    def sum(self) -> Node:
        node = self.product()
        while (token := self.peek()) is not None and token in (("op", "+"), ("op", "-")):
            self.position += 1
            node = BinOp(token[1], node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None and token in (("op", "*"), ("op", "/")):
            self.position += 1
            node = BinOp(token[1], node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("-"):
            return Neg(self.unary())
        if self.accept("+"):
            return self.unary()
        node = self.atom()
        if self.accept("^"):
            return BinOp("^", node, self.unary())
        return node

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return Num(float(value))
        if kind == "str":
            return Str(value[1:-1].replace("\\'", "'"))
        if kind == "name":
            return Call(value.upper(), self.items(")")) if self.accept("(") else Ref(value)
        if value == "(":
            node = self.sum()
            self.take(")")
            return node
        if value == "[":
            return Array(self.items("]"))
        raise ExpressionError(f"unexpected {value!r} in {self.text!r}")

    def items(self, closing: str) -> tuple[Node, ...]:
        if self.accept(closing):
            return ()
        items = [self.sum()]
        while self.accept(","):
            items.append(self.sum())
        self.take(closing)
        return tuple(items)


def parse(text: str) -> Node:
    return _Parser(text).parse()


def searches_in(node: Node) -> list[SearchKey]:
    """Every ``SEARCH(query, stat[, period])`` in an expression, as (query, stat, period)."""
    if isinstance(node, Call):
        found = [search for arg in node.args for search in searches_in(arg)]
        if node.name == "SEARCH":
            found.insert(0, search_arguments(node))
        return found
    if isinstance(node, BinOp):
        return searches_in(node.left) + searches_in(node.right)
    if isinstance(node, Neg):
        return searches_in(node.operand)
    if isinstance(node, Array):
        return [search for item in node.items for search in searches_in(item)]
    return []


def search_arguments(node: Call) -> SearchKey:
    args = node.args
    if len(args) not in (2, 3) or not isinstance(args[0], Str) or not isinstance(args[1], Str):
        raise ExpressionError("SEARCH takes a query, a statistic and optionally a period")
    period = args[2] if len(args) == 3 else None
    if period is not None and not isinstance(period, Num):
        raise ExpressionError("SEARCH's period must be a number")
    return args[0].value, args[1].value, int(period.value) if period else None


# --- evaluation ------------------------------------------------------------------------------------


@dataclass
class Context:
    """What an expression can refer to: series by id, other expressions by id (evaluated on demand,
    once), the matches of each SEARCH and the ids METRICS() returns (``None``: the function is not
    available), and the evaluated range's timestamps, which FILL fills."""

    series: Mapping[str, Series]
    expressions: Mapping[str, Node] = field(default_factory=dict)
    searches: Mapping[SearchKey, list[Series]] | None = None
    metric_ids: Sequence[str] | None = None
    grid: Sequence[float] = ()

    def __post_init__(self) -> None:
        self._done: dict[str, Value] = {}
        self._busy: set[str] = set()

    def resolve(self, name: str) -> Value:
        if name in self.series:
            return self.series[name]
        if name in self._done:
            return self._done[name]
        if name not in self.expressions:
            raise ExpressionError(f"unknown id {name!r}")
        if name in self._busy:
            raise ExpressionError(f"{name!r} refers to itself")
        self._busy.add(name)
        try:
            self._done[name] = evaluate(self.expressions[name], self)
        finally:
            self._busy.discard(name)
        return self._done[name]


BINARY: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "^": operator.pow,
}
AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": math.fsum,
    "AVG": lambda values: math.fsum(values) / len(values),
    "MIN": min,
    "MAX": max,
}
POINTWISE: dict[str, Callable[[float], float]] = {
    "ABS": abs,
    "CEIL": lambda v: float(math.ceil(v)),
    "FLOOR": lambda v: float(math.floor(v)),
}


def evaluate(node: Node, context: Context) -> Value:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return context.resolve(node.id)
    if isinstance(node, Neg):
        return combine("*", -1.0, evaluate(node.operand, context))
    if isinstance(node, BinOp):
        return combine(node.op, evaluate(node.left, context), evaluate(node.right, context))
    if isinstance(node, Array):
        return [evaluate(item, context) for item in node.items]
    if isinstance(node, Call):
        return call(node, context)
    raise ExpressionError(f"a bare string {node.value!r} is not a value")


def _apply(op: str, a: float, b: float) -> float | None:
    """``a op b``, or None where CloudWatch has no value: a division by zero, an overflow, a
    result that is not a finite real number (``(-8) ^ 0.5``)."""
    try:
        result = BINARY[op](a, b)
    except (ZeroDivisionError, OverflowError):
        return None
    return float(result) if isinstance(result, float | int) and math.isfinite(result) else None


def combine(op: str, left: Value, right: Value) -> Value:
    """``left op right`` for numbers and series; an array applies member by member."""
    if isinstance(left, list):
        return [combine(op, item, right) for item in left]
    if isinstance(right, list):
        return [combine(op, left, item) for item in right]
    if isinstance(left, dict):
        if isinstance(right, dict):
            pairs = {t: (left[t], right[t]) for t in left.keys() & right.keys()}
        else:
            pairs = {t: (v, right) for t, v in left.items()}
    elif isinstance(right, dict):
        pairs = {t: (left, v) for t, v in right.items()}
    else:
        result = _apply(op, left, right)
        if result is None:
            raise ExpressionError(f"{left:g} {op} {right:g} has no finite value (division by zero?)")
        return result
    results = {t: _apply(op, a, b) for t, (a, b) in sorted(pairs.items())}
    return {t: v for t, v in results.items() if v is not None}


def call(node: Call, context: Context) -> Value:
    if node.name in ("SEARCH", "METRICS"):
        return _given(node, context)
    if node.name not in (*AGGREGATES, *POINTWISE, "FILL"):
        raise ExpressionError(f"{node.name}() is not supported")
    args = [evaluate(arg, context) for arg in node.args]
    if node.name == "FILL":
        if len(args) != 2 or not isinstance(args[1], float):
            raise ExpressionError("FILL takes a series and a number")
        return fill(args[0], args[1], context.grid)
    if len(args) != 1:
        raise ExpressionError(f"{node.name} takes one argument")
    if node.name in AGGREGATES:
        return aggregate(AGGREGATES[node.name], args[0])
    return pointwise(POINTWISE[node.name], args[0])


def _given(node: Call, context: Context) -> Value:
    """SEARCH's matches and METRICS()'s series: what the caller gave the context, if anything."""
    if node.name == "SEARCH" and context.searches is not None:
        return list(context.searches.get(search_arguments(node), []))
    if node.name == "METRICS" and context.metric_ids is not None:
        return [context.resolve(name) for name in context.metric_ids]
    raise ExpressionError(f"{node.name}() is not supported here")


def aggregate(function: Callable[[list[float]], float], value: Value) -> Value:
    """An aggregate of an array is a series, point by point over the timestamps any member has
    (numbers count at every one); of a single series it is one number over the range."""
    if isinstance(value, dict):
        if not value:
            raise ExpressionError("the series has no data to aggregate")
        return function(list(value.values()))
    if not isinstance(value, list):
        return value
    members = _flatten(value)
    series = [m for m in members if isinstance(m, dict)]
    numbers = [m for m in members if isinstance(m, float)]
    if not series:
        if not numbers:
            raise ExpressionError("nothing to aggregate")
        return function(numbers)
    timestamps = sorted(set().union(*(s.keys() for s in series)))
    return {t: function([s[t] for s in series if t in s] + numbers) for t in timestamps}


def _flatten(values: list[Value]) -> list[float | Series]:
    flat: list[float | Series] = []
    for value in values:
        if isinstance(value, list):
            flat.extend(_flatten(value))
        else:
            flat.append(value)
    return flat


def pointwise(function: Callable[[float], float], value: Value) -> Value:
    if isinstance(value, list):
        return [pointwise(function, item) for item in value]
    if isinstance(value, dict):
        return {t: function(v) for t, v in value.items()}
    return function(value)


def fill(value: Value, filler: float, timestamps: Sequence[float] = ()) -> Value:
    """FILL(series, n): the series, with ``n`` at each timestamp of the range where it has none."""
    if isinstance(value, list):
        return [fill(item, filler, timestamps) for item in value]
    if isinstance(value, dict):
        return {t: value.get(t, filler) for t in sorted(set(value) | set(timestamps))}
    return value
