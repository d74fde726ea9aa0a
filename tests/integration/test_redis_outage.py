"""Redis stopped and started again, through a TCP relay in front of the real server: the token
denylist refuses while it is down (fail closed) and the cache misses, and both use Redis again on
the first call after it is back, not after their back-off."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest

from agora.cache import Cache
from agora.identity import Denylist, DenylistUnavailable, Principal
from tests.integration.relay import Relay


@pytest.fixture
def relay(redis_url: str):
    parts = urlsplit(redis_url)
    relay = Relay(parts.hostname or "127.0.0.1", parts.port or 6379)
    yield relay
    relay.stop()


def principal() -> Principal:
    return Principal(
        user_id=str(uuid.uuid4()),
        email="a@example.com",
        role="user",
        token_id=str(uuid.uuid4()),
        expires_at=0,
    )


def test_the_denylist_fails_closed_while_redis_is_down_and_asks_again_once_it_is_back(relay):
    denylist = Denylist(f"redis://127.0.0.1:{relay.port}/0")
    revoked, kept = principal(), principal()
    denylist.deny_token(revoked.token_id, 60)
    relay.stop()
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(DenylistUnavailable):
            denylist.is_revoked(kept)
    assert time.monotonic() - started < 1.0, "refusals are immediate while nothing listens"
    relay.start()
    assert denylist.is_revoked(revoked) is True, "the first call after the restart asks Redis"
    assert denylist.is_revoked(kept) is False


def test_the_cache_misses_while_redis_is_down_and_serves_once_it_is_back(relay):
    cache = Cache(f"redis://127.0.0.1:{relay.port}/0", namespace=f"outage-{uuid.uuid4().hex}:")
    cache.set_json("k", {"v": 1}, 60)
    relay.stop()
    assert cache.get_json("k") is None
    relay.start()
    assert cache.get_json("k") == {"v": 1}
