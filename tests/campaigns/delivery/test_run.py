"""Who hears about a run: its creator, else the owner and admins (team-limited: their team)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import run
from bot.crm.models import Member, Role, Team
from bot.crm.store import unit_of_work
from tests.campaigns.delivery.helpers import Shop, make_run, make_shop

Sessions = async_sessionmaker[AsyncSession]
OWNER, ADMIN, NORTH_ADMIN = 900, 901, 909


async def _north_admin(session: AsyncSession, shop: Shop) -> Member:
    """Add an admin limited to the team North."""
    north = Team(workspace_id=shop.workspace.id, name="North")
    session.add(north)
    await session.flush()
    admin = Member(
        workspace_id=shop.workspace.id,
        tg_user_id=NORTH_ADMIN,
        chat_id=NORTH_ADMIN,
        role=Role.ADMIN,
        team_id=north.id,
        display_name="Zhao",
        referral_code=f"ref{shop.workspace.id}-north",
    )
    session.add(admin)
    await session.flush()
    return admin


@pytest.mark.parametrize(
    ("for_north", "told"), [(False, [OWNER, ADMIN]), (True, [OWNER, ADMIN, NORTH_ADMIN])]
)
async def test_without_a_creator_a_team_limited_admin_hears_only_of_their_teams_runs(
    sessions: Sessions, for_north: bool, told: list[int]
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Guest"])
        north_admin = await _north_admin(session, shop)
        audience = {"team_id": north_admin.team_id} if for_north else {}
        # No creator: a broadcast started from the command line.
        made = await make_run(session, shop, audience=audience)
    async with sessions() as session:
        # The same list gets the run's report, its pause notice and its template notice.
        people = await run.admins_to_tell(session, made.id)
    assert sorted(chat for chat, _ in people) == told


async def test_an_active_creator_alone_hears_of_their_run(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Guest"])
        north_admin = await _north_admin(session, shop)
        made = await make_run(
            session, shop, creator=north_admin, audience={"team_id": north_admin.team_id}
        )
    async with sessions() as session:
        assert [chat for chat, _ in await run.admins_to_tell(session, made.id)] == [NORTH_ADMIN]


def test_a_team_limited_admin_hears_about_a_team_restricted_audience_only_for_their_team() -> None:
    limited = Member(workspace_id=1, role=Role.ADMIN, team_id=7)
    assert run.hears_about(limited, {"team_id": 7})
    assert not run.hears_about(limited, {"team_id": 8})
    assert not run.hears_about(limited, {})
    for everywhere in (
        Member(workspace_id=1, role=Role.ADMIN),
        Member(workspace_id=1, role=Role.OWNER),
    ):
        assert run.hears_about(everywhere, {}) and run.hears_about(everywhere, {"team_id": 8})
