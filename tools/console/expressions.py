"""CloudWatch metric math, evaluated here because LocalStack's GetMetricData serves no expressions.

The subset the stacks' dashboards and alarms use, and a little more: numbers, metric ids,
``+ - * / ^``, unary minus, parentheses, arrays ``[a, b]``, ``SUM``/``AVG``/``MIN``/``MAX`` (of an
array: one series, point by point; of one series: one number over the window), ``ABS``, ``FILL``,
``METRICS()`` and ``SEARCH('…', 'Stat', period)``, whose matches the caller fetches beforehand.

A series is ``{epoch seconds: value}``.  Between two series an operator keeps the timestamps both
have; a number applies to every point.  Anything else raises :class:`ExpressionError`, which the
console shows on the widget instead of a graph.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

type Series = dict[float, float]
type Value = float | Series | list[Value]


class ExpressionError(ValueError):
    """An expression this evaluator cannot parse or compute."""


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
    name: str
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
    unary := '-' unary | power; power := atom ('^' unary)?"""

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
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in {self.text!r}")  # type: ignore[index]
        return node

    def sum(self) -> Node:
        node = self.product()
        while (token := self.peek()) is not None and token[1] in ("+", "-"):
            self.position += 1
            node = BinOp(token[1], node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None and token[1] in ("*", "/"):
            self.position += 1
            node = BinOp(token[1], node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("-"):
            return Neg(self.unary())
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
            return Call(value.upper(), self.arguments()) if self.accept("(") else Ref(value)
        if value == "(":
            node = self.sum()
            self.take(")")
            return node
        if value == "[":
            return Array(self.items("]"))
        raise ExpressionError(f"unexpected {value!r} in {self.text!r}")

    def arguments(self) -> tuple[Node, ...]:
        return self.items(")")

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


def searches_in(node: Node) -> list[tuple[str, str, int | None]]:
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


def search_arguments(node: Call) -> tuple[str, str, int | None]:
    args = node.args
    if len(args) not in (2, 3) or not isinstance(args[0], Str) or not isinstance(args[1], Str):
        raise ExpressionError("SEARCH takes a query, a statistic and optionally a period")
    period = args[2] if len(args) == 3 else None
    if period is not None and not isinstance(period, Num):
        raise ExpressionError("SEARCH's period must be a number")
    return args[0].value, args[1].value, int(period.value) if period else None


@dataclass
class Context:
    """What an expression can refer to: fetched series by id, other expressions by id (evaluated on
    demand), the matches of each SEARCH, the ids METRICS() returns, and the window's timestamps."""

    series: Mapping[str, Series]
    expressions: Mapping[str, Node]
    searches: Mapping[tuple[str, str, int | None], list[Series]]
    metric_ids: Sequence[str]
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


def combine(op: str, left: Value, right: Value) -> Value:
    """``left op right`` for numbers and series; a list applies element by element."""
    if isinstance(left, list):
        return [combine(op, item, right) for item in left]
    if isinstance(right, list):
        return [combine(op, left, item) for item in right]
    function = BINARY[op]
    if isinstance(left, dict) and isinstance(right, dict):
        return _pointwise(function, {t: (left[t], right[t]) for t in left.keys() & right.keys()})
    if isinstance(left, dict):
        return _pointwise(function, {t: (v, right) for t, v in left.items()})  # type: ignore[misc]
    if isinstance(right, dict):
        return _pointwise(function, {t: (left, v) for t, v in right.items()})
    try:
        return function(left, right)
    except ZeroDivisionError as exc:
        raise ExpressionError("division by zero") from exc


def _pointwise(function: Callable[[float, float], float], pairs: dict[float, tuple[float, float]]) -> Series:
    """Apply ``function`` at each timestamp; a point that divides by zero is left out, as CloudWatch
    leaves it empty."""
    result: Series = {}
    for timestamp in sorted(pairs):
        try:
            value = function(*pairs[timestamp])
        except (ZeroDivisionError, OverflowError):
            continue
        if math.isfinite(value):
            result[timestamp] = value
    return result


AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": sum,
    "AVG": lambda values: sum(values) / len(values),
    "MIN": min,
    "MAX": max,
}


def call(node: Call, context: Context) -> Value:
    if node.name == "SEARCH":
        return list(context.searches.get(search_arguments(node), []))
    if node.name == "METRICS":
        return [context.resolve(name) for name in context.metric_ids]
    if node.name not in (*AGGREGATES, "ABS", "FILL"):
        raise ExpressionError(f"{node.name}() is not supported by the console")
    args = [evaluate(arg, context) for arg in node.args]
    if node.name in AGGREGATES:
        if len(args) != 1:
            raise ExpressionError(f"{node.name} takes one argument")
        return aggregate(AGGREGATES[node.name], args[0])
    if node.name == "ABS" and len(args) == 1:
        return _map(abs, args[0])
    if node.name == "FILL" and len(args) == 2 and isinstance(args[1], float):
        return fill(args[0], args[1], context.grid)
    raise ExpressionError(f"{node.name}() takes other arguments")


def aggregate(function: Callable[[list[float]], float], value: Value) -> Value:
    """An aggregate of an array is a series, point by point over the timestamps any member has
    (numbers count at every one); of a single series it is one number over the window."""
    if isinstance(value, dict):
        if not value:
            raise ExpressionError("no data points to aggregate")
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


def _map(function: Callable[[float], float], value: Value) -> Value:
    if isinstance(value, list):
        return [_map(function, item) for item in value]
    if isinstance(value, dict):
        return {t: function(v) for t, v in value.items()}
    return function(value)


def fill(value: Value, filler: float, timestamps: Sequence[float] = ()) -> Value:
    """FILL(series, n): the series, with ``n`` where the window has a timestamp and it has none."""
    if isinstance(value, list):
        return [fill(item, filler, timestamps) for item in value]
    if isinstance(value, dict):
        return {t: value.get(t, filler) for t in sorted(set(value) | set(timestamps))}
    return value
