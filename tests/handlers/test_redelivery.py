"""A redelivered update is handled once, also when both copies arrive at the same moment."""

from __future__ import annotations

import asyncio

from bot.messaging import Incoming, Kind, User
from tests.e2e.harness import Workspace
from tests.e2e.test_pipeline import LI
from tests.handlers.chat import ChatBot, open_shop


async def test_the_same_update_twice_gets_one_answer(chat: ChatBot, workspace: Workspace) -> None:
    await open_shop(chat, workspace)
    before = len(chat.messenger.chats[LI])
    user = User(id=LI, first_name="Li", language_code="en")
    update = Incoming(chat.next_update_id(), Kind.COMMAND, LI, user, "/today", "today", "")
    await chat.handle(update)
    await chat.handle(update)
    assert len(chat.messenger.chats[LI]) == before + 1

    # Telegram's retry racing the first delivery: still one answer.
    again = Incoming(chat.next_update_id(), Kind.COMMAND, LI, user, "/today", "today", "")
    await asyncio.gather(chat.handle(again), chat.handle(again))
    assert len(chat.messenger.chats[LI]) == before + 2
    assert "📋" in chat.messenger.chats[LI][-1]["text"]
