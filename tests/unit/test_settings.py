import pytest

from agora.settings import ConfigurationError, Settings


def test_reads_prefixed_variables_and_converts_types():
    cfg = Settings.from_env(
        {"AGORA_SERVICE": "orders", "AGORA_MAX_BODY_BYTES": "1024", "AGORA_TRACING": "false", "OTHER": "x"}
    )
    assert cfg.service == "orders"
    assert cfg.max_body_bytes == 1024
    assert cfg.tracing is False


def test_missing_service_fails_the_cold_start_with_the_variable_name():
    with pytest.raises(ConfigurationError, match="AGORA_SERVICE"):
        Settings.from_env({})


@pytest.mark.parametrize(
    "env",
    [
        {"AGORA_SERVICE": "Orders!"},
        {"AGORA_SERVICE": "orders", "AGORA_MAX_BODY_BYTES": "-1"},
        {"AGORA_SERVICE": "orders", "AGORA_TRACE_EXPORT": "carrier-pigeon"},
        {
            "AGORA_SERVICE": "orders",
            "AGORA_DATABASE_URL": "postgresql://x",
            "AGORA_DATABASE_SECRET_ARN": "arn:x",
        },
    ],
)
def test_invalid_settings_are_refused(env):
    with pytest.raises(ConfigurationError):
        Settings.from_env(env)


def test_settings_are_immutable():
    cfg = Settings.from_env({"AGORA_SERVICE": "orders"})
    with pytest.raises(ValueError, match="frozen"):
        cfg.service = "users"  # type: ignore[misc]


def test_dependency_limits_have_safe_defaults():
    cfg = Settings.from_env({"AGORA_SERVICE": "orders"})
    assert (cfg.db_statement_timeout_ms, cfg.db_lock_timeout_ms, cfg.db_idle_tx_timeout_ms) == (
        5000,
        2000,
        10000,
    )
    assert (cfg.db_connect_timeout_s, cfg.db_pool_timeout_s) == (2, 2.0)
    assert (cfg.outbox_max_attempts, cfg.outbox_batch_size) == (5, 100)
    assert (cfg.internal_read_margin_s, cfg.internal_reserve_s, cfg.internal_connect_timeout_s) == (
        2.0,
        1.0,
        2.0,
    )
    assert cfg.internal_max_attempts == 3
    assert cfg.faults is None


@pytest.mark.parametrize(
    "env",
    [
        {"AGORA_DB_STATEMENT_TIMEOUT_MS": "-1"},
        {"AGORA_DB_CONNECT_TIMEOUT_S": "0"},
        {"AGORA_DB_POOL_TIMEOUT_S": "0"},
        {"AGORA_OUTBOX_MAX_ATTEMPTS": "0"},
        {"AGORA_OUTBOX_BATCH_SIZE": "0"},
        {"AGORA_INTERNAL_MAX_ATTEMPTS": "0"},
    ],
)
def test_dependency_limits_are_checked(env):
    with pytest.raises(ConfigurationError, match=next(iter(env))):
        Settings.from_env({"AGORA_SERVICE": "orders", **env})
