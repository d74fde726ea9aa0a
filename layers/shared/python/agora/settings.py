"""Typed configuration, read from the environment once per container and validated at cold start.

Every variable is ``AGORA_<FIELD>`` in upper case.  Secrets are never values in
the environment on AWS: a field holds a Secrets Manager ARN and the value is
fetched (and cached) through Powertools Parameters when first needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PREFIX = "AGORA_"


class ConfigurationError(RuntimeError):
    """The function was deployed with missing or invalid settings: fail the cold start loudly."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    service: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    stage: str = "dev"
    version: str = "1.0.0"
    event_bus_name: str = "agora"
    namespace: str = "agora"
    max_body_bytes: int = Field(default=64 * 1024, gt=0, le=6 * 1024 * 1024)
    secrets_max_age_s: int = Field(default=300, ge=0)
    discovery_ttl_s: int = Field(default=60, ge=0)
    tracing: bool = True
    trace_export: str = Field(default="daemon", pattern=r"^(daemon|api|off)$")
    database_url: str | None = None
    database_secret_arn: str | None = None
    database_name: str | None = None
    redis_url: str | None = None
    jwt_secret_arn: str | None = None
    users_table: str | None = None
    idempotency_table: str | None = None

    @model_validator(mode="after")
    def _one_database_source(self) -> Self:
        if self.database_url and self.database_secret_arn:
            raise ValueError("set AGORA_DATABASE_URL or AGORA_DATABASE_SECRET_ARN, not both")
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(PREFIX + name.upper())
            if raw not in (None, ""):
                values[name] = raw
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{PREFIX}{'.'.join(str(p) for p in e['loc']).upper() or 'SETTINGS'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigurationError(f"invalid configuration: {problems}") from None


@cache
def settings() -> Settings:
    """The container's settings, validated once (a bad deploy fails on its first cold start)."""
    return Settings.from_env()
