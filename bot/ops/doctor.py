"""`scrm-bot doctor`: check token, webhook, database, time zones, disk, backups; say fixes."""

from __future__ import annotations

import asyncio
import shutil
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.crm import backup, migrate
from bot.errors import BackupError, SchemaError

HTTP_TIMEOUT = 10.0
MIN_FREE_BYTES = 1024**3
# The nightly backup runs every day; two days without one means it is failing.
BACKUP_MAX_AGE_HOURS = 48


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result: ``fix`` says what to do when it failed."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


async def examine(settings: Settings, *, now: datetime) -> list[Finding]:
    """Run every check and return the findings, in the order an operator would fix them."""
    found = await _telegram(settings)
    found.append(await _database(settings.database.url))
    found.append(_time_zones())
    found.extend(_disk(settings))
    if settings.backup.dir:
        found.append(_backups(Path(settings.backup.dir), now))
    return found


async def _telegram(settings: Settings) -> list[Finding]:
    if settings.telegram.token is None:
        return [
            Finding(
                "token",
                False,
                "no token: `scrm-bot run` starts the local sandbox",
                "set SCRM_TELEGRAM__TOKEN to the token @BotFather gave you",
            )
        ]
    base = f"{settings.telegram.api_base_url}/bot{settings.telegram.token.get_secret_value()}"
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            me = await _call(http, f"{base}/getMe")
            hook = await _call(http, f"{base}/getWebhookInfo")
    except httpx.HTTPError as exc:
        return [
            Finding(
                "token",
                False,
                f"cannot reach {settings.telegram.api_base_url} ({type(exc).__name__})",
                "check this machine's network, DNS and proxy",
            )
        ]
    if not me.get("ok"):
        return [
            Finding(
                "token",
                False,
                f"Telegram refused the token: {me.get('description', 'unknown error')}",
                "set SCRM_TELEGRAM__TOKEN to the bot's current token (@BotFather, /token)",
            )
        ]
    found = [Finding("token", True, f"@{me['result'].get('username', '?')}")]
    found.append(_webhook(settings, hook.get("result") or {}))
    return found


async def _call(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await http.get(url)
    answer: dict[str, Any] = response.json()
    return answer


def _webhook(settings: Settings, info: dict[str, Any]) -> Finding:
    url = str(info.get("url") or "")
    pending = int(info.get("pending_update_count") or 0)
    error = str(info.get("last_error_message") or "")
    if settings.telegram.mode == "polling":
        if url:
            return Finding(
                "webhook",
                False,
                f"a webhook is set ({url}) but the bot polls",
                "set telegram.mode = webhook, or delete the webhook: the bot's start-up "
                "in polling mode removes it",
            )
        return Finding("webhook", True, f"none (polling); {pending} updates waiting")
    if url != settings.telegram.webhook_url:
        return Finding(
            "webhook",
            False,
            f"Telegram posts to {url or 'nowhere'}, not {settings.telegram.webhook_url}",
            "start the bot: it registers telegram.webhook_url at start-up",
        )
    if error:
        return Finding(
            "webhook",
            False,
            f"last delivery failed: {error}; {pending} updates waiting",
            "check the reverse proxy forwards HTTPS to telegram.webhook_listen",
        )
    return Finding("webhook", True, f"{url}; {pending} updates waiting")


async def _database(url: str) -> Finding:
    try:
        async with asyncio.timeout(HTTP_TIMEOUT):
            revision = await migrate.current_revision(url)
        migrate.check_known(revision)
    except SchemaError as exc:
        return Finding("database", False, str(exc), "run the newer release")
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        return Finding(
            "database",
            False,
            f"cannot open the database ({type(exc).__name__})",
            "check database.url, that the server runs and the file is writable",
        )
    head = migrate.head_revision()
    if revision != head:
        return Finding(
            "database",
            False,
            f"schema at revision {revision or '(empty)'}, this version's is {head}",
            "run `scrm-bot migrate` (`scrm-bot run` also does it at start-up)",
        )
    return Finding("database", True, f"schema up to date (revision {head})")


def _time_zones() -> Finding:
    try:
        for name in ("Asia/Shanghai", "Europe/London", "America/New_York"):
            zoneinfo.ZoneInfo(name)
    except zoneinfo.ZoneInfoNotFoundError:
        return Finding(
            "time zones",
            False,
            "no time-zone data",
            "install the tzdata package (pip install tzdata, or apt install tzdata)",
        )
    return Finding("time zones", True, f"{len(zoneinfo.available_timezones())} zones known")


def _disk(settings: Settings) -> list[Finding]:
    places: dict[str, Path] = {}
    try:
        database = backup.sqlite_file(settings.database.url)
    except BackupError:
        database = None
    if database is not None:
        places["database disk"] = database.resolve().parent
    if settings.backup.dir:
        places["backup disk"] = Path(settings.backup.dir).resolve()
    found = []
    for name, place in places.items():
        while not place.exists() and place != place.parent:
            place = place.parent
        free = shutil.disk_usage(place).free
        detail = f"{free / 1024**3:.1f} GB free at {place}"
        if free < MIN_FREE_BYTES:
            found.append(Finding(name, False, detail, "free some space: under 1 GB is left"))
        else:
            found.append(Finding(name, True, detail))
    return found


def _backups(folder: Path, now: datetime) -> Finding:
    newest = backup.latest(folder)
    taken = backup.taken_at(newest) if newest is not None else None
    if newest is None or taken is None:
        return Finding(
            "backups",
            False,
            f"no backup in {folder} yet",
            "start the bot (it takes one within minutes) or run `scrm-bot backup`",
        )
    hours = (now - taken).total_seconds() / 3600
    if hours > BACKUP_MAX_AGE_HOURS:
        return Finding(
            "backups",
            False,
            f"the newest, {newest.name}, is {hours:.0f} hours old",
            "look for 'nightly backup failed' in the bot's log",
        )
    return Finding("backups", True, f"newest {newest.name} ({hours:.0f} hours old)")
