import socket

from agora.cache import Cache


def unused_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_an_unreachable_redis_degrades_to_misses():
    cache = Cache(f"redis://127.0.0.1:{unused_port()}/0")
    assert cache.get_json("k") is None
    cache.set_json("k", {"a": 1}, 60)
    assert cache.exists("k") is False


def test_after_a_failure_the_cache_backs_off_instead_of_retrying_every_call():
    class DownRedis:
        calls = 0

        def get(self, key):
            self.calls += 1
            raise ConnectionError("refused")

    redis = DownRedis()
    cache = Cache("redis://127.0.0.1:1", client=redis)  # nothing listens there: the probe says so
    for _ in range(100):
        assert cache.get_json("k") is None
    assert redis.calls == 1


def test_no_redis_configured_means_no_cache():
    cache = Cache(None)
    cache.set_json("k", 1, 60)
    assert cache.get_json("k") is None
