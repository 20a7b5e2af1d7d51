"""Operator tasks run from the command line: creating a workspace with its owner invite."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx

from bot.config import Settings
from bot.crm import invites, migrate, workspaces
from bot.crm.models import Role, WorkspaceKind, utcnow
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work
from bot.errors import ConfigError


@dataclass(frozen=True, slots=True)
class CreatedWorkspace:
    """What the operator needs to hand a new merchant."""

    name: str
    slug: str
    kind: str
    owner_link: str
    join_link: str


async def bot_username(settings: Settings) -> str:
    """Return the bot's username: asked from the Bot API, or the sandbox's own.

    Raises:
        ConfigError: when the Bot API does not accept the configured token.
    """
    token = settings.telegram.token
    if token is None:
        return settings.sandbox.bot_username
    url = f"{settings.telegram.api_base_url}/bot{token.get_secret_value()}/getMe"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(url)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        msg = f"Could not reach the Bot API at {settings.telegram.api_base_url}: {exc!r}"
        raise ConfigError(msg) from exc
    if not body.get("ok"):
        msg = f"The Bot API refused the token (SCRM_TELEGRAM__TOKEN): {body.get('description')}"
        raise ConfigError(msg)
    return str(body["result"]["username"])


async def create_workspace(
    settings: Settings,
    *,
    name: str,
    timezone: str,
    locale: str,
    region: str | None,
    invite_ttl: timedelta,
    kind: WorkspaceKind = WorkspaceKind.RETAIL,
) -> CreatedWorkspace:
    """Create a workspace and a single-use owner invite; return the links to share."""
    username = await bot_username(settings)
    await migrate.upgrade_async(settings.database.url)
    engine = create_engine(settings.database.url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            workspace = await workspaces.create_workspace(
                session, name=name, timezone=timezone, locale=locale, region=region, kind=kind
            )
            issued = await invites.issue_invite(
                session,
                workspace_id=workspace.id,
                role=Role.OWNER,
                now=utcnow(),
                ttl=invite_ttl,
                actor=None,
            )
    finally:
        await engine.dispose()
    return CreatedWorkspace(
        name=workspace.name,
        slug=workspace.slug,
        kind=workspace.kind.value,
        owner_link=f"https://t.me/{username}?start=inv_{issued.code}",
        join_link=f"https://t.me/{username}?start=w_{workspace.slug}",
    )
