"""The part of CloudWatch metric math that alarms use.

A time series is a mapping of period start (epoch seconds) to value.  Supported:

- numbers, metric ids, ``( )``, unary ``-``, ``+ - * /`` and ``^``;
- between two series, arithmetic yields a value only at the timestamps both have (a missing value
  on either side gives a missing result, which is why sums of sparse metrics use ``FILL``); with a
  scalar, at every timestamp of the series; a division by zero gives no value;
- ``FILL(series, number)``: every timestamp of the evaluated range, the number where data is
  missing;
- ``MAX``, ``MIN``, ``SUM``, ``AVG`` of one series: a scalar over the series; of an array
  ``[a, b, ...]``: the series of the function across the members at each timestamp any member has
  (scalars count at every one of them), e.g. ``MAX([requests, 1])``;
- ``ABS``, ``CEIL``, ``FLOOR``.

Anything else (``SEARCH``, ``IF``, ``METRICS()``, anomaly bands, …) raises ``ExpressionError``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

type Series = dict[int, float]
type Value = float | Series | list[Value]

_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)|([A-Za-z_][A-Za-z0-9_]*)|(\S))")
_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "MAX": max,
    "MIN": min,
    "SUM": math.fsum,
    "AVG": lambda values: math.fsum(values) / len(values),
}
_POINTWISE: dict[str, Callable[[float], float]] = {
    "ABS": abs,
    "CEIL": lambda v: float(math.ceil(v)),
    "FLOOR": lambda v: float(math.floor(v)),
}
_OPERATORS: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "^": operator.pow,
}


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op"
    text: str


def _tokens(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    expression = expression.rstrip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:  # pragma: no cover - the pattern matches any non-blank character
            raise ExpressionError(f"cannot read {expression[position:]!r}")
        number, name, op = match.groups()
        if number is not None:
            tokens.append(_Token("number", number))
        elif name is not None:
            tokens.append(_Token("name", name))
        else:
            tokens.append(_Token("op", op))
        position = match.end()
    return tokens


def evaluate(expression: str, variables: Mapping[str, Value], timestamps: Sequence[int]) -> Value:
    """The value of ``expression`` with metric ids bound to ``variables``; ``timestamps`` is the
    evaluated range (what ``FILL`` fills)."""
    parser = _Parser(_tokens(expression), variables, timestamps)
    value = parser.expression()
    if parser.position != len(parser.tokens):
        raise ExpressionError(f"unexpected {parser.tokens[parser.position].text!r} in {expression!r}")
    return value


class _Parser:
    def __init__(self, tokens: list[_Token], variables: Mapping[str, Value], timestamps: Sequence[int]):
        self.tokens = tokens
        self.position = 0
        self.variables = variables
        self.timestamps = timestamps

    def _peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, text: str | None = None) -> _Token:
        token = self._peek()
        if token is None or (text is not None and token.text != text):
            raise ExpressionError(f"expected {text or 'a value'}, found {token.text if token else 'the end'}")
        self.position += 1
        return token

    def _at(self, *texts: str) -> bool:
        token = self._peek()
        return token is not None and token.kind == "op" and token.text in texts

    def expression(self) -> Value:
        value = self.term()
        while self._at("+", "-"):
            op = self._take().text
            value = combine(op, value, self.term())
        return value

    def term(self) -> Value:
        value = self.unary()
        while self._at("*", "/"):
            op = self._take().text
            value = combine(op, value, self.unary())
        return value

    def unary(self) -> Value:
        if self._at("-"):
            self._take()
            return combine("*", -1.0, self.unary())
        if self._at("+"):
            self._take()
            return self.unary()
        value = self.primary()
        if self._at("^"):
            self._take()
            value = combine("^", value, self.unary())
        return value

    def primary(self) -> Value:
        token = self._take()
        if token.kind == "number":
            return float(token.text)
        if token.kind == "op" and token.text == "(":
            value = self.expression()
            self._take(")")
            return value
        if token.kind == "op" and token.text == "[":
            return self._members("]")
        if token.kind == "name":
            if self._at("("):
                self._take("(")
                return self.call(token.text, self._members(")"))
            if token.text not in self.variables:
                raise ExpressionError(f"unknown metric id {token.text!r}")
            return self.variables[token.text]
        raise ExpressionError(f"unexpected {token.text!r}")

    def _members(self, closing: str) -> list[Value]:
        members: list[Value] = []
        if self._at(closing):
            self._take(closing)
            return members
        members.append(self.expression())
        while self._at(","):
            self._take(",")
            members.append(self.expression())
        self._take(closing)
        return members

    def call(self, name: str, arguments: list[Value]) -> Value:
        function = name.upper()
        if function == "FILL":
            if len(arguments) != 2 or not isinstance(arguments[0], dict) or not _is_scalar(arguments[1]):
                raise ExpressionError("FILL takes a series and a number")
            series, fill = arguments[0], float(arguments[1])  # type: ignore[arg-type]
            return {t: series.get(t, fill) for t in self.timestamps} | series
        if function in _POINTWISE:
            if len(arguments) != 1:
                raise ExpressionError(f"{function} takes one argument")
            return pointwise(_POINTWISE[function], arguments[0])
        if function in _AGGREGATES:
            if len(arguments) != 1:
                raise ExpressionError(f"{function} takes one series or one array")
            return aggregate(_AGGREGATES[function], arguments[0])
        raise ExpressionError(f"{name} is not supported")


def _is_scalar(value: Value) -> bool:
    return isinstance(value, float | int)


def _apply(op: str, a: float, b: float) -> float | None:
    try:
        result = _OPERATORS[op](a, b)
    except (ZeroDivisionError, OverflowError):
        return None
    return result if isinstance(result, float | int) and math.isfinite(result) else None


def combine(op: str, left: Value, right: Value) -> Value:
    if isinstance(left, list) or isinstance(right, list):
        raise ExpressionError("arithmetic on an array: apply MAX, MIN, SUM or AVG to it first")
    if _is_scalar(left) and _is_scalar(right):
        result = _apply(op, float(left), float(right))  # type: ignore[arg-type]
        if result is None:
            raise ExpressionError("the expression has no value (division by zero)")
        return result
    if isinstance(left, dict) and isinstance(right, dict):
        pairs = {t: (left[t], right[t]) for t in left.keys() & right.keys()}
    elif isinstance(left, dict):
        scalar = float(right)  # type: ignore[arg-type]
        pairs = {t: (v, scalar) for t, v in left.items()}
    elif isinstance(right, dict):
        scalar = float(left)
        pairs = {t: (scalar, v) for t, v in right.items()}
    else:  # pragma: no cover - two scalars are handled above
        raise ExpressionError("no series")
    results = {t: _apply(op, a, b) for t, (a, b) in sorted(pairs.items())}
    return {t: v for t, v in results.items() if v is not None}


def pointwise(function: Callable[[float], float], value: Value) -> Value:
    if isinstance(value, dict):
        return {t: function(v) for t, v in value.items()}
    if isinstance(value, list):
        raise ExpressionError("this function takes a series or a number, not an array")
    return function(float(value))


def aggregate(function: Callable[[list[float]], float], value: Value) -> Value:
    if isinstance(value, dict):
        if not value:
            raise ExpressionError("the series has no data")
        return function(list(value.values()))
    if not isinstance(value, list):
        return float(value)
    members = value
    if any(isinstance(m, list) for m in members):
        raise ExpressionError("nested arrays are not supported")
    series = [m for m in members if isinstance(m, dict)]
    scalars = [float(m) for m in members if _is_scalar(m)]  # type: ignore[arg-type]
    if not series:
        return function(scalars)
    timestamps = sorted(set().union(*(s.keys() for s in series)))
    return {t: function([s[t] for s in series if t in s] + scalars) for t in timestamps}
