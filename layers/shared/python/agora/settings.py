"""Typed configuration, read from the environment once per container and validated at cold start.

Every variable is ``AGORA_<FIELD>`` (pydantic-settings, case-insensitive); an empty
variable counts as unset, and nothing else is read: no ``.env`` file, no secrets
directory, no command line.  A subclass (a service's own settings) adds fields the
same way.  Secrets are never values in
the environment on AWS: a field holds a Secrets Manager ARN and the value is
fetched (and cached) through Powertools Parameters when first needed.

Limits that keep a function from hanging on a dependency:

- ``AGORA_DB_STATEMENT_TIMEOUT_MS`` (5000), ``AGORA_DB_LOCK_TIMEOUT_MS`` (2000) and
  ``AGORA_DB_IDLE_TX_TIMEOUT_MS`` (10000) are set on every PostgreSQL session;
  ``AGORA_DB_CONNECT_TIMEOUT_S`` (2) bounds a connection attempt and
  ``AGORA_DB_POOL_TIMEOUT_S`` (2) the wait for the pool's connection.
- ``AGORA_OUTBOX_MAX_ATTEMPTS`` (5) refusals park an outbox row; the relay commits
  ``AGORA_OUTBOX_BATCH_SIZE`` (100) rows at a time.
- An internal call waits the callee's declared timeout plus ``AGORA_INTERNAL_READ_MARGIN_S`` (2),
  never past the caller's own remaining time less ``AGORA_INTERNAL_RESERVE_S`` (1), connects
  within ``AGORA_INTERNAL_CONNECT_TIMEOUT_S`` (2), and makes ``AGORA_INTERNAL_MAX_ATTEMPTS`` (3)
  attempts when the call is idempotent, one otherwise.
- ``AGORA_FAULTS`` arms fault points for a test run (``agora.faults``); no stack sets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Self

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from agora import snapstart

PREFIX = "AGORA_"


class ConfigurationError(RuntimeError):
    """The function was deployed with missing or invalid settings: fail the cold start loudly."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        case_sensitive=False,
        env_ignore_empty=True,
        env_file=None,
        secrets_dir=None,
        frozen=True,
        extra="ignore",
    )

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
    # Where to connect instead of the secret's host (on AWS, the RDS Proxy endpoint); the secret's
    # credentials and port still apply.
    database_host: str | None = None
    redis_url: str | None = None
    jwt_secret_arn: str | None = None
    users_table: str | None = None
    idempotency_table: str | None = None
    db_statement_timeout_ms: int = Field(default=5000, ge=0)
    db_lock_timeout_ms: int = Field(default=2000, ge=0)
    db_idle_tx_timeout_ms: int = Field(default=10000, ge=0)
    db_connect_timeout_s: int = Field(default=2, ge=1)
    db_pool_timeout_s: float = Field(default=2.0, gt=0)
    db_probe_timeout_ms: int = Field(default=250, gt=0)
    # A failed record's back-off (agora.consumer): the first wait and the longest, in seconds.
    consumer_retry_first_s: int = Field(default=5, ge=0)
    consumer_retry_max_s: int = Field(default=60, ge=0)
    outbox_max_attempts: int = Field(default=5, ge=1)
    outbox_batch_size: int = Field(default=100, ge=1, le=1000)
    internal_read_margin_s: float = Field(default=2.0, ge=0)
    internal_reserve_s: float = Field(default=1.0, ge=0)
    internal_connect_timeout_s: float = Field(default=2.0, gt=0)
    internal_max_attempts: int = Field(default=3, ge=1, le=10)
    # Fault points armed for a test run (see agora.faults); never set by a stack.
    faults: str | None = None

    @model_validator(mode="after")
    def _one_database_source(self) -> Self:
        if self.database_url and self.database_secret_arn:
            raise ValueError("set AGORA_DATABASE_URL or AGORA_DATABASE_SECRET_ARN, not both")
        return self

    @field_validator("faults")
    @classmethod
    def _faults_parse(cls, spec: str | None) -> str | None:
        from agora.faults import parse

        if spec:
            parse(spec)
        return spec

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid configuration: {_problems(exc)}") from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Keyword arguments (tests) over the environment; a deployed function has only the environment.
        return init_settings, env_settings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings in ``environ`` (the process environment by default), else ``ConfigurationError``."""
        if environ is None:
            return cls()
        return cls(_build_sources=((_GivenEnvironment(cls, environ),), {}))


class _GivenEnvironment(EnvSettingsSource):
    """The environment source over a given mapping: a test checks the very parsing a function uses."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def _problems(exc: ValidationError) -> str:
    """Each error named by its variable, e.g. ``AGORA_SERVICE: Field required``."""
    named = ((".".join(str(p) for p in e["loc"]).upper() or "SETTINGS", e["msg"]) for e in exc.errors())
    return "; ".join(f"{PREFIX}{name}: {message}" for name, message in named)


@cache
def settings() -> Settings:
    """The container's settings, validated once (a bad deploy fails on its first cold start)."""
    return Settings.from_env()


# Every function imports its settings during init: from here each SnapStart copy re-seeds itself.
snapstart.install()
