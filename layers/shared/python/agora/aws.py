"""boto3 clients, created lazily and once per warm container."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    # Short timeouts and standard retries: a Lambda must not hang on a slow dependency.
    base = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client(service, config=base.merge(Config(**config)) if config else base)
