"""Service discovery through Cloud Map, with a per-container TTL cache.

Instances carry what callers need (function names, base URL) as attributes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agora.errors import DependencyUnavailable


@dataclass(frozen=True)
class Instance:
    id: str
    attributes: dict[str, str]


class ServiceDirectory:
    def __init__(
        self,
        namespace: str,
        ttl_s: float = 60.0,
        client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.namespace = namespace
        self.ttl_s = ttl_s
        self._client = client
        self._clock = clock
        self._cache: dict[str, tuple[float, list[Instance]]] = {}

    def _discovery(self) -> Any:
        if self._client is None:
            from agora.aws import client

            # Against an emulator the "data-" host prefix would name a host that does not exist.
            emulated = bool(os.environ.get("AWS_ENDPOINT_URL"))
            self._client = client("servicediscovery", inject_host_prefix=not emulated)
        return self._client

    def instances(self, service: str) -> list[Instance]:
        now = self._clock()
        hit = self._cache.get(service)
        if hit and hit[0] > now:
            return hit[1]
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._discovery().discover_instances(
                NamespaceName=self.namespace, ServiceName=service, HealthStatus="HEALTHY_OR_ELSE_ALL"
            )
        except (BotoCoreError, ClientError) as exc:
            if hit:  # a stale answer beats none while Cloud Map is unreachable
                return hit[1]
            raise DependencyUnavailable(f"cannot discover service {service!r}") from exc
        found = [
            Instance(i["InstanceId"], dict(i.get("Attributes", {}))) for i in answer.get("Instances", [])
        ]
        if not found:
            raise DependencyUnavailable(f"no instance of service {service!r} is registered")
        self._cache[service] = (now + self.ttl_s, found)
        return found

    def attribute(self, service: str, name: str) -> str:
        for instance in self.instances(service):
            if name in instance.attributes:
                return instance.attributes[name]
        raise DependencyUnavailable(f"service {service!r} does not publish {name!r}")


_directory: ServiceDirectory | None = None


def directory() -> ServiceDirectory:
    global _directory
    if _directory is None:
        from agora.settings import settings

        cfg = settings()
        _directory = ServiceDirectory(cfg.namespace, ttl_s=cfg.discovery_ttl_s)
    return _directory
