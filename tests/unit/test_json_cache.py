"""agora.cache.JsonCache: JSON objects under one prefix and one time to live, failing soft."""

import pytest

from agora import cache as cache_module
from agora.cache import Cache, JsonCache


class FakeRedis:
    """What ``Cache`` calls on a redis client, kept in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.ttls: dict[str, int] = {}

    def get(self, key):
        return self.values.get(key)

    def set(self, key, value, ttl):
        self.values[key], self.ttls[key] = value, ttl

    def delete(self, *keys):
        for key in keys:
            self.values.pop(key, None)


@pytest.fixture
def redis():
    return FakeRedis()


@pytest.fixture
def store(redis):
    return Cache("redis://unused", client=redis, namespace="test:")


def test_an_object_is_kept_under_the_prefix_for_the_ttl(redis, store):
    views = JsonCache("agora:things:v1:", 3600, store)
    views.put("42", {"id": 42, "name": "lamp"})
    assert redis.values == {"test:agora:things:v1:42": '{"id":42,"name":"lamp"}'}
    assert redis.ttls == {"test:agora:things:v1:42": 3600}
    assert views.get("42") == {"id": 42, "name": "lamp"}


def test_a_miss_and_a_stored_non_object_read_as_none(redis, store):
    views = JsonCache("p:", 60, store)
    assert views.get("absent") is None
    redis.values["test:p:list"] = "[1, 2]"
    assert views.get("list") is None


def test_forget_drops_every_key_named(redis, store):
    views = JsonCache("p:", 60, store)
    for key in ("a", "b", "c"):
        views.put(key, {"k": key})
    views.forget("a", "c")
    assert set(redis.values) == {"test:p:b"}


def test_two_prefixes_never_read_each_other(store):
    orders, users = JsonCache("orders:", 60, store), JsonCache("users:", 60, store)
    orders.put("1", {"kind": "order"})
    assert users.get("1") is None


def test_redis_down_is_a_miss_and_a_skipped_write():
    class DownRedis:
        def __getattr__(self, name):
            def refuse(*args):
                raise ConnectionError("refused")

            return refuse

    views = JsonCache("p:", 60, Cache("redis://127.0.0.1:1", client=DownRedis()))
    views.put("a", {"x": 1})
    assert views.get("a") is None
    views.forget("a")


def test_without_a_cache_it_uses_the_containers_looked_up_on_each_call(monkeypatch, redis):
    views = JsonCache("p:", 60)
    monkeypatch.setattr(cache_module, "cache", lambda: Cache("redis://unused", client=redis))
    views.put("a", {"x": 1})
    assert redis.values == {"p:a": '{"x":1}'}
    assert views.get("a") == {"x": 1}


def test_the_services_keep_their_key_layouts_and_ttls(redis, store):
    from orders.adapters.cache import RedisOrderViews
    from products.adapters.cache import ProductCache
    from users.adapters.security import RedisProfileCache

    ProductCache(store).put("id", 5, {"id": 5})
    ProductCache(store).put("sku", "LAMP-1", {"id": 5})
    RedisOrderViews(store).put({"id": "AB-CD"})
    RedisProfileCache(store).put("user-1", {"id": "user-1"})
    assert redis.ttls == {
        "test:agora:products:v1:id:5": 3600,
        "test:agora:products:v1:sku:LAMP-1": 3600,
        "test:agora:orders:v1:ab-cd": 3600,
        "test:agora:users:v1:user-1": 3600,
    }
    ProductCache(store).forget(5, "LAMP-1")
    RedisOrderViews(store).forget("AB-CD")
    assert set(redis.values) == {"test:agora:users:v1:user-1"}
