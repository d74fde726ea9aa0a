"""Request headers every service declares alike (HTTP operations only: this module loads FastAPI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

# Optional, 1 to 255 characters; what a key binds is each operation's own (``agora.idempotency``).
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)]
