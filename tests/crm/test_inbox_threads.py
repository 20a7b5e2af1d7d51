"""Conversations on a real database: routing, relays, answers, Done, quiet closing, transfer."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import removal
from bot.crm.inbox import relays, replies, routing, settings, threads
from bot.crm.models import (
    AuditLog,
    Campaign,
    CampaignKind,
    CampaignRun,
    ChatMessage,
    CloseReason,
    Customer,
    Direction,
    Member,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    RelayRole,
    Thread,
    ThreadStatus,
)
from bot.crm.store import unit_of_work
from bot.errors import Conflict, NotFound, PermissionDenied
from tests.factories import NOW, Shop, add_customer, make_shop

Sessions = async_sessionmaker[AsyncSession]
MINUTE = timedelta(minutes=1)
ACCOUNTS = itertools.count(7_000_001)


async def _customer(
    session: AsyncSession, shop: Shop, name: str, owner: Member | None
) -> Customer:
    uid = next(ACCOUNTS)
    return await add_customer(session, shop, name, owner, tg_user_id=uid, chat_id=uid)


async def _in(
    session: AsyncSession, customer: Customer, text: str = "hi", *, at: timedelta = timedelta(0)
) -> threads.Inbound:
    return await threads.record_inbound(
        session,
        customer=customer,
        kind=MessageKind.TEXT,
        text=text,
        file_id=None,
        tg_chat_id=customer.chat_id or 0,
        tg_message_id=int((NOW + at).timestamp()),
        now=NOW + at,
    )


async def test_messages_reach_the_owner_rep_and_only_the_first_opens(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await _customer(session, shop, "Sun", shop.li)
        first = await _in(session, sun, "do you have aged pu'er?")
        second = await _in(session, sun, "2 cakes", at=MINUTE)
        assert (first.first, second.first) == (True, False)
        assert first.thread.id == second.thread.id
        assert [m.display_name for m in first.recipients] == ["Li"]
        assert first.thread.assignee_member_id == shop.li.id
        assert first.thread.waiting_since == NOW  # the first unanswered message
        assert sun.last_contact_at == NOW + MINUTE
        kinds = await session.execute(select(ChatMessage.direction, ChatMessage.text))
        assert kinds.all() == [
            (Direction.IN, "do you have aged pu'er?"),
            (Direction.IN, "2 cakes"),
        ]


async def test_without_an_active_owner_the_owner_and_admins_are_told(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        pool = await _customer(session, shop, "Pool", None)
        sun = await _customer(session, shop, "Sun", shop.li)
        inbound = await _in(session, pool)
        assert [m.display_name for m in inbound.recipients] == ["Wang", "Zhou"]
        assert inbound.thread.assignee_member_id is None
        opened = await _in(session, sun)
        # Li leaves; her customers go to Chen, and her open conversation follows them.
        await removal.remove_member(
            session, actor=shop.owner, member=shop.li, target=shop.chen, now=NOW
        )
        await session.refresh(sun)
        assert [m.display_name for m in await routing.recipients(session, customer=sun)] == [
            "Chen"
        ]
        again = await _in(session, sun, at=MINUTE)
        assert again.thread.id == opened.thread.id
        assert again.thread.assignee_member_id == shop.chen.id
        assert [m.display_name for m in again.recipients] == ["Chen"]


async def test_a_removed_owner_still_on_the_record_is_skipped(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await _customer(session, shop, "Sun", shop.li)
        shop.li.active = False
        people = await routing.recipients(session, customer=sun)
        assert [m.display_name for m in people] == ["Wang", "Zhou"]
        shop.admin.active = False
        assert [m.display_name for m in await routing.recipients(session, customer=sun)] == [
            "Wang"
        ]


async def test_an_erased_customer_cannot_write(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await _customer(session, shop, "Sun", shop.li)
        sun.erased_at = NOW
        with pytest.raises(Conflict):
            await _in(session, sun)


async def test_a_reply_to_a_campaign_message_names_the_campaign(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await _customer(session, shop, "Sun", shop.li)
        ws = shop.workspace.id
        campaign = Campaign(
            workspace_id=ws, name="Autumn tea", kind=CampaignKind.BROADCAST, template_key="care"
        )
        session.add(campaign)
        await session.flush()
        run = CampaignRun(
            workspace_id=ws, campaign_id=campaign.id, occurrence="once", template_key="care"
        )
        session.add(run)
        await session.flush()
        session.add(
            OutboxMessage(
                workspace_id=ws,
                run_id=run.id,
                customer_id=sun.id,
                status=OutboxStatus.SENT,
                tg_message_id=777,
            )
        )
        await session.flush()
        inbound = await threads.record_inbound(
            session,
            customer=sun,
            kind=MessageKind.PHOTO,
            text=None,
            file_id="photo-1",
            tg_chat_id=sun.chat_id or 0,
            tg_message_id=900,
            now=NOW,
            reply_to_message_id=777,
        )
        assert (inbound.campaign_run_id, inbound.campaign_name) == (run.id, "Autumn tea")
        assert inbound.thread.campaign_run_id == run.id
        plain = await _in(session, sun, at=MINUTE)
        assert plain.campaign_name is None


async def test_a_reply_to_a_relayed_message_finds_its_conversation(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop, other = await make_shop(session), await make_shop(session, "Porcelain")
        sun = await _customer(session, shop, "Sun", shop.li)
        inbound = await _in(session, sun)
        chat = shop.li.chat_id
        for role, message_id in ((RelayRole.COPY, 51), (RelayRole.NOTICE, 52)):
            await relays.record_relay(
                session,
                thread=inbound.thread,
                member=shop.li,
                staff_chat_id=chat,
                staff_message_id=message_id,
                role=role,
                message_id=inbound.message.id,
            )
        found = await relays.thread_of_relay(
            session, actor=shop.li, staff_chat_id=chat, staff_message_id=52
        )
        assert found is not None
        assert (found.thread.id, found.customer.id, found.message_id) == (
            inbound.thread.id,
            sun.id,
            inbound.message.id,
        )
        unknown = {"staff_chat_id": chat, "staff_message_id": 53}
        assert await relays.thread_of_relay(session, actor=shop.li, **unknown) is None
        relayed = {"staff_chat_id": chat, "staff_message_id": 51}
        # Another shop's member, and a colleague outside the customer's scope, find nothing.
        assert await relays.thread_of_relay(session, actor=other.owner, **relayed) is None
        assert await relays.thread_of_relay(session, actor=shop.chen, **relayed) is None
        assert await relays.thread_of_relay(session, actor=shop.admin, **relayed) is not None


async def test_the_first_answer_sets_the_first_response_once(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await _customer(session, shop, "Sun", shop.li)
        inbound = await _in(session, sun)
        target = await replies.reply_target(session, actor=shop.li, thread_id=inbound.thread.id)
        assert (target.chat_id, target.signature, target.customer_name) == (
            sun.chat_id,
            "Li",
            "Sun",
        )
        with pytest.raises(NotFound):
            await replies.reply_target(session, actor=shop.chen, thread_id=inbound.thread.id)
        for minutes in (10, 15):
            await replies.record_outbound(
                session,
                actor=shop.li,
                thread_id=inbound.thread.id,
                kind=MessageKind.TEXT,
                text="yes, 2007 harvest",
                file_id=None,
                tg_chat_id=sun.chat_id or 0,
                tg_message_id=1000 + minutes,
                now=NOW + minutes * MINUTE,
            )
        thread = inbound.thread
        assert thread.first_response_at == NOW + 10 * MINUTE
        assert thread.last_outbound_at == NOW + 15 * MINUTE
        assert thread.waiting_since is None
        assert sun.last_contact_at == NOW + 15 * MINUTE
        await settings.set_signature(session, actor=shop.owner, on=False)
        target = await replies.reply_target(session, actor=shop.li, thread_id=thread.id)
        assert target.signature is None
        sun.chat_id = None
        with pytest.raises(Conflict):
            await replies.reply_target(session, actor=shop.li, thread_id=thread.id)


async def test_an_answer_to_an_unassigned_conversation_makes_it_the_answerers(
    sessions: Sessions,
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        pool = await _customer(session, shop, "Pool", None)
        inbound = await _in(session, pool)
        await replies.record_outbound(
            session,
            actor=shop.admin,
            thread_id=inbound.thread.id,
            kind=MessageKind.STICKER,
            text=None,
            file_id="sticker-1",
            tg_chat_id=pool.chat_id or 0,
            tg_message_id=5,
            now=NOW + MINUTE,
        )
        assert inbound.thread.assignee_member_id == shop.admin.id


async def test_done_closes_and_the_next_message_opens_a_new_conversation(
    sessions: Sessions,
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await _customer(session, shop, "Sun", shop.li)
        inbound = await _in(session, sun)
        closed = await threads.done(session, actor=shop.li, thread_id=inbound.thread.id, now=NOW)
        assert (closed.status, closed.close_reason) == (ThreadStatus.CLOSED, CloseReason.DONE)
        assert closed.closed_by_member_id == shop.li.id
        again = await threads.done(
            session, actor=shop.li, thread_id=inbound.thread.id, now=NOW + MINUTE
        )
        assert again.closed_at == NOW
        with pytest.raises(NotFound):
            await threads.done(session, actor=shop.chen, thread_id=inbound.thread.id, now=NOW)
        fresh = await _in(session, sun, at=2 * MINUTE)
        assert fresh.first and fresh.thread.id != inbound.thread.id
        actions = await session.scalars(select(AuditLog.action))
        assert actions.all() == ["thread.done"]


async def test_answered_conversations_close_after_a_quiet_day(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await _customer(session, shop, "Sun", shop.li)
        mei = await _customer(session, shop, "Mei Lin", shop.li)
        answered = await _in(session, sun)
        unanswered = await _in(session, mei)
        await replies.record_outbound(
            session,
            actor=shop.li,
            thread_id=answered.thread.id,
            kind=MessageKind.TEXT,
            text="ok",
            file_id=None,
            tg_chat_id=sun.chat_id or 0,
            tg_message_id=9,
            now=NOW + MINUTE,
        )
        day = timedelta(hours=24)
        assert await threads.close_quiet(session, now=NOW + MINUTE + day - MINUTE) == 0
        assert await threads.close_quiet(session, now=NOW + MINUTE + day) == 1
        assert await threads.close_quiet(session, now=NOW + 30 * day) == 0
        rows = await session.execute(
            select(Thread.id, Thread.status, Thread.close_reason).order_by(Thread.id)
        )
        assert rows.all() == [
            (answered.thread.id, ThreadStatus.CLOSED, CloseReason.QUIET),
            (unanswered.thread.id, ThreadStatus.OPEN, None),
        ]


async def test_an_answer_after_closing_joins_the_open_conversation(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await _customer(session, shop, "Sun", shop.li)
        old = await _in(session, sun)
        await threads.done(session, actor=shop.li, thread_id=old.thread.id, now=NOW)
        new = await _in(session, sun, at=MINUTE)
        message = await replies.record_outbound(
            session,
            actor=shop.li,
            thread_id=old.thread.id,
            kind=MessageKind.VOICE,
            text=None,
            file_id="voice-1",
            tg_chat_id=sun.chat_id or 0,
            tg_message_id=10,
            now=NOW + 2 * MINUTE,
        )
        assert message.thread_id == new.thread.id
        assert new.thread.first_response_at == NOW + 2 * MINUTE
        assert old.thread.status is ThreadStatus.CLOSED


async def test_transfer_by_the_assignee_or_a_manager_is_audited(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop, other = await make_shop(session), await make_shop(session, "Porcelain")
        sun = await _customer(session, shop, "Sun", shop.li)
        thread_id = (await _in(session, sun)).thread.id
        moved = await routing.transfer(session, actor=shop.li, thread_id=thread_id, to=shop.chen)
        assert moved.assignee_member_id == shop.chen.id
        # Li still sees her customer, but the conversation is no longer hers to hand on.
        with pytest.raises(PermissionDenied):
            await routing.transfer(session, actor=shop.li, thread_id=thread_id, to=shop.admin)
        with pytest.raises(Conflict):
            await routing.transfer(session, actor=shop.admin, thread_id=thread_id, to=shop.chen)
        with pytest.raises(NotFound):
            await routing.transfer(session, actor=other.owner, thread_id=thread_id, to=other.li)
        shop.li.active = False
        with pytest.raises(PermissionDenied):
            await routing.transfer(session, actor=shop.admin, thread_id=thread_id, to=shop.li)
        back = await routing.transfer(
            session, actor=shop.admin, thread_id=thread_id, to=shop.owner
        )
        assert back.assignee_member_id == shop.owner.id
        entries = await session.execute(
            select(AuditLog.actor_member_id, AuditLog.details)
            .where(AuditLog.action == "thread.transfer")
            .order_by(AuditLog.id)
        )
        assert entries.all() == [
            (shop.li.id, {"from_member_id": shop.li.id, "to_member_id": shop.chen.id}),
            (shop.admin.id, {"from_member_id": shop.chen.id, "to_member_id": shop.owner.id}),
        ]
        await threads.done(session, actor=shop.owner, thread_id=thread_id, now=NOW)
        with pytest.raises(Conflict):
            await routing.transfer(session, actor=shop.owner, thread_id=thread_id, to=shop.chen)


async def test_a_transferred_conversation_can_be_answered_by_its_new_assignee(
    sessions: Sessions,
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sun = await _customer(session, shop, "Sun", shop.li)
        thread_id = (await _in(session, sun)).thread.id
        await routing.transfer(session, actor=shop.admin, thread_id=thread_id, to=shop.chen)
        target = await replies.reply_target(session, actor=shop.chen, thread_id=thread_id)
        assert target.signature == "Chen"
