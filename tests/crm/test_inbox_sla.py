"""Reply SLA and response figures: reminders and escalations once each, medians per rep."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm.inbox import replies, settings, sla, stats, threads
from bot.crm.models import Customer, Member, MessageKind, Thread
from bot.crm.store import unit_of_work
from tests.factories import NOW, Shop, add_customer, make_shop

Sessions = async_sessionmaker[AsyncSession]
MINUTE = timedelta(minutes=1)
ACCOUNTS = itertools.count(9_000_001)


async def _customer(
    session: AsyncSession, shop: Shop, name: str, owner: Member | None
) -> Customer:
    uid = next(ACCOUNTS)
    return await add_customer(session, shop, name, owner, tg_user_id=uid, chat_id=uid)


async def _in(session: AsyncSession, customer: Customer, at: timedelta) -> Thread:
    inbound = await threads.record_inbound(
        session,
        customer=customer,
        kind=MessageKind.TEXT,
        text="hello?",
        file_id=None,
        tg_chat_id=customer.chat_id or 0,
        tg_message_id=next(ACCOUNTS),
        now=NOW + at,
    )
    return inbound.thread


async def _out(session: AsyncSession, actor: Member, thread: Thread, at: timedelta) -> None:
    await replies.record_outbound(
        session,
        actor=actor,
        thread_id=thread.id,
        kind=MessageKind.TEXT,
        text="here",
        file_id=None,
        tg_chat_id=0,
        tg_message_id=next(ACCOUNTS),
        now=NOW + at,
    )


def _fired(alerts: list[sla.Alert]) -> list[tuple[sla.Level, str, list[str]]]:
    return [(a.level, a.customer_name, [m.display_name for m in a.recipients]) for a in alerts]


async def test_a_waiting_conversation_reminds_once_then_escalates_once(
    sessions: Sessions,
) -> None:
    async with unit_of_work(sessions) as session:
        shop, quiet = await make_shop(session), await make_shop(session, "No SLA")
        await settings.set_reply_sla(session, actor=shop.owner, minutes=30)
        sun = await _customer(session, shop, "Sun", shop.li)
        pool = await _customer(session, shop, "Pool", None)
        elsewhere = await _customer(session, quiet, "Elsewhere", quiet.li)
        thread = await _in(session, sun, 0 * MINUTE)
        await _in(session, pool, 20 * MINUTE)
        await _in(session, elsewhere, 0 * MINUTE)
        assert await sla.sla_due(session, now=NOW + 29 * MINUTE) == []
        assert _fired(await sla.sla_due(session, now=NOW + 30 * MINUTE)) == [
            (sla.Level.REMIND, "Sun", ["Li"])
        ]
        assert await sla.sla_due(session, now=NOW + 31 * MINUTE) == []
        assert _fired(await sla.sla_due(session, now=NOW + 60 * MINUTE)) == [
            (sla.Level.REMIND, "Pool", ["Wang", "Zhou"]),
            (sla.Level.ESCALATE, "Sun", ["Wang"]),
        ]
        alerts = await sla.sla_due(session, now=NOW + 90 * MINUTE)
        assert _fired(alerts) == [(sla.Level.ESCALATE, "Pool", ["Wang"])]
        assert alerts[0].waiting_since == NOW + 20 * MINUTE
        assert alerts[0].sla == timedelta(minutes=30)
        assert await sla.sla_due(session, now=NOW + 10 * 60 * MINUTE) == []
        # An answer ends the wait; the customer's next message starts a new one.
        await _out(session, shop.li, thread, 100 * MINUTE)
        assert thread.sla_reminded_at is None and thread.sla_escalated_at is None
        await _in(session, sun, 120 * MINUTE)
        assert _fired(await sla.sla_due(session, now=NOW + 150 * MINUTE)) == [
            (sla.Level.REMIND, "Sun", ["Li"])
        ]


async def test_response_figures_per_rep(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        people = [(shop.li, 10), (shop.li, 30), (shop.chen, 20)]
        for n, (rep, minutes) in enumerate(people):
            customer = await _customer(session, shop, f"C{n}", rep)
            thread = await _in(session, customer, 0 * MINUTE)
            await _out(session, rep, thread, minutes * MINUTE)
        waiting = await _customer(session, shop, "Waiting", shop.li)
        await _in(session, waiting, 5 * MINUTE)
        before = await _customer(session, shop, "Before", shop.chen)
        old = await _in(session, before, -3 * 24 * 60 * MINUTE)
        await _out(session, shop.chen, old, -3 * 24 * 60 * MINUTE + 90 * MINUTE)
        start, end = NOW - timedelta(days=1), NOW + timedelta(days=1)
        shopwide = await stats.response_stats(session, actor=shop.owner, start=start, end=end)
        assert (shopwide.answered, shopwide.unanswered) == (3, 1)
        assert shopwide.median_first_response == 20 * MINUTE
        by_rep = {r.member_name: r for r in shopwide.reps}
        assert set(by_rep) == {"Li", "Chen"}
        li, chen = by_rep["Li"], by_rep["Chen"]
        assert (li.answered, li.median_first_response, li.unanswered) == (2, 20 * MINUTE, 1)
        assert (chen.answered, chen.median_first_response, chen.unanswered) == (1, 20 * MINUTE, 0)
        own = await stats.response_stats(session, actor=shop.chen, start=start, end=end)
        assert [r.member_name for r in own.reps] == ["Chen"]
        assert (own.answered, own.unanswered) == (1, 0)
