import pytest
from botocore.exceptions import EndpointConnectionError

from agora.discovery import ServiceDirectory
from agora.errors import DependencyUnavailable


class FakeCloudMap:
    def __init__(self):
        self.calls = 0
        self.instances = [{"InstanceId": "products-1", "Attributes": {"base_url": "https://x/api/products"}}]
        self.down = False

    def discover_instances(self, **kwargs):
        self.calls += 1
        if self.down:
            raise EndpointConnectionError(endpoint_url="https://servicediscovery.us-east-1.amazonaws.com")
        return {"Instances": self.instances}


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


def test_answers_are_cached_for_the_ttl_then_refreshed():
    cloud_map, clock = FakeCloudMap(), Clock()
    directory = ServiceDirectory("agora", ttl_s=60, client=cloud_map, clock=clock)
    assert directory.attribute("products", "base_url") == "https://x/api/products"
    directory.instances("products")
    assert cloud_map.calls == 1
    clock.now += 61
    cloud_map.instances = [{"InstanceId": "products-2", "Attributes": {"base_url": "https://y/api/products"}}]
    assert directory.attribute("products", "base_url") == "https://y/api/products"
    assert cloud_map.calls == 2


def test_a_stale_answer_is_used_while_cloud_map_is_unreachable():
    cloud_map, clock = FakeCloudMap(), Clock()
    directory = ServiceDirectory("agora", ttl_s=1, client=cloud_map, clock=clock)
    directory.instances("products")
    cloud_map.down = True
    clock.now += 5
    assert directory.instances("products")[0].id == "products-1"


def test_unknown_service_or_attribute_is_a_dependency_error_not_a_crash():
    cloud_map = FakeCloudMap()
    directory = ServiceDirectory("agora", client=cloud_map)
    with pytest.raises(DependencyUnavailable):
        directory.attribute("products", "fn_reserve_stock")
    cloud_map.instances = []
    with pytest.raises(DependencyUnavailable):
        ServiceDirectory("agora", client=cloud_map).instances("products")
