"""Teams: grouping members, finding a member by name, sharing and reassigning customers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, leads, names
from bot.crm.guards import require_role
from bot.crm.models import Customer, CustomerShare, Member, Role, Team
from bot.crm.scope import get_visible, members_within_reach, team_limited, within_reach
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.i18n import N_

MAX_TEAM_NAME = 80


async def list_members(
    session: AsyncSession, *, actor: Member, removed: bool = False
) -> Sequence[tuple[Member, str]]:
    """Return the active members (or with ``removed``, those who left) and their team names.

    A team-limited admin sees only their own team. The team name is "" without a team.
    """
    require_role(actor, *Role)
    query = (
        select(Member, func.coalesce(Team.name, ""))
        .outerjoin(Team, Team.id == Member.team_id)
        .where(members_within_reach(actor), Member.active.is_(not removed))
    )
    if removed:
        query = query.where(Member.removed_at.is_not(None))
    result = await session.execute(query.order_by(Member.id))
    return [(member, str(team)) for member, team in result.all()]


async def find_member(
    session: AsyncSession, *, actor: Member, ref: str, include_inactive: bool = False
) -> Member:
    """Return the member named by id (``5``, ``#5`` or ``m5``), ``@username`` or name prefix.

    Only active members count unless ``include_inactive`` (someone who left the shop).

    Raises:
        NotFound: when nobody matches.
        InvalidInput: when several members match the prefix.
    """
    text = " ".join(ref.split()).removeprefix("#")
    digits = text[1:] if text[:1] in ("m", "M") else text
    query = select(Member).where(Member.workspace_id == actor.workspace_id)
    if not include_inactive:
        query = query.where(Member.active.is_(True))
    if digits.isdigit():
        member = await session.scalar(query.where(Member.id == int(digits)))
        if member is not None:
            return member
    if text.startswith("@") and len(text) > 1:
        handle = text[1:].casefold()
        everyone = (await session.execute(query.order_by(Member.id))).scalars().all()
        named = [m for m in everyone if (m.username or "").casefold() == handle]
        if len(named) == 1:
            return named[0]
        text = text[1:]
    everyone = (await session.execute(query.order_by(Member.id))).scalars().all()
    exact = [m for m in everyone if m.display_name.casefold() == text.casefold()]
    found = exact or [m for m in everyone if m.display_name.casefold().startswith(text.casefold())]
    if not text or not found:
        raise NotFound(N_("I can't find a colleague called “{name}”. See /team."), name=text)
    if len(found) > 1:
        raise InvalidInput(
            N_("“{name}” could be {names}. Please use the id from /team."),
            name=text,
            names=", ".join(f"{m.display_name} ({m.id})" for m in found[:5]),
        )
    return found[0]


async def create_team(session: AsyncSession, *, actor: Member, name: str) -> Team:
    """Create a team in the actor's workspace.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        InvalidInput: when the name is empty or too long.
        Conflict: when a team of that name exists.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    names.check_name_text(name)
    name = " ".join(name.split())
    if not name or len(name) > MAX_TEAM_NAME or name.startswith("/"):
        raise InvalidInput(N_("Please name the team, like /team new North."))
    existing = await _teams(session, actor.workspace_id)
    if any(t.name.casefold() == name.casefold() for t in existing):
        raise Conflict(N_("There's already a team called {team}."), team=name)
    team = Team(workspace_id=actor.workspace_id, name=name)
    session.add(team)
    await session.flush()
    await audit.record_change(session, actor, "team.create", team)
    return team


async def find_team(session: AsyncSession, *, actor: Member, ref: str) -> Team:
    """Return the team named by id, name or unique name prefix.

    Raises:
        NotFound: when no team matches, or several do.
    """
    text = ref.strip().casefold()
    teams = await _teams(session, actor.workspace_id)
    found = [t for t in teams if str(t.id) == text or t.name.casefold() == text] or [
        t for t in teams if t.name.casefold().startswith(text)
    ]
    if not text or len(found) != 1:
        raise NotFound(
            N_("I can't find the team “{team}”. Teams: {teams}."),
            team=ref.strip(),
            teams=", ".join(t.name for t in teams) or "—",
        )
    return found[0]


async def add_to_team(session: AsyncSession, *, actor: Member, team: Team, member: Member) -> None:
    """Put a member into a team (an admin in a team then sees only its customers).

    A team-limited admin may not bring anyone in from outside their team: that
    would widen what they see. Their new people join the team by their invite.

    Raises:
        PermissionDenied: when the actor is not an owner or admin, or is a team-limited
            admin moving someone into another team or taking in someone from outside.
        InvalidInput: when ``member`` is the owner.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    if team_limited(actor) and actor.team_id != team.id:
        raise PermissionDenied(N_("You can only manage your own team."))
    if team_limited(actor) and not within_reach(actor, member):
        raise PermissionDenied(
            N_(
                "{member} isn't on your team, and only the owner or an admin without a team "
                "can move people between teams. Invite new colleagues with /invite staff: "
                "they join your team."
            ),
            member=member.display_name,
        )
    if member.role is Role.OWNER:
        raise InvalidInput(N_("The owner sees the whole shop and can't join a team."))
    previous = member.team_id
    member.team_id = team.id
    await audit.record_change(
        session, actor, "team.add", member, {"team_id": team.id, "from_team_id": previous}
    )


async def share_customer(
    session: AsyncSession, *, actor: Member, customer_id: int, member: Member
) -> Customer:
    """Let a rep who does not own a visible customer see and work on it too.

    Raises:
        PermissionDenied: when the actor is not an owner or admin, or ``member`` is outside
            a team-limited admin's team.
        NotFound: when the customer is not among the actor's.
        Conflict: when the rep already owns it or it is already shared with them.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    leads.check_assignable(actor, member)
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    shared = await session.scalar(
        select(CustomerShare.id).where(
            CustomerShare.workspace_id == actor.workspace_id,
            CustomerShare.customer_id == customer.id,
            CustomerShare.member_id == member.id,
        )
    )
    if customer.owner_member_id == member.id or shared is not None:
        raise Conflict(
            N_("{member} can already see customer #{id}."),
            member=member.display_name,
            id=customer.id,
        )
    session.add(
        CustomerShare(
            workspace_id=actor.workspace_id, customer_id=customer.id, member_id=member.id
        )
    )
    await audit.record_change(session, actor, "customer.share", customer, {"member_id": member.id})
    return customer


async def count_owned(session: AsyncSession, *, actor: Member, member: Member) -> int:
    """Return how many customers ``member`` owns (for the reassign confirmation).

    Raises:
        PermissionDenied: when the actor may not manage ``member``.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    _check_manageable(actor, member)
    return await leads.count_owned_by(session, member)


async def reassign_all(
    session: AsyncSession, *, actor: Member, source: Member, target: Member, now: datetime
) -> int:
    """Move every customer of ``source`` to ``target`` in one batch; return how many moved.

    ``source`` may have left the shop (inactive); ``target`` must be active.

    Raises:
        PermissionDenied: when the actor is not an owner or admin, or either member is
            outside a team-limited admin's team.
        InvalidInput: when source and target are the same member.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    if source.id == target.id:
        raise InvalidInput(N_("Please pick two different colleagues."))
    leads.check_assignable(actor, target)
    _check_manageable(actor, source)
    result = await session.execute(
        update(Customer)
        .where(Customer.workspace_id == actor.workspace_id, Customer.owner_member_id == source.id)
        .values(owner_member_id=target.id, owner_assigned_at=now)
        .execution_options(synchronize_session=False)
    )
    moved = int(getattr(result, "rowcount", 0) or 0)
    details = {"from_member_id": source.id, "to_member_id": target.id, "count": moved}
    await audit.record_change(session, actor, "customer.reassign_all", source, details)
    return moved


def _check_manageable(actor: Member, member: Member) -> None:
    if not within_reach(actor, member):
        raise PermissionDenied(N_("{member} isn't on your team."), member=member.display_name)


async def _teams(session: AsyncSession, workspace_id: int) -> Sequence[Team]:
    result = await session.execute(
        select(Team).where(Team.workspace_id == workspace_id).order_by(Team.id)
    )
    return result.scalars().all()
