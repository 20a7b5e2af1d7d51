"""Settings: file values, environment overrides and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_without_file_or_environment() -> None:
    settings = load_settings(None, {})
    assert settings.telegram.framework == "ptb"
    assert settings.telegram.mode == "polling"
    assert settings.database.url == "sqlite+aiosqlite:///scrm.db"
    assert settings.sandbox_mode


def test_example_config_loads_and_environment_overrides_it() -> None:
    settings = load_settings(
        ROOT / "config.example.toml",
        {
            "SCRM_TELEGRAM__FRAMEWORK": "aiogram",
            "SCRM_TELEGRAM__TOKEN": "1:abc",
            "SCRM_I18N__DEFAULT_LOCALE": "zh-CN",
            "OTHER": "ignored",
        },
    )
    assert settings.telegram.framework == "aiogram"
    assert settings.i18n.default_locale == "zh-CN"
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "1:abc"
    assert "1:abc" not in repr(settings)
    assert not settings.sandbox_mode


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"SCRM_TELEGRAM__FRAMEWORK": "telethon"}, "telegram.framework"),
        ({"SCRM_TELEGRAM__MODE": "webhook"}, "SCRM_TELEGRAM__WEBHOOK_URL"),
        (
            {"SCRM_TELEGRAM__MODE": "webhook", "SCRM_TELEGRAM__WEBHOOK_URL": "https://x/hook"},
            "SCRM_TELEGRAM__WEBHOOK_SECRET",
        ),
        ({"SCRM_DATABASE__URL": "mysql://x"}, "database.url"),
        ({"SCRM_TELEGRAM__WEBHOOK_LISTEN": "nowhere"}, "telegram.webhook_listen"),
        ({"SCRM_BOT__INVITE_TTL_HOURS": "0"}, "bot.invite_ttl_hours"),
        ({"SCRM_TELEGRAM__TYPO": "1"}, "SCRM_TELEGRAM__TYPO"),
        # Several workers need webhook mode (one getUpdates consumer) and PostgreSQL.
        ({"SCRM_SCALEOUT__ENABLED": "true"}, "SCRM_SCALEOUT__ENABLED"),
        ({"SCRM_SCALEOUT__LOCK_TIMEOUT_SECONDS": "0"}, "scaleout.lock_timeout_seconds"),
    ],
)
def test_bad_values_name_the_key(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(None, env)


def test_secrets_are_refused_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[telegram]\ntoken = "1:abc"\n')
    with pytest.raises(ConfigError, match="SCRM_TELEGRAM__TOKEN"):
        load_settings(path, {})


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[telegram\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, {})
