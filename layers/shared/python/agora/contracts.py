"""Shapes every service's HTTP contract is written in: response models, money, times, problems.

Responses are pydantic models (``Shape``) that the operation's endpoint declares as its
``response_model``: FastAPI validates what the use case returned against it, so a view that
drifts from the published document fails loudly in the tests instead of reaching a client.
Money leaves as a JSON number of at most two decimals and times as UTC ISO-8601 strings, the
shapes ``agora.formats`` writes.

Refusals are RFC 9457 ``application/problem+json`` bodies (``Problem``); each operation lists
the ``code``s it can answer with per status (``problems(...)``), and the published OpenAPI
document carries them as enums.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from agora.formats import number

PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"


class Shape(BaseModel):
    """A response body: every key declared (an undeclared one is a bug, not something to drop)."""

    model_config = ConfigDict(extra="forbid")


Money = Annotated[
    Decimal,
    PlainSerializer(number, return_type=int | float, when_used="json"),
    WithJsonSchema({"type": "number"}, mode="serialization"),
    Field(description="An amount of money: a JSON number with at most two decimals"),
]
Timestamp = Annotated[str, Field(description="UTC, ISO-8601", json_schema_extra={"format": "date-time"})]


def _not_nullable(schema: dict[str, Any]) -> None:
    """Document the field without pydantic's ``null`` branch (see ``omittable``)."""
    if "anyOf" in schema:
        variants = [v for v in schema.pop("anyOf") if v != {"type": "null"}]
        if len(variants) == 1:
            schema.update(variants[0])
        else:
            schema["anyOf"] = variants
    schema.pop("default", None)


def omittable(**constraints: Any) -> Any:
    """A field of a partial update that may be left out but not cleared: documented as not nullable,
    and refused as ``null`` by ``refuse_cleared`` in the model's validator."""
    return Field(default=None, json_schema_extra=_not_nullable, **constraints)


def refuse_cleared(model: BaseModel) -> None:
    """Raise for an ``omittable`` field the client sent as ``null`` (a validation error, 422)."""
    for name, info in type(model).model_fields.items():
        sent = name in model.model_fields_set
        if info.json_schema_extra is _not_nullable and sent and getattr(model, name) is None:
            raise ValueError(f"{info.alias or name} cannot be null")


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details with Agora's stable machine-readable ``code``."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="VALIDATION_FAILED: the fields that were refused"
    )
    retry_after_s: float | None = Field(default=None, description="How long to wait before trying again")


# What every operation may answer, whatever it does.
COMMON: dict[int, tuple[str, ...]] = {
    413: ("PAYLOAD_TOO_LARGE",),
    422: ("VALIDATION_FAILED",),
    429: ("RATE_LIMITED",),
    503: ("DEPENDENCY_UNAVAILABLE",),
}
WITH_BODY: dict[int, tuple[str, ...]] = {400: ("MALFORMED_JSON", "INVALID_INPUT")}
WITH_TOKEN: dict[int, tuple[str, ...]] = {
    401: ("MISSING_TOKEN", "INVALID_TOKEN", "TOKEN_EXPIRED", "TOKEN_REVOKED"),
    503: ("AUTH_UNAVAILABLE",),
}
FOR_ADMINS: dict[int, tuple[str, ...]] = {403: ("ADMIN_ONLY",)}

REASONS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    422: "Validation failed",
    429: "Too many requests",
    502: "Upstream refused",
    503: "Temporarily unavailable",
}


def merge(*tables: Mapping[int, Iterable[str]]) -> dict[int, tuple[str, ...]]:
    """Status -> codes, the union of ``tables`` (codes in first-seen order)."""
    merged: dict[int, list[str]] = {}
    for table in tables:
        for status, codes in table.items():
            known = merged.setdefault(int(status), [])
            known.extend(code for code in codes if code not in known)
    return {status: tuple(merged[status]) for status in sorted(merged)}


def problem_responses(table: Mapping[int, Iterable[str]]) -> dict[int | str, dict[str, Any]]:
    """FastAPI ``responses=`` entries: one problem+json schema per status, its codes as an enum."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status, codes in merge(table).items():
        schema = {
            "allOf": [
                {"$ref": PROBLEM_SCHEMA_REF},
                {"type": "object", "properties": {"code": {"enum": list(codes)}}},
            ]
        }
        entry: dict[str, Any] = {
            "description": f"{REASONS.get(status, 'Refused')}: {', '.join(codes)}",
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        if status in (429, 503):
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again, when known",
                    "schema": {"type": "string"},
                }
            }
        responses[status] = entry
    return responses
