"""The docs service's operations: the API's own OpenAPI document and its reading page.

Both are public and read-only; their budget is small because nothing a shop needs depends on them.
"""

from agora.operations import Auth, Operation, RateLimit, Service
from docs.assets import SOURCES

H = "docs.handlers"


def op(op_id: str, path: str, description: str) -> Operation:
    return Operation(
        "docs",
        op_id,
        "GET",
        path,
        f"{H}.{op_id}.handler",
        Auth.PUBLIC,
        memory_mb=256,
        description=description,
    )


SERVICE = Service(
    name="docs",
    rate_limit=RateLimit(per_minute=120),
    route_prefixes=("/api/docs", "/api/openapi.json"),
    package_files=tuple((source, f"docs/assets/{name}") for name, source in SOURCES.items()),
    operations=(
        op("openapi_document", "/api/openapi.json", "The API's OpenAPI 3.1 document"),
        op("docs_page", "/api/docs", "Swagger UI over the OpenAPI document"),
        op("docs_asset", "/api/docs/{asset}", "The Swagger UI's script and stylesheet (pinned, served here)"),
    ),
)
