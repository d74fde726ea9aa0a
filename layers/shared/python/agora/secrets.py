"""Secrets from Secrets Manager through Powertools Parameters, cached per warm container."""

from __future__ import annotations

import json
from typing import Any

from agora.settings import settings


def secret_string(arn: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(arn, max_age=settings().secrets_max_age_s)
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def secret_json(arn: str) -> dict[str, Any]:
    data = json.loads(secret_string(arn))
    if not isinstance(data, dict):
        raise ValueError(f"secret {arn} is not a JSON object")
    return data
