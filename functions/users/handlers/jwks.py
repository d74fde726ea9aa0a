"""GET /api/auth/.well-known/jwks.json: the public keys that verify access tokens, for anyone to cache."""

from typing import Any

from fastapi import Response

from agora.http import OperationApi
from agora.identity import public_keys

api = OperationApi.declared("users", "jwks")
# As long as a verifier keeps its own copy: a rotation publishes new keys longer ahead than this.
CACHE_CONTROL = "public, max-age=300"


@api.endpoint()
def jwks(response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = CACHE_CONTROL
    return public_keys().jwks()


handler = api.handler
