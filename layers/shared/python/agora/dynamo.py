"""pynamodb models on tables named by the stack, in the function's region and endpoint.

pynamodb makes its own botocore clients: ``traced_connection`` makes each call of one a span
(``agora.tracing.instrument_botocore``), as ``agora.aws`` does for the clients it makes.  A
model base overrides ``_get_connection`` with it; a ``Connection`` for transactions is passed
through it once.
"""

from __future__ import annotations

import os
from typing import Any


def table_meta(table_env: str, default_name: str | None = None) -> Any:
    """A pynamodb ``Meta`` for the table whose name the stack put in ``table_env``.

    ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL`` point it at LocalStack or
    DynamoDB Local; on AWS neither is set and the regional endpoint is used.
    """
    name = os.environ.get(table_env) or default_name
    if not name:
        raise RuntimeError(f"{table_env} is not set")

    class Meta:
        table_name = name
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        host = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
        connect_timeout_seconds = 2
        read_timeout_seconds = 3
        max_retry_attempts = 2

    return Meta


def traced_connection[C](connection: C) -> C:
    """A pynamodb ``Connection`` (or ``TableConnection``) whose DynamoDB calls are spans.

    Cheap to call on every use: the client is instrumented once, and again only if pynamodb
    replaced it (it does when the first one's credentials went missing).
    """
    from agora.tracing import instrument_botocore

    inner: Any = getattr(connection, "connection", connection)  # a TableConnection holds a Connection
    instrument_botocore(inner.client)
    return connection
