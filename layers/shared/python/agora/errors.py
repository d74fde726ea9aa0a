"""The error model: domain errors carry an HTTP status and a stable machine-readable code.

Services raise these (or subclasses); the HTTP adapter renders them as
``application/problem+json`` (RFC 9457).  A client mistake is never a 500.
"""

from __future__ import annotations

import sys
from typing import Any

PROBLEM_BASE = "https://agora.dev/problems/"


class AgoraError(Exception):
    status = 500
    code = "INTERNAL_ERROR"
    title = "Internal error"

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        self.extra = extra


class InvalidInput(AgoraError):
    status = 400
    code = "INVALID_INPUT"
    title = "Invalid input"


class Unauthorized(AgoraError):
    status = 401
    code = "UNAUTHORIZED"
    title = "Authentication required"


class Forbidden(AgoraError):
    status = 403
    code = "FORBIDDEN"
    title = "Not allowed"


class NotFound(AgoraError):
    status = 404
    code = "NOT_FOUND"
    title = "Not found"


class Conflict(AgoraError):
    status = 409
    code = "CONFLICT"
    title = "Conflict"


class PayloadTooLarge(AgoraError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    title = "Request body too large"


class UnprocessableEntity(AgoraError):
    status = 422
    code = "VALIDATION_FAILED"
    title = "Validation failed"


class DependencyUnavailable(AgoraError):
    """A backing service we cannot do without did not answer (not the client's fault)."""

    status = 503
    code = "DEPENDENCY_UNAVAILABLE"
    title = "Service temporarily unavailable"


def problem(
    status: int, code: str, title: str, detail: str, *, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_from(error: AgoraError, *, instance: str | None = None) -> dict[str, Any]:
    return problem(error.status, error.code, error.title, error.detail, instance=instance, **error.extra)


# AWS error codes that say "the service is busy or down", not "your request is wrong".
AWS_UNAVAILABLE_CODES = frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestTimeout",
    }
)


def is_dependency_failure(exc: BaseException) -> bool:
    """A database, cache or AWS service that is down, unreachable, slow or busy: the client may
    retry; no bug of ours.  Wrapped errors (PynamoDB wraps botocore's) are followed to their cause.

    The libraries are looked up, never imported: a function that has not loaded one cannot have
    its errors.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _unavailable(current):
            return True
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return False


def problem_of(exc: BaseException) -> tuple[int, str]:
    """The status and ``code`` this failure is (or would be) answered with, as ``agora.http`` maps it:
    a domain error's own, 503 ``DEPENDENCY_UNAVAILABLE`` for a dependency that failed, 409
    ``CONFLICT`` for a write a constraint or condition refused, else 500 ``INTERNAL_ERROR``.
    Spans record failures with it (``agora.tracing``)."""
    if isinstance(exc, AgoraError):
        return exc.status, exc.code
    if is_dependency_failure(exc):
        return DependencyUnavailable.status, DependencyUnavailable.code
    if _conflict(exc):
        return Conflict.status, Conflict.code
    return AgoraError.status, AgoraError.code


# AWS error codes that say "a condition refused this write": the request's conflict, not an outage.
AWS_CONFLICT_CODES = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


def _conflict(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        psycopg = sys.modules.get("psycopg")
        if psycopg is not None and isinstance(current, psycopg.IntegrityError):
            return True
        response = getattr(current, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") in AWS_CONFLICT_CODES:
            return True
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return False


def _unavailable(exc: BaseException) -> bool:
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.OperationalError):
        return True
    redis = sys.modules.get("redis.exceptions")
    if redis is not None and isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return True
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is None:
        return False
    if isinstance(exc, botocore.ConnectionError | botocore.HTTPClientError):
        return True
    if isinstance(exc, botocore.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) in AWS_UNAVAILABLE_CODES
    return False
