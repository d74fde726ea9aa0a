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
