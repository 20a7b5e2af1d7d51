"""Invites: single-use, expiring, revocable codes that make a Telegram user a member."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit
from bot.crm.guards import require_role
from bot.crm.models import Invite, Member, Role
from bot.crm.scope import team_limited
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.i18n import N_

# Who may hand out which role: nobody invites above their own rank.
GRANTABLE = {
    Role.OWNER: (Role.ADMIN, Role.STAFF),
    Role.ADMIN: (Role.STAFF,),
}


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """A freshly created invite and its plain code, shown once and never stored."""

    invite: Invite
    code: str


def hash_code(code: str) -> str:
    """Return the stored form of an invite code."""
    return hashlib.sha256(code.encode()).hexdigest()


async def issue_invite(
    session: AsyncSession,
    *,
    workspace_id: int,
    role: Role,
    now: datetime,
    ttl: timedelta,
    actor: Member | None,
) -> IssuedInvite:
    """Create an invite for ``role``; ``actor`` None is the operator's command line.

    An invite from a team-limited admin carries their team, so the newcomer lands in it.

    Raises:
        PermissionDenied: when the actor may not grant ``role``.
    """
    if actor is not None:
        require_role(actor, Role.OWNER, Role.ADMIN)
        if actor.workspace_id != workspace_id or role not in GRANTABLE[actor.role]:
            raise PermissionDenied(N_("Only the owner can invite admins."))
    code = secrets.token_urlsafe(12)
    invite = Invite(
        workspace_id=workspace_id,
        code_hash=hash_code(code),
        role=role,
        created_by_member_id=actor.id if actor else None,
        team_id=actor.team_id if actor is not None and team_limited(actor) else None,
        expires_at=now + ttl,
    )
    session.add(invite)
    await session.flush()
    await audit.record(
        session,
        workspace_id=workspace_id,
        actor_member_id=actor.id if actor else None,
        action="invite.create",
        entity="invite",
        entity_id=invite.id,
        details={"role": role.value},
    )
    return IssuedInvite(invite, code)


async def redeem_invite(session: AsyncSession, *, code: str, now: datetime) -> Invite:
    """Return the invite for ``code`` if it can be used now, locking it against reuse.

    Raises:
        NotFound: when no invite has this code.
        Conflict: when it was already used or revoked.
        InvalidInput: when it has expired.
    """
    result = await session.execute(
        select(Invite).where(Invite.code_hash == hash_code(code)).with_for_update()
    )
    invite = result.scalar_one_or_none()
    if invite is None:
        raise NotFound(N_("This invite link isn't valid. Please ask for a new one."))
    if invite.revoked_at is not None:
        raise Conflict(N_("This invite was withdrawn. Please ask for a new one."))
    if invite.used_at is not None:
        raise Conflict(N_("This invite has already been used. Please ask for a new one."))
    if invite.expires_at <= now:
        raise InvalidInput(N_("This invite has expired. Please ask for a new one."))
    return invite


async def revoke_invite(
    session: AsyncSession, *, actor: Member, invite_id: int, now: datetime
) -> Invite:
    """Withdraw an unused invite of the actor's workspace.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        NotFound: when the invite is not in the actor's workspace.
        Conflict: when it was already used.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    invite = await session.scalar(
        select(Invite).where(Invite.id == invite_id, Invite.workspace_id == actor.workspace_id)
    )
    if invite is None:
        raise NotFound(N_("That invite doesn't exist."))
    if invite.used_at is not None:
        raise Conflict(N_("That invite was already used; it can't be withdrawn."))
    if invite.revoked_at is None:
        invite.revoked_at = now
        await audit.record_change(session, actor, "invite.revoke", invite)
    return invite


async def withdraw_open_invites(
    session: AsyncSession, *, workspace_id: int, member_id: int, now: datetime
) -> int:
    """Withdraw every unused invite a member created (they are leaving); return how many."""
    result = await session.execute(
        update(Invite)
        .where(
            Invite.workspace_id == workspace_id,
            Invite.created_by_member_id == member_id,
            Invite.used_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
