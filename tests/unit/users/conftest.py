"""The users apps on in-memory adapters, signed tokens verified against the fakes' key set."""

from __future__ import annotations

import importlib

import pytest

from agora import auth
from agora.identity import DenylistUnavailable
from tests.unit.users.fakes import KEYS, fake_context
from users.adapters import wiring


@pytest.fixture
def ctx(monkeypatch):
    context = fake_context()

    def is_revoked(principal):
        if context.denylist.down:
            raise DenylistUnavailable("the token denylist cannot be read")
        return context.denylist.is_revoked(principal)

    monkeypatch.setattr(wiring.context, "current", context)
    monkeypatch.setattr(auth, "public_keys", lambda: KEYS)
    monkeypatch.setattr(auth, "is_revoked", is_revoked)
    monkeypatch.setattr(importlib.import_module("users.handlers.jwks"), "public_keys", lambda: KEYS)
    return context
