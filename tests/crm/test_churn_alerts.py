"""Churn alerts: one message per rep and episode, quiet hours, summaries and the pool."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.crm import at_risk
from bot.crm.models import Customer, Purchase, Team
from bot.crm.models.core import ValueTier
from bot.crm.store import unit_of_work
from bot.errors import Blocked
from bot.jobs import churn_alerts
from bot.messaging import Keyboard, SentMessage
from tests.crm.test_tiers import NOW, buy
from tests.factories import Shop, add_customer, make_shop
from tests.fakes import RecordingMessenger

pytestmark = pytest.mark.timeout(60)

# NOW is 20:00 in the shop's Asia/Shanghai; its quiet hours are 21:00 to 09:00.
NIGHT = NOW + timedelta(hours=2)
MORNING = NOW + timedelta(hours=14)


class KeyboardMessenger(RecordingMessenger):
    """Also keep the buttons of every message, and refuse the chats in ``blocked``."""

    def __init__(self, blocked: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.keyboards: list[Keyboard] = []
        self.blocked = blocked

    async def send_text(
        self, chat_id: int, text: str, buttons: Keyboard = (), *, paid_broadcast: bool = False
    ) -> SentMessage:
        """Refuse blocked chats like Telegram would, record the rest."""
        if chat_id in self.blocked:
            raise Blocked("Forbidden: bot was blocked by the user")
        self.keyboards.append(buttons)
        return await super().send_text(chat_id, text, buttons, paid_broadcast=paid_broadcast)


async def quiet_customer(session: AsyncSession, shop: Shop, name: str, owner: object) -> Customer:
    """Add a customer who bought every 10 days and then went quiet for 70."""
    customer = await add_customer(session, shop, name, owner)  # type: ignore[arg-type]
    await buy(session, shop, customer, (100, 1), (90, 1), (80, 1), (70, 1))
    return customer


async def alerted(sessions: async_sessionmaker[AsyncSession]) -> dict[str, datetime | None]:
    """Return each customer's churn_alerted_at by name."""
    async with sessions() as session:
        rows = await session.execute(select(Customer.name, Customer.churn_alerted_at))
        return {name: at for name, at in rows.all()}


async def flagged(sessions: async_sessionmaker[AsyncSession], workspace_id: int) -> int:
    """Return how many of the workspace's customers are at risk, as committed."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(
                Customer.workspace_id == workspace_id, Customer.at_risk_since.is_not(None)
            )
        )
    return int(count or 0)


async def test_one_alert_per_episode_with_reasons_and_buttons(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        await quiet_customer(session, shop, "Mei Chen", shop.li)
        dropped = await add_customer(session, shop, "Zhao", shop.li)
        await buy(session, shop, dropped, (10, 1))
        dropped.previous_value_tier, dropped.value_tier = ValueTier.HIGH, ValueTier.MEDIUM
        dropped.value_tier_changed_at = NOW - timedelta(days=1)
        li_chat = shop.li.chat_id
    messenger = KeyboardMessenger()
    runs: dict[int, datetime] = {}
    await churn_alerts.churn_alerts(sessions, messenger, lambda: NOW, last_detect=runs)
    [(chat, text)] = messenger.texts
    assert chat == li_chat
    assert "Mei Chen</b>" in text and "quiet for 70 days (usually every 10)" in text
    assert "Zhao</b>" in text and "dropped from high to medium value" in text
    [keyboard] = messenger.keyboards
    assert [[b.text for b in row] for row in keyboard] == [
        ["📞 Zhao", "💌 Care", "🎁 Offer"],
        ["📞 Mei", "💌 Care", "🎁 Offer"],
    ]
    assert keyboard[1][1].data is not None and keyboard[1][1].data.startswith("ar:care:")
    assert await alerted(sessions) == {"Mei Chen": NOW, "Zhao": NOW}

    # Later ticks, and the next day's detection, do not alert about the same episode.
    later = NOW + timedelta(minutes=30)
    await churn_alerts.churn_alerts(sessions, messenger, lambda: later, last_detect=runs)
    assert len(messenger.texts) == 1
    next_day = NOW + timedelta(days=1)
    await churn_alerts.churn_alerts(sessions, messenger, lambda: next_day, last_detect=runs)
    assert len(messenger.texts) == 1
    assert runs == {shop.workspace.id: next_day}


async def test_quiet_hours_hold_alerts_until_the_morning(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        await quiet_customer(session, shop, "Mei Chen", shop.li)
    messenger = KeyboardMessenger()
    runs: dict[int, datetime] = {}
    await churn_alerts.churn_alerts(sessions, messenger, lambda: NIGHT, last_detect=runs)
    assert messenger.texts == []
    async with sessions() as session:
        flagged = await session.scalar(select(Customer.at_risk_since))
    assert flagged == NIGHT
    assert await alerted(sessions) == {"Mei Chen": None}

    await churn_alerts.churn_alerts(sessions, messenger, lambda: MORNING, last_detect=runs)
    assert len(messenger.texts) == 1 and "Mei Chen" in messenger.texts[0][1]
    assert await alerted(sessions) == {"Mei Chen": MORNING}


async def test_more_than_five_make_one_summary(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        for n in range(6):
            await quiet_customer(session, shop, f"Quiet {n}", shop.chen)
        dropped = await add_customer(session, shop, "Dropped", shop.chen)
        await buy(session, shop, dropped, (10, 1))
        dropped.previous_value_tier, dropped.value_tier = ValueTier.MEDIUM, ValueTier.LOW
        dropped.value_tier_changed_at = NOW - timedelta(days=1)
    messenger = KeyboardMessenger()
    await churn_alerts.churn_alerts(sessions, messenger, lambda: NOW, last_detect={})
    [(_, text)] = messenger.texts
    assert "7 of your customers may be drifting away" in text
    assert "6 have gone quiet, 1 dropped to a lower value tier" in text and "/atrisk" in text
    assert "Quiet 0" not in text
    assert [[b.data for b in row] for row in messenger.keyboards[0]] == [["ar:ls:0"]]
    assert set((await alerted(sessions)).values()) == {NOW}


async def test_unowned_customers_go_to_the_owner_and_admins(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        await quiet_customer(session, shop, "Pool", None)
        await quiet_customer(session, shop, "Left behind", shop.chen)
        shop.chen.active = False  # Chen left the shop: his customer counts as unowned
        await quiet_customer(session, shop, "Li's", shop.li)
        chats = {m.display_name: m.chat_id for m in (shop.owner, shop.admin, shop.li, shop.chen)}
    messenger = KeyboardMessenger()
    await churn_alerts.churn_alerts(sessions, messenger, lambda: NOW, last_detect={})
    assert len(messenger.texts) == 3
    got = {chat: text for chat, text in messenger.texts}
    assert set(got) == {chats["Wang"], chats["Zhou"], chats["Li"]}
    for manager in ("Wang", "Zhou"):
        assert "Pool" in got[chats[manager]] and "Left behind" in got[chats[manager]]
        assert "Li's" not in got[chats[manager]]
    assert "Pool" not in got[chats["Li"]]


async def test_only_customers_whose_rep_was_reached_are_stamped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        await quiet_customer(session, shop, "Li's", shop.li)
        await quiet_customer(session, shop, "Chen's", shop.chen)
        li_chat = shop.li.chat_id
    runs: dict[int, datetime] = {}
    blocked = KeyboardMessenger(blocked=frozenset({li_chat}))
    await churn_alerts.churn_alerts(sessions, blocked, lambda: NOW, last_detect=runs)
    assert len(blocked.texts) == 1
    assert await alerted(sessions) == {"Li's": None, "Chen's": NOW}

    # Li unblocks the bot: the next tick tells him, without detecting again.
    messenger = KeyboardMessenger()
    later = NOW + timedelta(minutes=30)
    await churn_alerts.churn_alerts(sessions, messenger, lambda: later, last_detect=runs)
    assert [chat for chat, _ in messenger.texts] == [li_chat]
    assert await alerted(sessions) == {"Li's": later, "Chen's": NOW}


@pytest.mark.timeout(60)
async def test_a_team_limited_admin_hears_only_of_their_teams_unowned_customers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        team = Team(workspace_id=shop.workspace.id, name="North")
        session.add(team)
        await session.flush()
        shop.admin.team_id = shop.li.team_id = team.id
        await quiet_customer(session, shop, "Pool", None)
        await quiet_customer(session, shop, "Qian", shop.chen)
        await quiet_customer(session, shop, "Zhao", shop.li)
        # Both reps left: their customers go to managers, Chen's never to North's admin.
        shop.chen.active = shop.li.active = False
        owner, admin = shop.owner.chat_id, shop.admin.chat_id
    messenger = KeyboardMessenger()
    await churn_alerts.churn_alerts(sessions, messenger, lambda: NOW, last_detect={})
    assert len(messenger.texts) == 2
    got = {chat: text for chat, text in messenger.texts}
    assert set(got) == {owner, admin}
    assert all(name in got[owner] for name in ("Pool", "Qian", "Zhao"))
    assert "Pool" in got[admin] and "Zhao" in got[admin]
    assert "Qian" not in got[admin]


async def test_another_shop_writes_while_detection_runs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customers = 2000
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Other")
        ws = shop.workspace.id
        rows = [{"workspace_id": ws, "name": f"Quiet {n}"} for n in range(customers)]
        ids = (await session.scalars(insert(Customer).returning(Customer.id), rows)).all()
        sales = [
            {"workspace_id": ws, "customer_id": cid, "amount_minor": 100, "currency": "CNY"}
            | {"at": NOW - timedelta(days=days, hours=1)}
            for cid in ids
            for days in (100, 90, 80, 70)
        ]
        await session.execute(insert(Purchase), sales)
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    detection = asyncio.create_task(at_risk.detect_apart(engine, ws, now=NOW, batch=100))
    async with asyncio.timeout(30):
        while not await flagged(sessions, ws):  # the first batch is committed
            await asyncio.sleep(0.005)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with unit_of_work(sessions) as session:
        await add_customer(session, other, "Walk-in", other.li)
    waited = loop.time() - started
    # The other shop's write went in between two batches, not after the whole run.
    assert await flagged(sessions, ws) < customers
    assert not detection.done()
    assert waited < 1.0
    assert len(await detection) == customers
    assert await flagged(sessions, ws) == customers
