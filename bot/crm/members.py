"""Members: joining a workspace with an invite, finding the acting member, profiles, managers."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, invites
from bot.crm.models import Member, Role, UserPref, Workspace
from bot.errors import Conflict
from bot.i18n import N_


async def active_member(session: AsyncSession, *, tg_user_id: int) -> Member | None:
    """Return the active membership of a Telegram user (one workspace per account)."""
    result = await session.execute(
        select(Member).where(Member.tg_user_id == tg_user_id, Member.active.is_(True))
    )
    return result.scalar_one_or_none()


async def former_membership(session: AsyncSession, *, tg_user_id: int) -> Member | None:
    """Return the account's most recent membership that ended (removed or left), if any."""
    result: Member | None = await session.scalar(
        select(Member)
        .where(
            Member.tg_user_id == tg_user_id,
            Member.active.is_(False),
            Member.removed_at.is_not(None),
        )
        .order_by(Member.removed_at.desc(), Member.id.desc())
        .limit(1)
    )
    return result


async def former_shop(session: AsyncSession, *, tg_user_id: int) -> str | None:
    """Return the name of the shop the account was last removed from (or left), if any."""
    former = await former_membership(session, tg_user_id=tg_user_id)
    workspace = await session.get(Workspace, former.workspace_id) if former else None
    return workspace.name if workspace else None


def note_username(member: Member, username: str | None) -> None:
    """Keep the member's Telegram @username current, so colleagues can name them by it."""
    handle = (username or "")[:32] or None
    if member.username != handle:
        member.username = handle


async def join_with_invite(
    session: AsyncSession,
    *,
    code: str,
    tg_user_id: int,
    chat_id: int,
    display_name: str,
    now: datetime,
    username: str | None = None,
) -> Member:
    """Make the sender a member with the invite's role (and team) and use the invite up.

    A removed membership blocks nothing: the account may join another shop, or
    come back to the same one with a fresh invite.

    Raises:
        NotFound, Conflict, InvalidInput: from ``invites.redeem_invite``.
        Conflict: when the account already belongs to a workspace.
    """
    invite = await invites.redeem_invite(session, code=code, now=now)
    current = await active_member(session, tg_user_id=tg_user_id)
    if current is not None:
        workspace = await session.get(Workspace, current.workspace_id)
        name = workspace.name if workspace else ""
        if current.workspace_id == invite.workspace_id:
            raise Conflict(N_("You're already a member of {shop}."), shop=name)
        raise Conflict(
            N_("You already work in {shop}. One Telegram account can belong to one shop."),
            shop=name,
        )
    member = await session.scalar(
        select(Member).where(
            Member.workspace_id == invite.workspace_id, Member.tg_user_id == tg_user_id
        )
    )
    if member is None:
        member = Member(
            workspace_id=invite.workspace_id,
            tg_user_id=tg_user_id,
            chat_id=chat_id,
            role=invite.role,
            display_name=display_name[:120] or str(tg_user_id),
            referral_code=secrets.token_urlsafe(8),
            team_id=invite.team_id,
        )
        session.add(member)
    else:
        # A former member comes back: same row, so their history stays theirs; the
        # new invite decides their role and team.
        member.active, member.role, member.chat_id = True, invite.role, chat_id
        member.removed_at, member.team_id = None, invite.team_id
    note_username(member, username)
    await session.flush()
    invite.used_at = now
    invite.used_by_member_id = member.id
    details = {"role": invite.role, "invite_id": invite.id}
    await audit.record_change(session, member, "member.join", member, details)
    return member


async def by_referral_code(session: AsyncSession, *, code: str) -> Member | None:
    """Return the active member whose referral link carries ``code``."""
    result = await session.execute(
        select(Member).where(Member.referral_code == code, Member.active.is_(True))
    )
    return result.scalar_one_or_none()


async def update_profile(
    session: AsyncSession, *, actor: Member, display_name: str, phone: str | None
) -> Member:
    """Save the actor's own display name and phone."""
    actor.display_name = display_name
    actor.phone = phone
    await audit.record_change(
        session, actor, "member.profile", actor, {"fields": ["display_name", "phone"]}
    )
    return actor


async def locale_of(session: AsyncSession, *, tg_user_id: int, workspace_id: int) -> str:
    """Return the language to write to a member in: their own choice, else their shop's."""
    pref = await session.get(UserPref, tg_user_id)
    if pref is not None:
        return pref.locale
    workspace = await session.get(Workspace, workspace_id)
    return workspace.locale if workspace else "en"


async def managers_of(session: AsyncSession, *, workspace_id: int) -> list[Member]:
    """Return the shop's active owner and admins, the owner first."""
    rows = await session.scalars(
        select(Member)
        .where(
            Member.workspace_id == workspace_id,
            Member.active.is_(True),
            Member.role.in_((Role.OWNER, Role.ADMIN)),
        )
        .order_by(Member.role != Role.OWNER, Member.id)
    )
    return list(rows)


async def owners_of(session: AsyncSession, *, workspace_id: int) -> tuple[Member, ...]:
    """Return the shop's active owner (escalations and reopened complaints go there)."""
    rows = await session.scalars(
        select(Member)
        .where(
            Member.workspace_id == workspace_id,
            Member.active.is_(True),
            Member.role == Role.OWNER,
        )
        .order_by(Member.id)
    )
    return tuple(rows)
