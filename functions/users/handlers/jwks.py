"""GET /api/auth/.well-known/jwks.json: the public keys that verify access tokens, for anyone to cache."""

from typing import Any

from fastapi import Response

from agora.http import OperationApi
from agora.identity import public_keys
from users.handlers.responses import JsonWebKeySet

api = OperationApi.declared("users", "jwks")
# As long as a verifier keeps its own copy: a rotation publishes new keys longer ahead than this.
CACHE_CONTROL = "public, max-age=300"


@api.endpoint(response_model=JsonWebKeySet, problems={503: ("AUTH_UNAVAILABLE",)})
def jwks(response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = CACHE_CONTROL
    return public_keys().jwks()


handler = api.handler
