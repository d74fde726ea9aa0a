"""The spans code under test makes, collected in memory from ``agora.tracing``'s own provider.

Tests set tracing up as an entry point would (``tracing.tracer()``); with ``AGORA_TRACE_EXPORT=off``
(tests/conftest.py) nothing is exported, and this collector sees every span that ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest


class Collector:
    """A span exporter that keeps what it is given."""

    def __init__(self) -> None:
        self.spans: list[Any] = []

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 0) -> bool:
        return True


_collector: Collector | None = None


def collector() -> Collector:
    """The process's collector, added to the provider once (a processor cannot be taken away)."""
    global _collector
    if _collector is None:
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        from agora import tracing

        tracing.tracer()
        _collector = Collector()
        tracing.provider().add_span_processor(SimpleSpanProcessor(_collector))  # type: ignore[arg-type]
    return _collector


class Spans(list[Any]):
    """The spans that ended during one test, with a few finders."""

    def named(self, name: str) -> Any:
        found = [s for s in self if s.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r} among {[s.name for s in self]}"
        return found[0]

    def starting(self, prefix: str) -> list[Any]:
        return [s for s in self if s.name.startswith(prefix)]

    def of_trace(self, trace_id: int) -> list[Any]:
        return [s for s in self if s.context.trace_id == trace_id]


class Recorder:
    """Called, the spans that have ended since the test began."""

    def __init__(self, source: Collector) -> None:
        self._source = source

    def __call__(self) -> Spans:
        return Spans(self._source.spans)


@pytest.fixture
def spans() -> Iterator[Recorder]:
    """Tracing set up as a function's first invocation sets it up; the spans ended in this test."""
    found = collector()
    found.spans.clear()
    yield Recorder(found)
    found.spans.clear()


@pytest.fixture
def logged() -> Iterator[Any]:
    """Called, the JSON lines the functions' logger has written during the test."""
    import io

    from agora.observability import logger

    handler = logger().registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield lambda: log_lines(buffer.getvalue())
    handler.setStream(previous)


def log_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines Powertools wrote (to stdout) among whatever else was printed."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines
