"""Domain events on EventBridge in a versioned envelope.

``detail-type`` is the event type (``order.created``), ``source`` is
``agora.<service>``, and ``detail`` is the whole envelope, so a consumer sees
the same document whichever way it arrives.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENVELOPE_VERSION = 1
MAX_ENTRIES_PER_CALL = 10


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str = Field(pattern=r"^[a-z]+\.[a-z_]+$")
    version: int = Field(default=ENVELOPE_VERSION, ge=1)
    source: str = Field(pattern=r"^agora\.[a-z]+$")
    occurred_at: str = Field(default_factory=utc_now)
    correlation_id: str | None = None
    trace: str | None = None
    data: dict[str, Any]

    @classmethod
    def new(cls, service: str, event_type: str, data: dict[str, Any], **context: Any) -> Envelope:
        """An event of the request being served: its correlation id and trace header come along."""
        context.setdefault("correlation_id", _request_correlation_id())
        context.setdefault("trace", _active_trace_header())
        return cls(type=event_type, source=f"agora.{service}", data=data, **context)

    def to_entry(self, bus_name: str) -> dict[str, Any]:
        entry = {
            "EventBusName": bus_name,
            "Source": self.source,
            "DetailType": self.type,
            "Detail": self.model_dump_json(),
        }
        if self.trace:
            entry["TraceHeader"] = self.trace
        return entry


def _request_correlation_id() -> str | None:
    from agora.observability import logger

    return logger().get_correlation_id()


def _active_trace_header() -> str | None:
    # Only when this process traces: an event never pulls OpenTelemetry into a cold start by itself.
    tracing = sys.modules.get("agora.tracing")
    if tracing is None or tracing.tracer.cache_info().currsize == 0:
        return None
    header: str | None = tracing.current_trace_header()
    return header


class PublishFailed(RuntimeError):
    def __init__(self, failed: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(failed)} event(s) were not accepted: {failed[:3]}")
        self.failed = failed


class EventPublisher:
    def __init__(self, bus_name: str, client: Any = None) -> None:
        self.bus_name = bus_name
        self._client = client

    def _events(self) -> Any:
        if self._client is None:
            from agora.aws import client

            self._client = client("events")
        return self._client

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        failed: list[tuple[str, str]] = []
        for start in range(0, len(envelopes), MAX_ENTRIES_PER_CALL):
            batch = envelopes[start : start + MAX_ENTRIES_PER_CALL]
            answer = self._events().put_events(Entries=[e.to_entry(self.bus_name) for e in batch])
            for envelope, result in zip(batch, answer.get("Entries", []), strict=False):
                if result.get("ErrorCode"):
                    failed.append((envelope.id, result["ErrorCode"]))
        if failed:
            raise PublishFailed(failed)


def envelope_from_detail(detail: Any) -> Envelope:
    """Parse a consumer's ``detail`` (a dict from EventBridge, or its JSON text)."""
    if isinstance(detail, str | bytes):
        detail = json.loads(detail)
    return Envelope.model_validate(detail)


def envelopes_from_sqs(records: Iterable[dict[str, Any]]) -> list[Envelope]:
    return [envelope_from_detail(json.loads(r["body"])["detail"]) for r in records]
