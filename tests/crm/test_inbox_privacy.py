"""Conversations and privacy: history in the data copies, gone after erasure; migration 0009."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import migrate, privacy
from bot.crm.inbox import history, replies, shops, threads
from bot.crm.models import (
    ChatMessage,
    CloseReason,
    Customer,
    Member,
    MessageKind,
    ShopChoice,
    Thread,
)
from bot.crm.store import create_engine, unit_of_work
from tests.factories import NOW, make_shop

Sessions = async_sessionmaker[AsyncSession]
ACCOUNT = 5_550_099
INBOX_TABLES = {
    "chat_thread",
    "chat_message",
    "chat_relay",
    "quick_reply",
    "inbox_settings",
    "inbox_shop_choice",
}


async def _conversation(sessions: Sessions) -> tuple[int, int, int]:
    """Return (shop owner's member id, customer id, other shop's customer id) after a chat."""
    async with unit_of_work(sessions) as session:
        shop, other = await make_shop(session), await make_shop(session, "Porcelain")
        sun, elsewhere = (
            Customer(
                workspace_id=ws.id,
                name="Sun",
                tg_user_id=ACCOUNT,
                chat_id=ACCOUNT,
                owner_member_id=rep,
            )
            for ws, rep in ((shop.workspace, shop.li.id), (other.workspace, other.li.id))
        )
        session.add_all([sun, elsewhere])
        await session.flush()
        for customer in (sun, elsewhere):
            inbound = await threads.record_inbound(
                session,
                customer=customer,
                kind=MessageKind.PHOTO,
                text="this one, 2 cakes",
                file_id="photo-file",
                tg_chat_id=ACCOUNT,
                tg_message_id=1,
                now=NOW,
            )
        await replies.record_outbound(
            session,
            actor=other.li,
            thread_id=inbound.thread.id,
            kind=MessageKind.TEXT,
            text="we have it",
            file_id=None,
            tg_chat_id=ACCOUNT,
            tg_message_id=2,
            now=NOW + timedelta(minutes=5),
        )
        await shops.choose_shop(
            session, tg_user_id=ACCOUNT, workspace_id=shop.workspace.id, now=NOW
        )
        return shop.owner.id, sun.id, elsewhere.id


async def test_the_data_copies_hold_the_conversation(sessions: Sessions) -> None:
    _owner, sun_id, _elsewhere_id = await _conversation(sessions)
    async with unit_of_work(sessions) as session:
        file = await privacy.export_own_data(session, tg_user_id=ACCOUNT, now=NOW)
    assert file is not None
    porcelain, tea = json.loads(file.content)["shops"]
    assert tea["customer_id"] == sun_id
    assert tea["conversation"] == [
        {
            "at": NOW.isoformat(),
            "direction": "in",
            "kind": "photo",
            "text": "this one, 2 cakes",
            "file": True,
        }
    ]
    assert [(m["direction"], m["text"]) for m in porcelain["conversation"]] == [
        ("in", "this one, 2 cakes"),
        ("out", "we have it"),
    ]


async def test_forget_erases_the_conversation_at_that_shop_only(sessions: Sessions) -> None:
    _owner, sun_id, elsewhere_id = await _conversation(sessions)
    later = NOW + timedelta(days=1)
    async with unit_of_work(sessions) as session:
        await privacy.erase_own(session, tg_user_id=ACCOUNT, customer_id=sun_id, now=later)
    async with unit_of_work(sessions) as session:
        rows = await session.execute(
            select(
                ChatMessage.customer_id,
                ChatMessage.text,
                ChatMessage.file_id,
                ChatMessage.erased_at,
            ).order_by(ChatMessage.id)
        )
        assert rows.all() == [
            (sun_id, None, None, later),
            (elsewhere_id, "this one, 2 cakes", "photo-file", None),
            (elsewhere_id, "we have it", None, None),
        ]
        thread = await session.scalar(select(Thread).where(Thread.customer_id == sun_id))
        assert thread is not None
        assert (thread.close_reason, thread.closed_at) == (CloseReason.ERASED, later)
        assert await session.get(ShopChoice, ACCOUNT) is None
        file = await privacy.export_own_data(session, tg_user_id=ACCOUNT, now=later)
        assert file is not None
        (porcelain,) = json.loads(file.content)["shops"]
        assert len(porcelain["conversation"]) == 2


async def test_erase_by_a_manager_blanks_the_history_they_see(sessions: Sessions) -> None:
    owner_id, sun_id, _elsewhere_id = await _conversation(sessions)
    async with unit_of_work(sessions) as session:
        owner = await session.get(Member, owner_id)
        assert owner is not None
        await privacy.erase_customer(session, actor=owner, customer_id=sun_id, now=NOW)
        page = await history.history(session, actor=owner, customer_id=sun_id)
        assert [(e.text, e.file_id, e.erased, e.kind) for e in page.entries] == [
            (None, None, True, MessageKind.PHOTO)
        ]


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migration_0009_upgrades_and_downgrades(empty_db_url: str) -> None:
    url = empty_db_url
    await migrate.upgrade_async(url, "0008")
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert not INBOX_TABLES & await conn.run_sync(_tables)
        await migrate.upgrade_async(url, "0009")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) >= INBOX_TABLES
        await asyncio.to_thread(command.downgrade, migrate.alembic_config(url), "0008")
        async with engine.connect() as conn:
            tables = await conn.run_sync(_tables)
            assert not INBOX_TABLES & tables
            assert "customer" in tables
        await migrate.upgrade_async(url)
    finally:
        await engine.dispose()
