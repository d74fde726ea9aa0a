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
