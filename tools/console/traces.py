"""X-Ray trace documents → spans with their service, a waterfall, a search, and a service map.

BatchGetTraces returns a trace as segment documents (JSON strings).  A document may nest
subsegments (``subsegments``) or name its parent (``parent_id``), as the OpenTelemetry exporter in
``agora.tracing`` does with one document per span.  Each span's service is read from what the span
says of itself — an annotation (``service``, ``service_name``, ``faas_name``, …), the function it
ran in, an ``agora-<stage>-<service>-…`` name, or a route under a service's prefix — and otherwise
is its parent's.  A client span (``namespace`` ``remote`` or ``aws``) belongs to its caller and
points at what it called.

LocalStack's X-Ray (moto) returns no service graph and filters nothing, and its trace summaries
carry no annotations and flag every segment that merely has an ``error`` key as an error; so the
console derives all of it from the documents.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Annotations that name the span's own service or function (OpenTelemetry attribute names with
# dots replaced by underscores, as agora.tracing and X-Ray do).
OWN_KEYS = ("agora_service", "service", "service_name", "faas_name", "cloud_resource_id", "function_name")
# Annotations of a client span that name what it called.
TARGET_KEYS = ("faas_invoked_name", "peer_service", "rpc_service", "db_system", "messaging_destination_name")
ROUTE_KEYS = ("http_route", "http_target", "url_path")
CLIENT_NAMESPACES = ("remote", "aws")
CLIENT = "client"


@dataclass(frozen=True)
class Catalog:
    """The services of the system and the route prefixes they serve (``agora.operations``)."""

    stage: str
    prefixes: Mapping[str, str]  # route prefix -> service
    names: tuple[str, ...]

    @classmethod
    def of(cls, stage: str, services: Iterable[tuple[str, Iterable[str]]]) -> Catalog:
        services = list(services)
        prefixes = {prefix: name for name, routes in services for prefix in routes}
        return cls(stage, prefixes, tuple(name for name, _ in services))

    def service_in(self, text: str) -> str | None:
        """The service a name, function name or ARN, or route names, if any."""
        text = text.rsplit(":function:", 1)[-1].split(":", 1)[0].strip()
        for name in sorted(self.names, key=len, reverse=True):
            if text == name or re.fullmatch(
                rf"agora-(?:{re.escape(self.stage)}-)?{re.escape(name)}(?:-.*)?", text
            ):
                return name
        return self.service_of_route(text)

    def service_of_route(self, text: str) -> str | None:
        path = text.split(" ", 1)[-1] if " " in text else text
        if not path.startswith("/"):
            return None
        for prefix in sorted(self.prefixes, key=len, reverse=True):
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return self.prefixes[prefix]
        return None


@dataclass
class Span:
    id: str
    parent_id: str | None
    name: str
    start: float
    end: float
    kind: str  # segment | subsegment
    namespace: str | None
    annotations: dict[str, Any]
    error: bool = False
    fault: bool = False
    throttle: bool = False
    in_progress: bool = False
    http_status: int | None = None
    cause: str | None = None
    detail: str | None = None
    own_service: str | None = None
    service: str = ""
    target: str | None = None
    children: list[Span] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "fault" if self.fault else "error" if self.error else "throttle" if self.throttle else "ok"

    @property
    def is_client(self) -> bool:
        return self.namespace in CLIENT_NAMESPACES


def documents_of(trace: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The segment documents of one BatchGetTraces trace, nested subsegments brought up with
    their parent's id."""
    flat: list[dict[str, Any]] = []
    for segment in trace.get("Segments", []):
        document = segment["Document"]
        _flatten(json.loads(document) if isinstance(document, str) else document, None, flat)
    return flat


def _flatten(document: dict[str, Any], parent_id: str | None, out: list[dict[str, Any]]) -> None:
    nested = document.get("subsegments") or []
    doc = {k: v for k, v in document.items() if k != "subsegments"}
    if parent_id is not None and not doc.get("parent_id"):
        doc["parent_id"] = parent_id
        doc.setdefault("type", "subsegment")
    out.append(doc)
    for child in nested:
        _flatten(child, doc.get("id"), out)


def span_of(doc: Mapping[str, Any], catalog: Catalog) -> Span:
    annotations = dict(doc.get("annotations") or {})
    start = float(doc.get("start_time") or 0)
    in_progress = bool(doc.get("in_progress")) or doc.get("end_time") is None
    status = ((doc.get("http") or {}).get("response") or {}).get("status")
    if status is None:
        status = annotations.get("http_status_code") or annotations.get("http_response_status_code")
    span = Span(
        id=str(doc.get("id")),
        parent_id=doc.get("parent_id"),
        name=str(doc.get("name", "")),
        start=start,
        end=start if in_progress else float(doc["end_time"]),
        kind="subsegment" if doc.get("type") == "subsegment" else "segment",
        namespace=doc.get("namespace"),
        annotations=annotations,
        error=doc.get("error") is True,
        fault=doc.get("fault") is True,
        throttle=doc.get("throttle") is True,
        in_progress=in_progress,
        http_status=int(status) if isinstance(status, int | float | str) and str(status).isdigit() else None,
        cause=cause_of(doc),
        detail=detail_of(doc),
    )
    if span.is_client:
        span.target = target_of(doc, catalog)
    else:
        span.own_service = own_service(doc, catalog)
    return span


def cause_of(doc: Mapping[str, Any]) -> str | None:
    cause = doc.get("cause")
    if isinstance(cause, str):
        return cause
    exceptions = (cause or {}).get("exceptions") or []
    if exceptions:
        first = exceptions[0]
        return ": ".join(str(first[k]) for k in ("type", "message") if first.get(k))
    code = (doc.get("annotations") or {}).get("code")
    return str(code) if code else None


def detail_of(doc: Mapping[str, Any]) -> str | None:
    """What a span did, beyond its name: its SQL, or the AWS operation it called."""
    sql = (doc.get("sql") or {}).get("sanitized_query")
    if sql:
        return str(sql)
    operation = (doc.get("aws") or {}).get("operation")
    return f"{doc.get('name')}.{operation}" if operation else None


def title_of(span: Span) -> str:
    """A span's name for people: its HTTP method and route when it served one."""
    method = span.annotations.get("http_request_method") or span.annotations.get("http_method")
    route = span.annotations.get("http_route")
    if method and route:
        return f"{method} {route}"
    return str(span.annotations.get("span_name") or span.name)


def own_service(doc: Mapping[str, Any], catalog: Catalog) -> str | None:
    annotations = doc.get("annotations") or {}
    aws = doc.get("aws") or {}
    candidates = [
        *(annotations.get(key) for key in OWN_KEYS),
        aws.get("function_name"),
        doc.get("resource_arn"),
        doc.get("name"),
        *(annotations.get(key) for key in ROUTE_KEYS),
    ]
    for candidate in candidates:
        if isinstance(candidate, str) and (service := catalog.service_in(candidate)):
            return service
    return None


def target_of(doc: Mapping[str, Any], catalog: Catalog) -> str:
    """What a client span called: a service of the system if it names one, else its own name."""
    annotations = doc.get("annotations") or {}
    for value in [*(annotations.get(key) for key in TARGET_KEYS), doc.get("name")]:
        if isinstance(value, str) and (service := catalog.service_in(value)):
            return service
    named = next((annotations[k] for k in TARGET_KEYS if isinstance(annotations.get(k), str)), None)
    return str(named or doc.get("name") or "remote")


def build(documents: Iterable[Mapping[str, Any]], catalog: Catalog) -> list[Span]:
    """The trace's spans as trees (the roots, sorted by start), each span's service resolved.

    A span whose parent is not in the trace (the Lambda or gateway segment LocalStack never
    writes, or a link to another trace) is a root."""
    spans = {span.id: span for span in (span_of(doc, catalog) for doc in documents)}
    roots: list[Span] = []
    for span in spans.values():
        parent = spans.get(span.parent_id or "")
        (parent.children if parent is not None and parent is not span else roots).append(span)
    for span in spans.values():
        span.children.sort(key=lambda s: s.start)
    roots.sort(key=lambda s: s.start)
    for root in roots:
        _assign(root, None)
    return roots


def _assign(span: Span, inherited: str | None) -> None:
    span.service = span.own_service or inherited or span.name
    for child in span.children:
        _assign(child, span.service)


def walk(roots: Iterable[Span]) -> Iterable[tuple[Span, int]]:
    """Every span depth first, with its depth."""
    stack = [(root, 0) for root in reversed(list(roots))]
    while stack:
        span, depth = stack.pop()
        yield span, depth
        stack.extend((child, depth + 1) for child in reversed(span.children))


def waterfall(roots: Sequence[Span]) -> dict[str, Any]:
    """One row per span in tree order, with offsets from the trace's start, in milliseconds."""
    spans = [span for span, _ in walk(roots)]
    if not spans:
        return {"start": None, "duration_ms": 0, "rows": []}
    start = min(s.start for s in spans)
    end = max(s.end for s in spans)
    rows = [
        {
            "id": span.id,
            "parent_id": span.parent_id,
            "depth": depth,
            "name": span.name,
            "service": span.service,
            "kind": span.kind,
            "namespace": span.namespace,
            "target": span.target,
            "offset_ms": round((span.start - start) * 1000, 3),
            "duration_ms": round((span.end - span.start) * 1000, 3),
            "status": span.status,
            "http_status": span.http_status,
            "in_progress": span.in_progress,
            "cause": span.cause,
            "detail": span.detail,
            "annotations": span.annotations,
        }
        for span, depth in walk(roots)
    ]
    return {"start": start, "duration_ms": round((end - start) * 1000, 3), "rows": rows}


def trace_status(spans: Iterable[Span]) -> str:
    statuses = {span.status for span in spans}
    return next((s for s in ("fault", "error", "throttle") if s in statuses), "ok")


def summary(trace_id: str, roots: Sequence[Span]) -> dict[str, Any]:
    """A trace's line in the search results."""
    spans = [span for span, _ in walk(roots)]
    first = roots[0] if roots else None
    services = sorted({s.service for s in spans if not s.is_client})
    annotations: dict[str, Any] = {}
    for span in spans:
        for key, value in span.annotations.items():
            annotations.setdefault(key, value)
    start = min((s.start for s in spans), default=0.0)
    end = max((s.end for s in spans), default=0.0)
    return {
        "id": trace_id,
        "name": first.name if first else "",
        "title": title_of(first) if first else "",
        "start": start,
        "duration_ms": round((end - start) * 1000, 3),
        "services": services,
        "status": trace_status(spans),
        "http_status": first.http_status if first else None,
        "spans": len(spans),
        "annotations": annotations,
    }


def matches(found: Mapping[str, Any], roots: Sequence[Span], service: str, status: str, text: str) -> bool:
    """The search's filters: a service the trace touches, its status, and text that is the trace
    id, part of a span's name, or an annotation (``key=value``, or any annotation's value)."""
    if service and service not in found["services"]:
        return False
    if status and status != found["status"]:
        return False
    return not text or _text_matches(found["id"], roots, text.strip())


def _text_matches(trace_id: str, roots: Sequence[Span], text: str) -> bool:
    if text == trace_id:
        return True
    key, sep, value = text.partition("=")
    for span, _ in walk(roots):
        if sep and str(span.annotations.get(key.strip(), "\0")) == value.strip():
            return True
        if not sep and (
            text.lower() in span.name.lower() or any(text == str(v) for v in span.annotations.values())
        ):
            return True
    return False


# --- service map ---------------------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    kind: str
    count: int = 0
    errors: int = 0
    faults: int = 0
    total_ms: float = 0.0

    def add(self, span: Span) -> None:
        self.count += 1
        self.errors += span.status == "error"
        self.faults += span.status == "fault"
        self.total_ms += (span.end - span.start) * 1000

    def out(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "count": self.count,
            "errors": self.errors,
            "faults": self.faults,
            "avg_ms": round(self.total_ms / self.count, 1) if self.count else None,
        }


def service_map(traces: Iterable[Sequence[Span]]) -> dict[str, Any]:
    """Nodes (services, and what they call outside the system) and edges (calls between them),
    counted from the traces' spans: a span whose service differs from its parent's is a call from
    the parent's service; a root span that served HTTP is a call from the client."""
    nodes: dict[str, _Node] = {}
    edges: dict[tuple[str, str], int] = defaultdict(int)

    def node(name: str, kind: str) -> _Node:
        return nodes.setdefault(name, _Node(name, kind))

    for roots in traces:
        for span, parent in _with_parents(roots):
            _map_span(span, parent, node, edges)
    return {
        "source": "derived",
        "nodes": [n.out() for n in sorted(nodes.values(), key=lambda n: n.name)],
        "edges": [{"source": s, "target": t, "count": c} for (s, t), c in sorted(edges.items())],
    }


def _map_span(span: Span, parent: Span | None, node: Any, edges: dict[tuple[str, str], int]) -> None:
    if span.is_client:
        if span.target and span.target != span.service and not _calls_service(span):
            node(span.target, "remote").add(span)
            edges[(span.service, span.target)] += 1
        return
    entry = parent is None or parent.service != span.service
    if not entry:
        return
    node(span.service, "service").add(span)
    if parent is not None:
        edges[(parent.service, span.service)] += 1
    elif span.http_status is not None or any(k in span.annotations for k in ROUTE_KEYS):
        node(CLIENT, "client").add(span)  # what the callers saw: the requests and how they went
        edges[(CLIENT, span.service)] += 1


def _calls_service(span: Span) -> bool:
    """Whether a client span's callee wrote spans of its own under it (then that is the edge)."""
    return any(child.service != span.service for child in span.children)


def _with_parents(roots: Iterable[Span]) -> Iterable[tuple[Span, Span | None]]:
    stack: list[tuple[Span, Span | None]] = [(root, None) for root in roots]
    while stack:
        span, parent = stack.pop()
        yield span, parent
        stack.extend((child, span) for child in span.children)


def graph_from_xray(services: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """GetServiceGraph's answer in the same shape as :func:`service_map`."""
    services = list(services)
    names = {s["ReferenceId"]: s.get("Name") or s.get("Type") or str(s["ReferenceId"]) for s in services}
    nodes, edges = [], []
    for s in services:
        stats = s.get("SummaryStatistics") or {}
        count = stats.get("TotalCount") or 0
        nodes.append(
            {
                "name": names[s["ReferenceId"]],
                "kind": "client" if s.get("Type") == "client" else "service",
                "count": count,
                "errors": (stats.get("ErrorStatistics") or {}).get("TotalCount", 0),
                "faults": (stats.get("FaultStatistics") or {}).get("TotalCount", 0),
                "avg_ms": round(stats["TotalResponseTime"] * 1000 / count, 1) if count else None,
            }
        )
        for edge in s.get("Edges") or []:
            total = (edge.get("SummaryStatistics") or {}).get("TotalCount", 0)
            edges.append(
                {
                    "source": names[s["ReferenceId"]],
                    "target": names.get(edge["ReferenceId"], "?"),
                    "count": total,
                }
            )
    return {"source": "xray", "nodes": nodes, "edges": edges}
