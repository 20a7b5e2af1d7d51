"""Settings: ``config.toml`` overlaid with ``SCRM_<SECTION>__<KEY>`` variables, frozen."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.errors import ConfigError

ENV_PREFIX = "SCRM_"
TELEGRAM_API = "https://api.telegram.org"
# Secrets are read from the environment only, never from a file that may be committed.
SECRET_KEYS = {("telegram", "token"), ("telegram", "webhook_secret")}
LOCALES = ("en", "zh-CN")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TelegramSettings(_Section):
    """How the bot reaches the Bot API and how updates reach the bot."""

    token: SecretStr | None = None
    framework: Literal["ptb", "aiogram"] = "ptb"
    mode: Literal["polling", "webhook"] = "polling"
    api_base_url: str = TELEGRAM_API
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1:8443"
    webhook_secret: SecretStr | None = None
    poll_timeout: int = Field(default=30, ge=0, le=50)

    @field_validator("api_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            msg = "must start with http:// or https://"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("webhook_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            msg = "must be host:port, e.g. 127.0.0.1:8443"
            raise ValueError(msg)
        return value

    @property
    def listen_host(self) -> str:
        """Return the host part of ``webhook_listen``."""
        return self.webhook_listen.rpartition(":")[0]

    @property
    def listen_port(self) -> int:
        """Return the port part of ``webhook_listen``."""
        return int(self.webhook_listen.rpartition(":")[2])


class DatabaseSettings(_Section):
    """Where the CRM store lives."""

    url: str = "sqlite+aiosqlite:///scrm.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            msg = "must be sqlite+aiosqlite:///FILE or postgresql+asyncpg://HOST/DB"
            raise ValueError(msg)
        return value


class I18nSettings(_Section):
    """Languages the bot speaks."""

    default_locale: Literal["en", "zh-CN"] = "en"


class BotSettings(_Section):
    """Behaviour of dialogs and invites."""

    conversation_ttl_minutes: int = Field(default=24 * 60, ge=1)
    invite_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)


class SchedulerSettings(_Section):
    """How often the scheduler looks for due reminders and digests."""

    tick_seconds: float = Field(default=2.0, gt=0, le=60)


class DeliverySettings(_Section):
    """How fast and how carefully the campaign engine sends."""

    # Telegram allows about 30 messages/s per bot; paid broadcasts up to 1000/s.
    rate_per_second: float = Field(default=30, gt=0, le=1000)
    paid_broadcast: bool = False
    # Messages in flight at once; also the most a crash can leave "unknown".
    concurrency: int = Field(default=16, ge=1, le=256)
    per_chat_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    max_attempts: int = Field(default=5, ge=1, le=20)
    # A run pauses itself and tells its admins after this many errors in a row.
    pause_after_errors: int = Field(default=50, ge=1)
    batch_size: int = Field(default=500, ge=10, le=10_000)

    @model_validator(mode="after")
    def _paid_rate(self) -> DeliverySettings:
        if self.rate_per_second > 30 and not self.paid_broadcast:
            msg = "above 30 needs delivery.paid_broadcast = true (SCRM_DELIVERY__PAID_BROADCAST)"
            raise ValueError(msg)
        return self


class CampaignSettings(_Section):
    """How scheduled campaigns behave around downtime."""

    # A weekly or daily occurrence missed by up to this many hours still runs once
    # when the bot is back; one missed by longer is skipped and reported.
    misfire_grace_hours: float = Field(default=6, ge=0, le=72)


class SandboxSettings(_Section):
    """The local Bot API emulator started when no token is configured."""

    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=1, le=65535)
    bot_username: str = "ScrmSandboxBot"
    data_dir: str = "sandbox-data"


class LoggingSettings(_Section):
    """Log output."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "json" writes one JSON object per line for log collectors.
    format: Literal["text", "json"] = "text"


class BackupSettings(_Section):
    """Nightly copies of the database."""

    # Empty: no nightly backups (``scrm-bot backup`` still works).
    dir: str = ""
    keep: int = Field(default=7, ge=1, le=1000)
    # The hour (UTC) at which the nightly backup is taken.
    hour_utc: int = Field(default=3, ge=0, le=23)


class OpsSettings(_Section):
    """The health and metrics endpoints for monitoring."""

    # host:port for /healthz, /readyz and /metrics; empty turns them off.
    listen: str = "127.0.0.1:9464"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value == "":
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            msg = "must be host:port, e.g. 127.0.0.1:9464, or empty to turn it off"
            raise ValueError(msg)
        return value


class ScaleoutSettings(_Section):
    """Several workers on one PostgreSQL database behind a reverse proxy (webhook mode)."""

    # On: each webhook post is answered after its update is handled and committed, one
    # chat's updates are handled one at a time across workers, and the campaign pace and
    # Telegram's retry_after are shared by every worker through the database.
    enabled: bool = False
    # The longest any statement waits for a lock (a chat's turn, a row another worker holds).
    lock_timeout_seconds: float = Field(default=10, gt=0, le=60)


class Settings(_Section):
    """All settings, one frozen object built once by the composition root."""

    telegram: TelegramSettings = TelegramSettings()
    database: DatabaseSettings = DatabaseSettings()
    i18n: I18nSettings = I18nSettings()
    bot: BotSettings = BotSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    delivery: DeliverySettings = DeliverySettings()
    campaigns: CampaignSettings = CampaignSettings()
    sandbox: SandboxSettings = SandboxSettings()
    logging: LoggingSettings = LoggingSettings()
    backup: BackupSettings = BackupSettings()
    ops: OpsSettings = OpsSettings()
    scaleout: ScaleoutSettings = ScaleoutSettings()

    @property
    def sandbox_mode(self) -> bool:
        """Return True when no token is configured and the local emulator stands in."""
        return self.telegram.token is None


def load_settings(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Build settings from an optional TOML file and the environment.

    Raises:
        ConfigError: naming the key, when a value is unknown, missing or invalid.
    """
    data: dict[str, dict[str, Any]] = {}
    if path is not None and path.exists():
        data = _read_toml(path)
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        data.setdefault(section, {})[key] = value
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    if settings.telegram.mode == "webhook":
        for key in ("webhook_url", "webhook_secret"):
            if not getattr(settings.telegram, key):
                env = f"SCRM_TELEGRAM__{key.upper()}"
                msg = f"Config 'telegram.{key}' ({env}) is required in webhook mode"
                raise ConfigError(msg)
    if settings.scaleout.enabled and (
        settings.telegram.mode != "webhook" or not settings.database.url.startswith("postgresql")
    ):
        msg = (
            "Config 'scaleout.enabled' (SCRM_SCALEOUT__ENABLED) needs telegram.mode = "
            "'webhook' and a postgresql database.url"
        )
        raise ConfigError(msg)
    return settings


def _read_toml(path: Path) -> dict[str, dict[str, Any]]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"Config file {path} is not valid TOML: {exc}"
        raise ConfigError(msg) from exc
    for section, key in SECRET_KEYS:
        if key in raw.get(section, {}):
            env = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
            msg = f"Config '{section}.{key}' is a secret: set it in the environment as {env}"
            raise ConfigError(msg)
    return raw


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc)
        env = ENV_PREFIX + "__".join(p.upper() for p in loc)
        lines.append(f"Config '{key}' ({env}): {error['msg']}")
    return "; ".join(lines)
