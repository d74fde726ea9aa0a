"""Response bodies shared by the authentication handlers (the seed's shapes)."""

from __future__ import annotations

from typing import Any

from users.service.accounts import Session
from users.service.views import summary


def session_body(message: str, session: Session) -> dict[str, Any]:
    return {
        "message": message,
        "token": session.token,
        "refreshToken": session.refresh_token,
        "user": summary(session.user),
    }
