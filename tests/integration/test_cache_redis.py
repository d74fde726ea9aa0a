import uuid

from agora.cache import Cache


def test_json_values_round_trip_and_expire_on_a_real_redis(redis_url):
    cache = Cache(redis_url)
    key = f"test:{uuid.uuid4()}"
    cache.set_json(key, {"price": "19.99", "tags": ["a"]}, ttl_s=60)
    assert cache.get_json(key) == {"price": "19.99", "tags": ["a"]}
    ttl = cache._redis().ttl(key)
    assert 0 < ttl <= 60
    cache.delete(key)
    assert cache.get_json(key) is None


def test_denylist_flags_live_until_their_ttl(redis_url):
    cache = Cache(redis_url)
    key = f"agora:denylist:{uuid.uuid4()}"
    cache.set_flag(key, ttl_s=30)
    assert cache.exists(key)
    cache.set_flag(f"{key}-expired", ttl_s=0)
    assert not cache.exists(f"{key}-expired")


def test_two_namespaces_on_one_redis_never_read_each_others_keys(redis_url):
    first, second = Cache(redis_url, namespace="a:"), Cache(redis_url, namespace="b:")
    key = f"agora:products:v1:{uuid.uuid4().hex}"
    first.set_json(key, {"name": "first"}, ttl_s=60)
    assert second.get_json(key) is None
    second.set_json(key, {"name": "second"}, ttl_s=60)
    second.delete(key)
    assert first.get_json(key) == {"name": "first"}
    first.delete(key)
    assert first._redis().exists(f"a:{key}") == 0
