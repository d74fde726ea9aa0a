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


def test_an_empty_variable_counts_as_unset():
    cfg = Settings.from_env({"AGORA_SERVICE": "orders", "AGORA_MAX_BODY_BYTES": "", "AGORA_REDIS_URL": ""})
    assert cfg.max_body_bytes == 64 * 1024
    assert cfg.redis_url is None
    with pytest.raises(ConfigurationError, match="AGORA_SERVICE: Field required"):
        Settings.from_env({"AGORA_SERVICE": ""})


def test_variable_names_are_case_insensitive():
    assert Settings.from_env({"agora_service": "orders", "Agora_Stage": "prod"}).stage == "prod"


def test_every_problem_is_named_by_its_variable():
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({"AGORA_MAX_BODY_BYTES": "0", "AGORA_TRACE_EXPORT": "x"})
    message = str(refused.value)
    assert "AGORA_SERVICE: Field required" in message
    assert "AGORA_MAX_BODY_BYTES" in message and "AGORA_TRACE_EXPORT" in message


def test_the_process_environment_is_read_once_per_container(monkeypatch):
    from agora import settings as module

    monkeypatch.setenv("AGORA_SERVICE", "payments")
    monkeypatch.setenv("AGORA_DISCOVERY_TTL_S", "7")
    module.settings.cache_clear()
    try:
        first = module.settings()
        assert (first.service, first.discovery_ttl_s) == ("payments", 7)
        monkeypatch.setenv("AGORA_DISCOVERY_TTL_S", "8")
        assert module.settings() is first
    finally:
        module.settings.cache_clear()


def test_no_dotenv_file_or_secrets_directory_is_read(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("AGORA_SERVICE=from-dotenv\nAGORA_STAGE=from-dotenv\n")
    (tmp_path / "agora_stage").write_text("from-a-secrets-dir")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGORA_SERVICE", raising=False)
    with pytest.raises(ConfigurationError, match="AGORA_SERVICE"):
        Settings.from_env()
    assert Settings.from_env({"AGORA_SERVICE": "orders"}).stage == "dev"


def test_keyword_arguments_win_over_the_environment_and_are_checked_alike(monkeypatch):
    monkeypatch.setenv("AGORA_SERVICE", "users")
    assert Settings(service="orders").service == "orders"
    with pytest.raises(ConfigurationError, match="AGORA_SERVICE"):
        Settings(service="Orders!")


def test_a_services_own_settings_read_and_name_their_own_variables():
    from orders.settings import OrdersSettings

    cfg = OrdersSettings.from_env({"AGORA_SERVICE": "orders", "AGORA_ORDER_MAX_LINES": "7"})
    assert (cfg.order_max_lines, cfg.checkout_abandon_s) == (7, 120)
    with pytest.raises(ConfigurationError, match="AGORA_ORDER_MAX_LINES"):
        OrdersSettings.from_env({"AGORA_SERVICE": "orders", "AGORA_ORDER_MAX_LINES": "0"})
