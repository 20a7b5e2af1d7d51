"""Stages, the lead pool and the return of stale leads on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import leads
from bot.crm.models import AuditLog, Customer, CustomerKind, Member, Workspace
from bot.crm.store import unit_of_work
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.factories import NOW, add_customer, make_shop


async def test_stages_resolve_by_key_label_and_rename(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        assert leads.resolve_stage(shop.workspace, " WON ") == "won"
        assert leads.resolve_stage(shop.workspace, "contacted") == "contacted"
        await leads.rename_stage(
            session, actor=shop.owner, workspace=shop.workspace, key="won", label="Paid"
        )
        assert leads.resolve_stage(shop.workspace, "paid") == "won"
        assert leads.stage_label(shop.workspace, "won") == "Paid"
        with pytest.raises(InvalidInput, match="no stage"):
            leads.resolve_stage(shop.workspace, "closed")
        with pytest.raises(InvalidInput, match="already called"):
            await leads.rename_stage(
                session, actor=shop.owner, workspace=shop.workspace, key="lost", label="paid"
            )
        with pytest.raises(PermissionDenied):
            await leads.rename_stage(
                session, actor=shop.li, workspace=shop.workspace, key="lost", label="Gone"
            )


async def test_move_to_won_converts_and_scope_applies(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        change = await leads.move_stage(session, actor=shop.li, customer_id=zhao.id, stage="won")
        assert (change.previous, change.converted) == ("new", True)
        assert zhao.kind is CustomerKind.CUSTOMER
        again = await leads.move_stage(session, actor=shop.li, customer_id=zhao.id, stage="won")
        assert again.converted is False
        with pytest.raises(NotFound):
            await leads.move_stage(session, actor=shop.chen, customer_id=zhao.id, stage="lost")
        audit = await session.scalars(select(AuditLog.action).where(AuditLog.entity_id == zhao.id))
        assert list(audit).count("customer.stage") == 2


async def test_pool_claim_and_assign(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Porcelain")
        first = await add_customer(session, shop, "Zhao", None)
        second = await add_customer(session, shop, "Qian", None)
        await add_customer(session, other, "Foreign", None)
        waiting, total = await leads.list_pool(session, actor=shop.li)
        assert [c.name for c in waiting] == ["Zhao", "Qian"] and total == 2

        await leads.claim_lead(session, actor=shop.li, customer_id=first.id, now=NOW)
        assert (first.owner_member_id, first.owner_assigned_at) == (shop.li.id, NOW)
        with pytest.raises(Conflict, match="already been taken"):
            await leads.claim_lead(session, actor=shop.chen, customer_id=first.id, now=NOW)
        foreign = (await leads.list_pool(session, actor=other.li))[0][0]
        with pytest.raises(NotFound):
            await leads.claim_lead(session, actor=shop.li, customer_id=foreign.id, now=NOW)

        with pytest.raises(PermissionDenied):
            await leads.assign_customer(
                session, actor=shop.li, customer_id=second.id, owner=shop.chen, now=NOW
            )
        previous = await leads.assign_customer(
            session, actor=shop.admin, customer_id=second.id, owner=shop.chen, now=NOW
        )
        assert previous is None and second.owner_member_id == shop.chen.id
        with pytest.raises(Conflict):
            await leads.assign_customer(
                session, actor=shop.admin, customer_id=second.id, owner=shop.chen, now=NOW
            )
        with pytest.raises(PermissionDenied):
            await leads.assign_customer(
                session, actor=shop.admin, customer_id=second.id, owner=other.li, now=NOW
            )


async def test_return_stale_leads(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        old = NOW - timedelta(days=20)
        stale = await add_customer(session, shop, "Stale", shop.li, owner_assigned_at=old)
        contacted = await add_customer(
            session,
            shop,
            "Contacted",
            shop.li,
            owner_assigned_at=old,
            last_contact_at=NOW - timedelta(days=2),
        )
        fresh = await add_customer(
            session, shop, "Fresh", shop.chen, owner_assigned_at=NOW - timedelta(days=3)
        )
        won = await add_customer(
            session, shop, "Won", shop.li, owner_assigned_at=old, kind=CustomerKind.CUSTOMER
        )
        unowned = await add_customer(session, shop, "Pool", None, created_at=old)

    async with unit_of_work(sessions) as session:
        returned = await leads.return_stale_leads(session, now=NOW)
    assert [(r.customer_id, r.name, r.chat_id, r.days) for r in returned] == [
        (stale.id, "Stale", shop.li.chat_id, 14)
    ]
    assert returned[0].tg_user_id == shop.li.tg_user_id
    async with sessions() as session:
        owners = dict(
            (await session.execute(select(Customer.name, Customer.owner_member_id))).all()
        )
        assert owners == {
            "Stale": None,
            "Contacted": shop.li.id,
            "Fresh": shop.chen.id,
            "Won": shop.li.id,
            "Pool": None,
        }
        actions = await session.scalars(
            select(AuditLog.action).where(AuditLog.entity_id == stale.id)
        )
        assert "lead.return" in list(actions)
    assert {contacted.id, fresh.id, won.id, unowned.id}.isdisjoint(r.customer_id for r in returned)

    async with unit_of_work(sessions) as session:
        assert await leads.return_stale_leads(session, now=NOW) == []
        ws = await session.get(Workspace, shop.workspace.id)
        assert ws is not None
        admin = await session.get(Member, shop.admin.id)
        assert admin is not None
        await leads.set_return_days(session, actor=admin, workspace=ws, days=0)
        with pytest.raises(InvalidInput):
            await leads.set_return_days(session, actor=admin, workspace=ws, days=400)
    async with unit_of_work(sessions) as session:
        customer = await session.get(Customer, contacted.id)
        assert customer is not None
        customer.last_contact_at = old
        assert await leads.return_stale_leads(session, now=NOW) == []


def test_returned_lead_text_escapes_the_name() -> None:
    from bot.jobs.leads import returned_lead_text

    lead = leads.ReturnedLead(
        workspace_id=1,
        member_id=2,
        chat_id=3,
        tg_user_id=3,
        customer_id=12,
        name="<Zhao>",
        days=14,
    )
    text = returned_lead_text("en", lead)
    assert "<b>&lt;Zhao&gt;</b> (#12)" in text and "14 days" in text and "/pool" in text
