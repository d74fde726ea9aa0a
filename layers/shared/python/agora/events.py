"""Domain events on EventBridge in a versioned envelope.

``detail-type`` is the event type (``order.created``), ``source`` is
``agora.<service>``, and ``detail`` is the whole envelope, so a consumer sees
the same document whichever way it arrives.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agora.clock import now_iso
from agora.faults import fault_point

ENVELOPE_VERSION = 1
MAX_ENTRIES_PER_CALL = 10


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str = Field(pattern=r"^[a-z]+\.[a-z_]+$")
    version: int = Field(default=ENVELOPE_VERSION, ge=1)
    source: str = Field(pattern=r"^agora\.[a-z]+$")
    occurred_at: str = Field(default_factory=now_iso)
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


def _tracing() -> Any:
    """``agora.tracing`` when this process traces: an event never pulls OpenTelemetry into a cold
    start by itself."""
    tracing = sys.modules.get("agora.tracing")
    return tracing if tracing is not None and tracing.active() else None


def _active_trace_header() -> str | None:
    tracing = _tracing()
    if tracing is None:
        return None
    header: str | None = tracing.current_trace_header()
    return header


@dataclass(frozen=True)
class Delivery:
    """What the bus answered for one envelope.

    ``error`` is None when EventBridge accepted it.  ``transient`` marks a failure that is not the
    envelope's fault (the bus unreachable, throttled, or refusing us): it says nothing about the
    event, so the outbox does not count it against the row.
    """

    envelope_id: str
    error: str | None = None
    transient: bool = False

    @property
    def accepted(self) -> bool:
        return self.error is None


class PublishFailed(RuntimeError):
    def __init__(self, failed: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(failed)} event(s) were not accepted: {failed[:3]}")
        self.failed = failed


# Call-level refusals of the request's content: with a single entry in the call, the entry is at fault.
_CONTENT_REFUSALS = frozenset({"ValidationException", "InvalidArgument", "MalformedDetail"})


def _content_refused(error: Exception) -> bool:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in _CONTENT_REFUSALS or status == 413


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
        """All or raise: ``PublishFailed`` names the refused envelopes (the others did go out)."""
        failed = [(d.envelope_id, d.error or "") for d in self.publish_each(envelopes) if not d.accepted]
        if failed:
            raise PublishFailed(failed)

    def publish_each(self, envelopes: Sequence[Envelope]) -> list[Delivery]:
        """One ``Delivery`` per envelope, in order; never raises for what the bus answers.

        When this process traces, each envelope goes out in a producer span of its own that
        continues the envelope's trace (``agora.tracing.start_continued``: a child of the span that
        emitted it, linked to the relay's run when a sweep sends it later), and the envelope and
        its bus entry carry that span's header, so the consumer's span is its child.
        """
        tracing = _tracing()
        if tracing is None:
            return self._put_all(envelopes)
        spans = [
            tracing.start_continued(
                f"publish {e.type}",
                e.trace,
                kind="producer",
                **{
                    "messaging.system": "eventbridge",
                    "messaging.destination.name": self.bus_name,
                    "event_id": e.id,
                    "event_type": e.type,
                    "correlation_id": e.correlation_id,
                },
            )
            for e in envelopes
        ]
        sent = [
            e.model_copy(update={"trace": tracing.header_of(span) or e.trace})
            for e, span in zip(envelopes, spans, strict=True)
        ]
        try:
            outcomes = self._put_all(sent)
        except BaseException as error:
            for span in spans:
                tracing.record_error(span, error)
                span.end()
            raise
        for span, delivery in zip(spans, outcomes, strict=True):
            if not delivery.accepted:
                span.set_attribute("publish.error", delivery.error or "")
                if delivery.transient:
                    tracing.mark_problem(span, 503, "DEPENDENCY_UNAVAILABLE")
                else:
                    tracing.mark_problem(span, 500, "INTERNAL_ERROR")
            span.end()
        return outcomes

    def _put_all(self, envelopes: Sequence[Envelope]) -> list[Delivery]:
        outcomes: list[Delivery] = []
        for start in range(0, len(envelopes), MAX_ENTRIES_PER_CALL):
            outcomes += self._put(envelopes[start : start + MAX_ENTRIES_PER_CALL])
        return outcomes

    def _put(self, batch: Sequence[Envelope]) -> list[Delivery]:
        try:
            fault_point("agora.events.put_events")
            answer = self._events().put_events(Entries=[e.to_entry(self.bus_name) for e in batch])
        except Exception as error:
            if _content_refused(error) and len(batch) > 1:
                # One oversized or malformed entry fails the whole call: send them one by one to find it.
                return [d for envelope in batch for d in self._put([envelope])]
            reason = f"{type(error).__name__}: {error}"[:500]
            transient = not _content_refused(error)
            return [Delivery(e.id, reason, transient=transient) for e in batch]
        results = answer.get("Entries") or []
        outcomes = []
        for index, envelope in enumerate(batch):
            result = results[index] if index < len(results) else {"ErrorCode": "NoAnswer"}
            code = result.get("ErrorCode")
            if code:
                message = result.get("ErrorMessage")
                outcomes.append(Delivery(envelope.id, f"{code}: {message}" if message else str(code)))
            else:
                outcomes.append(Delivery(envelope.id))
        return outcomes


def envelope_from_detail(detail: Any) -> Envelope:
    """Parse a consumer's ``detail`` (a dict from EventBridge, or its JSON text)."""
    if isinstance(detail, str | bytes):
        detail = json.loads(detail)
    return Envelope.model_validate(detail)
