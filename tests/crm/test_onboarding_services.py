"""Workspaces, invites, members and consent on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import consent, customers, invites, members, workspaces
from bot.crm.models import Consent, ConsentAction, ConsentEvent, Customer, Member, Role
from bot.crm.store import unit_of_work
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.messaging import User

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TTL = timedelta(hours=72)


async def _workspace_with_owner(
    session: AsyncSession, name: str = "王氏茶行", owner_id: int = 1
) -> Member:
    ws = await workspaces.create_workspace(
        session, name=name, timezone="Asia/Shanghai", locale="zh-CN", region="CN"
    )
    issued = await invites.issue_invite(
        session, workspace_id=ws.id, role=Role.OWNER, now=NOW, ttl=TTL, actor=None
    )
    return await members.join_with_invite(
        session,
        code=issued.code,
        tg_user_id=owner_id,
        chat_id=owner_id,
        display_name="Wang",
        now=NOW,
    )


async def test_slug_is_link_safe_and_unique(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        first = await workspaces.create_workspace(
            session, name="王氏茶行", timezone="Asia/Shanghai", locale="zh-CN", region="cn"
        )
        second = await workspaces.create_workspace(
            session, name="王氏茶行", timezone="Asia/Shanghai", locale="zh-CN", region=None
        )
    assert first.slug == "wang-shi-cha-xing"
    assert second.slug.startswith("wang-shi-cha-xing-") and second.slug != first.slug
    assert first.region == "CN"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "  "}, "1 to 120"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"locale": "fr"}, "language"),
        ({"region": "CHN"}, "two-letter"),
    ],
)
async def test_workspace_validation(
    sessions: async_sessionmaker[AsyncSession], kwargs: dict[str, str], fragment: str
) -> None:
    args = {"name": "Shop", "timezone": "UTC", "locale": "en", "region": None} | kwargs
    async with sessions() as session:
        with pytest.raises(InvalidInput, match=fragment):
            await workspaces.create_workspace(session, **args)  # type: ignore[arg-type]


async def test_invite_lifecycle(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        owner = await _workspace_with_owner(session)
        issued = await invites.issue_invite(
            session,
            workspace_id=owner.workspace_id,
            role=Role.STAFF,
            now=NOW,
            ttl=TTL,
            actor=owner,
        )
        assert issued.invite.code_hash != issued.code
        staff = await members.join_with_invite(
            session, code=issued.code, tg_user_id=2, chat_id=2, display_name="Li", now=NOW
        )
        assert staff.role is Role.STAFF
        with pytest.raises(Conflict, match="already been used"):
            await invites.redeem_invite(session, code=issued.code, now=NOW)
        with pytest.raises(NotFound):
            await invites.redeem_invite(session, code="nope", now=NOW)

        late = await invites.issue_invite(
            session,
            workspace_id=owner.workspace_id,
            role=Role.STAFF,
            now=NOW,
            ttl=TTL,
            actor=owner,
        )
        with pytest.raises(InvalidInput, match="expired"):
            await invites.redeem_invite(session, code=late.code, now=NOW + TTL)
        await invites.revoke_invite(session, actor=owner, invite_id=late.invite.id, now=NOW)
        with pytest.raises(Conflict, match="withdrawn"):
            await invites.redeem_invite(session, code=late.code, now=NOW)


async def test_roles_limit_who_invites_whom(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        owner = await _workspace_with_owner(session)
        admin_code = await invites.issue_invite(
            session,
            workspace_id=owner.workspace_id,
            role=Role.ADMIN,
            now=NOW,
            ttl=TTL,
            actor=owner,
        )
        admin = await members.join_with_invite(
            session, code=admin_code.code, tg_user_id=2, chat_id=2, display_name="A", now=NOW
        )
        with pytest.raises(PermissionDenied):
            await invites.issue_invite(
                session,
                workspace_id=owner.workspace_id,
                role=Role.ADMIN,
                now=NOW,
                ttl=TTL,
                actor=admin,
            )
        staff_code = await invites.issue_invite(
            session,
            workspace_id=owner.workspace_id,
            role=Role.STAFF,
            now=NOW,
            ttl=TTL,
            actor=admin,
        )
        staff = await members.join_with_invite(
            session, code=staff_code.code, tg_user_id=3, chat_id=3, display_name="S", now=NOW
        )
        with pytest.raises(PermissionDenied):
            await invites.issue_invite(
                session,
                workspace_id=owner.workspace_id,
                role=Role.STAFF,
                now=NOW,
                ttl=TTL,
                actor=staff,
            )


async def test_tenancy_of_invites_and_memberships(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        owner_a = await _workspace_with_owner(session, "Shop A", owner_id=1)
        owner_b = await _workspace_with_owner(session, "Shop B", owner_id=2)
        invite_b = await invites.issue_invite(
            session,
            workspace_id=owner_b.workspace_id,
            role=Role.STAFF,
            now=NOW,
            ttl=TTL,
            actor=owner_b,
        )
        with pytest.raises(NotFound):
            await invites.revoke_invite(
                session, actor=owner_a, invite_id=invite_b.invite.id, now=NOW
            )
        with pytest.raises(PermissionDenied):
            await invites.issue_invite(
                session,
                workspace_id=owner_b.workspace_id,
                role=Role.STAFF,
                now=NOW,
                ttl=TTL,
                actor=owner_a,
            )
        with pytest.raises(Conflict, match="already work in"):
            await members.join_with_invite(
                session, code=invite_b.code, tg_user_id=1, chat_id=1, display_name="W", now=NOW
            )
        # The failed attempt did not use the invite up.
        assert (await invites.redeem_invite(session, code=invite_b.code, now=NOW)).used_at is None


async def test_customer_joins_consents_and_opts_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        owner = await _workspace_with_owner(session)
        ws = await workspaces.get_by_slug(session, "wang-shi-cha-xing")
        assert ws is not None
        user = User(id=50, first_name="Zhao", language_code="zh-hans")
        customer, new = await customers.join_by_link(
            session, workspace=ws, user=user, chat_id=50, locale="zh-CN", referrer=owner
        )
        assert new and customer.owner_member_id == owner.id and customer.consent is Consent.UNKNOWN
        again, new = await customers.join_by_link(
            session, workspace=ws, user=user, chat_id=50, locale="zh-CN", referrer=None
        )
        assert not new and again.id == customer.id and again.owner_member_id == owner.id

        consent.set_consent(
            session, customer, action=ConsentAction.OPT_IN, source="button", now=NOW
        )
        consent.set_reachable(session, [customer], reachable=False, now=NOW)
        assert customer.consent is Consent.OPTED_IN and not customer.reachable
        changed = await consent.opt_out_everywhere(
            session, [customer], source="stop_command", now=NOW
        )
        assert changed == [customer]
        assert (
            await consent.opt_out_everywhere(session, [customer], source="stop_command", now=NOW)
            == []
        )

    async with sessions() as session:
        stored = await session.scalar(select(Customer).where(Customer.tg_user_id == 50))
        assert stored is not None and stored.consent is Consent.OPTED_OUT
        assert stored.created_at.tzinfo is not None
        actions = (
            await session.scalars(select(ConsentEvent.action).order_by(ConsentEvent.id))
        ).all()
        assert actions == [ConsentAction.OPT_IN, ConsentAction.BLOCKED, ConsentAction.OPT_OUT]


async def test_the_same_consent_three_times_at_once_is_one_event(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        owner = await _workspace_with_owner(session)
        ws = await workspaces.get_by_slug(session, "wang-shi-cha-xing")
        assert ws is not None
        customer, _ = await customers.join_by_link(
            session,
            workspace=ws,
            user=User(id=60, first_name="Qian"),
            chat_id=60,
            locale="en",
            referrer=owner,
        )
        customer_id = customer.id

    async def press(action: ConsentAction) -> bool:
        async with unit_of_work(sessions) as session:
            record = await session.get(Customer, customer_id)
            assert record is not None
            # Let every press read the record before any of them writes.
            await asyncio.sleep(0.05)
            return await consent.change_consent(
                session, record, action=action, source="button", now=NOW
            )

    changes = await asyncio.gather(*(press(ConsentAction.OPT_IN) for _ in range(3)))
    assert sorted(changes) == [False, False, True]
    assert not await press(ConsentAction.OPT_IN)
    assert await press(ConsentAction.DECLINED)
    assert not await press(ConsentAction.DECLINED)

    async with sessions() as session:
        stored = await session.get(Customer, customer_id)
        assert stored is not None and stored.consent is Consent.OPTED_OUT
        actions = (
            await session.scalars(
                select(ConsentEvent.action)
                .where(ConsentEvent.customer_id == customer_id)
                .order_by(ConsentEvent.id)
            )
        ).all()
        assert actions == [ConsentAction.OPT_IN, ConsentAction.DECLINED]
