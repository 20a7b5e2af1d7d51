"""Quick replies by key and language, and which shop a customer of several shops writes to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm.inbox import quick, shops, threads
from bot.crm.models import AuditLog, Customer, MessageKind
from bot.crm.store import unit_of_work
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.factories import NOW, make_shop

Sessions = async_sessionmaker[AsyncSession]
ACCOUNT = 6_600_001
PRICE_EN = "Hi {{ name }}, a cake of 2007 pu'er is ¥380."
PRICE_ZH = "{{ name }} 您好，2007 年普洱一饼 ¥380。"


async def test_managers_keep_quick_replies_in_two_languages(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop, other = await make_shop(session), await make_shop(session, "Porcelain")
        with pytest.raises(PermissionDenied):
            await quick.add_quick(
                session, actor=shop.li, key="price", locale="en", text=PRICE_EN, now=NOW
            )
        await quick.add_quick(
            session, actor=shop.admin, key="Price", locale="en", text=PRICE_EN, now=NOW
        )
        await quick.add_quick(
            session, actor=shop.owner, key="price", locale="zh-cn", text=PRICE_ZH, now=NOW
        )
        await quick.add_quick(
            session, actor=shop.owner, key="hours", locale="en", text="9 to 9", now=NOW
        )
        with pytest.raises(Conflict):
            await quick.add_quick(
                session, actor=shop.owner, key="price", locale="en", text="again", now=NOW
            )
        for bad in ({"key": "two words"}, {"locale": "fr"}, {"text": "  "}):
            fields = {"key": "x", "locale": "en", "text": "t"} | bad
            with pytest.raises(InvalidInput):
                await quick.add_quick(session, actor=shop.owner, now=NOW, **fields)
        listed = await quick.list_quick(session, actor=shop.li)
        assert [(r.key, r.locale) for r in listed] == [
            ("hours", "en"),
            ("price", "en"),
            ("price", "zh-CN"),
        ]
        assert len(await quick.list_quick(session, actor=shop.li, locale="zh-CN")) == 1
        assert await quick.list_quick(session, actor=other.owner) == []
        zh = await quick.pick_quick(session, actor=shop.li, key="price", locale="zh-CN")
        assert zh.text == PRICE_ZH
        for locale in ("fr", None):
            picked = await quick.pick_quick(session, actor=shop.li, key="price", locale=locale)
            assert picked.locale == "en"
        hours = await quick.pick_quick(session, actor=shop.li, key="hours", locale="zh-CN")
        assert hours.locale == "en"  # the only language it has
        with pytest.raises(NotFound):
            await quick.pick_quick(session, actor=other.li, key="price", locale="en")
        edited = await quick.edit_quick(
            session, actor=shop.admin, key="hours", locale="en", text="9 to 10", now=NOW
        )
        assert (edited.text, edited.updated_by_member_id) == ("9 to 10", shop.admin.id)
        with pytest.raises(PermissionDenied):
            await quick.delete_quick(session, actor=shop.chen, key="hours", locale="en")
        await quick.delete_quick(session, actor=shop.owner, key="hours", locale="en")
        with pytest.raises(NotFound):
            await quick.get_quick(session, actor=shop.owner, key="hours", locale="en")
        with pytest.raises(NotFound):
            await quick.edit_quick(
                session, actor=other.owner, key="price", locale="en", text="mine", now=NOW
            )
        actions = await session.scalars(select(AuditLog.action).order_by(AuditLog.id))
        assert actions.all() == ["quick_reply.add"] * 3 + [
            "quick_reply.edit",
            "quick_reply.delete",
        ]


async def _message(session: AsyncSession, customer: Customer, minutes: int) -> int:
    inbound = await threads.record_inbound(
        session,
        customer=customer,
        kind=MessageKind.TEXT,
        text="hello",
        file_id=None,
        tg_chat_id=ACCOUNT,
        tg_message_id=minutes,
        now=NOW + timedelta(minutes=minutes),
    )
    return inbound.thread.id


async def test_a_customer_of_two_shops_chooses_once_per_conversation(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        tea, porcelain = await make_shop(session), await make_shop(session, "Porcelain")
        assert await shops.route(session, tg_user_id=ACCOUNT) == shops.Route(None, ())
        at_tea = Customer(
            workspace_id=tea.workspace.id, name="Sun", tg_user_id=ACCOUNT, chat_id=ACCOUNT
        )
        session.add(at_tea)
        await session.flush()
        assert (await shops.route(session, tg_user_id=ACCOUNT)).customer is at_tea
        at_porcelain = Customer(
            workspace_id=porcelain.workspace.id, name="Sun", tg_user_id=ACCOUNT, chat_id=ACCOUNT
        )
        session.add(at_porcelain)
        await session.flush()
        ask = await shops.route(session, tg_user_id=ACCOUNT)
        assert ask.customer is None
        assert [w.name for w, _ in ask.choices] == ["Porcelain", "Tea"]
        chosen = await shops.choose_shop(
            session, tg_user_id=ACCOUNT, workspace_id=porcelain.workspace.id, now=NOW
        )
        assert chosen is at_porcelain
        assert await shops.chosen_shop(session, tg_user_id=ACCOUNT) == porcelain.workspace.id
        assert (await shops.route(session, tg_user_id=ACCOUNT)).customer is at_porcelain
        thread_id = await _message(session, at_porcelain, 1)
        assert (await shops.route(session, tg_user_id=ACCOUNT)).customer is at_porcelain
        # Done ends the conversation the choice was for: the next message asks again.
        await threads.done(session, actor=porcelain.owner, thread_id=thread_id, now=NOW)
        assert (await shops.route(session, tg_user_id=ACCOUNT)).customer is None
        # Without a live choice, the one shop with an open conversation goes on with it.
        await shops.clear_choice(session, tg_user_id=ACCOUNT)
        await _message(session, at_tea, 2)
        assert (await shops.route(session, tg_user_id=ACCOUNT)).customer is at_tea
        # /shop switches, even while the other conversation is open.
        await shops.choose_shop(
            session,
            tg_user_id=ACCOUNT,
            workspace_id=porcelain.workspace.id,
            now=NOW + timedelta(minutes=3),
        )
        assert (await shops.route(session, tg_user_id=ACCOUNT)).customer is at_porcelain
        stranger = await make_shop(session, "Silk")
        with pytest.raises(NotFound):
            await shops.choose_shop(
                session, tg_user_id=ACCOUNT, workspace_id=stranger.workspace.id, now=NOW
            )
