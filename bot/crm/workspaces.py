"""Workspaces: creating a tenant, finding it by slug, its time zone and number settings."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slugify import slugify
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, fields
from bot.crm.guards import require_role
from bot.crm.models import Member, Role, Workspace, WorkspaceKind
from bot.errors import InvalidInput, PermissionDenied
from bot.i18n import LOCALES, N_
from bot.localtime import known_zone, zone

MAX_SLUG = 32


@dataclass(frozen=True, slots=True)
class NumberSetting:
    """A shop-wide whole number its managers set: the column, its range and its audit action.

    ``hint`` is the message for a number out of range; it may name ``{max}``.
    """

    column: str
    least: int
    most: int
    hint: str
    action: str


async def create_workspace(
    session: AsyncSession,
    *,
    name: str,
    timezone: str,
    locale: str,
    region: str | None,
    kind: WorkspaceKind = WorkspaceKind.RETAIL,
) -> Workspace:
    """Create a workspace with a unique, link-safe slug derived from its name.

    ``kind`` picks the customer fields and seeds their option lists (``bot.crm.fields``).

    Raises:
        InvalidInput: when the name is empty, the time zone or locale unknown,
            or the region not a two-letter country code.
    """
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInput(N_("The shop name must be 1 to 120 characters."))
    known_zone(timezone)
    if locale not in LOCALES:
        raise InvalidInput(N_("Unknown language {locale}."), locale=locale)
    if region is not None and (len(region) != 2 or not region.isalpha()):
        raise InvalidInput(N_("The region must be a two-letter country code, like CN."))
    workspace = Workspace(
        name=name,
        slug=await _unique_slug(session, name),
        timezone=timezone,
        locale=locale,
        region=region.upper() if region else None,
        kind=kind,
    )
    session.add(workspace)
    await session.flush()
    await fields.seed(session, workspace_id=workspace.id, kind=kind)
    return workspace


async def set_number(
    session: AsyncSession,
    *,
    actor: Member,
    workspace: Workspace,
    setting: NumberSetting,
    value: int,
) -> None:
    """Set one of the shop's whole-number settings, auditing the value it replaces.

    Raises:
        PermissionDenied: unless the actor is an active owner or admin of the workspace.
        InvalidInput: when the value is outside the setting's range.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    if workspace.id != actor.workspace_id:
        raise PermissionDenied(N_("Sorry, your role can't do that."))
    if not setting.least <= value <= setting.most:
        raise InvalidInput(setting.hint, max=setting.most)
    before = getattr(workspace, setting.column)
    setattr(workspace, setting.column, value)
    details = {"before": before, "after": value}
    await audit.record_change(session, actor, setting.action, workspace, details)


async def of_member(session: AsyncSession, member: Member) -> Workspace:
    """Return the workspace a member belongs to."""
    workspace = await session.get(Workspace, member.workspace_id)
    assert workspace is not None  # noqa: S101 - enforced by the foreign key
    return workspace


async def zone_of(session: AsyncSession, workspace_id: int) -> ZoneInfo:
    """Return a workspace's time zone (UTC for a workspace that is gone)."""
    workspace = await session.get(Workspace, workspace_id)
    return zone(workspace.timezone if workspace else None)


async def zones(session: AsyncSession) -> list[tuple[int, ZoneInfo]]:
    """Return every workspace's id and time zone."""
    rows = await session.execute(select(Workspace.id, Workspace.timezone))
    return [(workspace_id, zone(name)) for workspace_id, name in rows.all()]


async def get_by_slug(session: AsyncSession, slug: str) -> Workspace | None:
    """Return the workspace with this slug, if any."""
    result = await session.execute(select(Workspace).where(Workspace.slug == slug))
    return result.scalar_one_or_none()


async def _unique_slug(session: AsyncSession, name: str) -> str:
    # Deep-link payloads allow only A-Z a-z 0-9 _ -, so the slug is transliterated
    # (茶行 -> cha-xing); a random suffix settles collisions and empty results.
    base = slugify(name, max_length=MAX_SLUG - 5, word_boundary=True) or "shop"
    candidate = base
    while await get_by_slug(session, candidate) is not None:
        candidate = f"{base}-{secrets.token_hex(2)}"
    return candidate
