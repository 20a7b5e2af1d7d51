"""Customers talk to the shop: their messages reach a member, the member's answer reaches them."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from bot.crm.inbox import relays
from bot.crm.models import MessageKind, RelayRole
from bot.crm.store import SQLITE_BUSY_TIMEOUT_MS, engine_of
from bot.errors import Blocked
from bot.handlers.inbox import ChooseShop
from bot.messaging import FileRef, Incoming, Kind, User
from tests.e2e.harness import Workspace, execute, query
from tests.e2e.test_pipeline import CHEN, LI, OWNER, ZHOU, seed_customer
from tests.handlers.chat import ChatBot, Person, open_shop

SUN = 2001
_ids = itertools.count(500)


def link(chat: ChatBot, customer_id: int, tg: int) -> None:
    """Give a seeded customer a Telegram account and chat."""
    execute(
        chat.db_path,
        "UPDATE customer SET tg_user_id = ?, chat_id = ? WHERE id = ?",
        tg,
        tg,
        customer_id,
    )


async def write(
    chat: ChatBot,
    tg: int,
    kind: Kind = Kind.TEXT,
    text: str = "",
    *,
    caption: str | None = None,
    reply_to: int | None = None,
    name: str = "Sun",
    language_code: str = "en",
) -> int:
    """Send a message of any kind from ``tg``; return its id in their chat."""
    message_id = next(_ids)
    file = FileRef(f"file-{message_id}") if kind not in (Kind.TEXT,) else None
    await chat.handle(
        Incoming(
            chat.next_update_id(),
            kind,
            tg,
            User(id=tg, first_name=name, language_code=language_code),
            text=text or (caption or ""),
            file=file,
            own_message_id=message_id,
            caption=caption,
            reply_to_message_id=reply_to,
        )
    )
    return message_id


def texts(chat: ChatBot, tg: int) -> list[str]:
    """Return what the bot sent to ``tg`` (texts and captions)."""
    return [m.get("text") or m.get("caption") or "" for m in chat.messenger.chats[tg]]


def copies_to(chat: ChatBot, tg: int) -> list[dict[str, Any]]:
    """Return the copies the bot sent to ``tg``."""
    return [m for m in chat.messenger.chats[tg] if "copy_of" in m]


def labels(message: dict[str, Any]) -> list[str]:
    """Return the labels of a message's buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def test_customer_text_reaches_the_rep_and_the_reply_comes_back(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)

    sent = await write(chat, SUN, text="do you have aged pu'er? I'd like 2 cakes")
    [copy] = copies_to(chat, LI)
    assert copy["copy_of"] == {"chat_id": SUN, "message_id": sent}
    assert labels(copy) == ["↩️ Reply", "📇 Card", "📝 Log", "✅ Done"]
    notice = chat.messenger.chats[LI][-1]
    assert notice["reply_to_message_id"] == copy["message_id"]
    assert f"Sun (#{sun})" in notice["text"]
    assert "stage new" in notice["text"]
    assert texts(chat, SUN) == ["🙌 Li from Wang's Tea House will answer you here."]
    assert copies_to(chat, OWNER) == []

    await write(chat, SUN, text="and a tea tray")
    assert len(copies_to(chat, LI)) == 2
    assert len(texts(chat, SUN)) == 1  # no second acknowledgement

    # Li swipes to reply to the copy.
    await write(chat, LI, text="Yes, 2015 vintage!", reply_to=copy["message_id"], name="Li")
    assert texts(chat, SUN)[-1] == "Yes, 2015 vintage!\n\n— Li"
    assert texts(chat, LI)[-1] == "Sent ✓"
    assert query(chat.db_path, "SELECT direction, text FROM chat_message ORDER BY id") == [
        ("in", "do you have aged pu'er? I'd like 2 cakes"),
        ("in", "and a tea tray"),
        ("out", "Yes, 2015 vintage!"),
    ]

    # And with the ↩️ Reply button, then /cancel and Done.
    await crew.li.press("Reply", copy)
    await crew.li.expect("Send your reply to Sun")
    await crew.li.send("Shall I deliver tomorrow?")
    assert texts(chat, SUN)[-1] == "Shall I deliver tomorrow?\n\n— Li"
    await crew.li.press("Reply", copy)
    await crew.li.expect("Send your reply to Sun")
    voice = await write(chat, LI, Kind.VOICE, name="Li")
    assert copies_to(chat, SUN)[-1]["copy_of"] == {"chat_id": LI, "message_id": voice}
    assert copies_to(chat, SUN)[-1]["caption"] == "— Li"
    await crew.li.press("Reply", copy)
    await crew.li.expect("Send your reply to Sun")
    before = len(texts(chat, SUN))
    await crew.li.send("/cancel")
    await crew.li.expect("cancelled")
    assert len(texts(chat, SUN)) == before

    await crew.li.press("Done", copy)
    await crew.li.expect("Conversation closed")
    assert query(chat.db_path, "SELECT status FROM chat_thread") == [("closed",)]
    await crew.li.press("Log as chat follow-up")
    await crew.li.expect("Logged as a chat follow-up with Sun")
    assert query(chat.db_path, "SELECT channel FROM follow_up") == [("chat",)]


async def test_media_is_copied_with_the_who_line(chat: ChatBot, workspace: Workspace) -> None:
    await open_shop(chat, workspace)
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)

    photo = await write(chat, SUN, Kind.PHOTO, caption="this one?")
    voice = await write(chat, SUN, Kind.VOICE)
    sticker = await write(chat, SUN, Kind.STICKER)
    photo_copy, voice_copy, sticker_copy = copies_to(chat, LI)
    assert photo_copy["copy_of"]["message_id"] == photo
    assert f"Sun (#{sun})" in photo_copy["caption"]
    assert "this one?" in photo_copy["caption"]
    assert voice_copy["copy_of"]["message_id"] == voice
    assert f"Sun (#{sun})" in voice_copy["caption"]
    assert sticker_copy["copy_of"]["message_id"] == sticker
    assert sticker_copy["caption"] is None
    assert labels(sticker_copy) == ["↩️ Reply", "📇 Card", "📝 Log", "✅ Done"]
    assert query(chat.db_path, "SELECT kind FROM chat_message ORDER BY id") == [
        ("photo",),
        ("voice",),
        ("sticker",),
    ]


async def test_without_an_owner_the_managers_get_it(chat: ChatBot, workspace: Workspace) -> None:
    await open_shop(chat, workspace, admin=True)
    sun = seed_customer(chat.db_path, "Sun", None)
    link(chat, sun, SUN)

    await write(chat, SUN, text="hello?")
    assert len(copies_to(chat, OWNER)) == 1
    assert len(copies_to(chat, ZHOU)) == 1
    assert copies_to(chat, LI) == []


async def test_outside_hours_the_acknowledgement_says_when(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    start, end = local + timedelta(hours=2), local + timedelta(hours=3)
    execute(
        chat.db_path,
        "INSERT INTO inbox_settings "
        "(workspace_id, open_from, open_until, sign_replies, updated_at) "
        "VALUES (1, ?, ?, 0, '2026-11-20 08:00:00')",
        start.strftime("%H:00"),
        end.strftime("%H:00"),
    )

    await write(chat, SUN, text="are you open?")
    [ack] = texts(chat, SUN)
    assert "Wang's Tea House is closed now. Li will answer you here from" in ack
    assert start.strftime("%H:00") in ack

    # The shop turned signatures off.
    [copy] = copies_to(chat, LI)
    await write(chat, LI, text="Tomorrow at nine", reply_to=copy["message_id"], name="Li")
    assert texts(chat, SUN)[-1] == "Tomorrow at nine"


HINT = (
    "👋 I don't know which shop you're with yet. To join a shop, open the link the shop gave you."
)


async def test_a_stranger_gets_the_hint(chat: ChatBot, person: Callable[..., Person]) -> None:
    await write(chat, 3001, text="do you have aged pu'er?")
    await write(chat, 3001, Kind.PHOTO, caption="this one")
    assert texts(chat, 3001) == [HINT, HINT]
    assert chat.messenger.copies == []
    assert query(chat.db_path, "SELECT count(*) FROM chat_message") == [(0,)]


async def test_a_member_who_is_a_customer_elsewhere_writes_to_that_shop(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    other = await chat.create_workspace("Li's Porcelain")
    boss = chat.person(1101, "Ma")
    await boss.send(f"/start {other.owner_payload}")
    await boss.expect("Welcome to")
    # Li, staff at the tea house, joins the porcelain shop through its link.
    await crew.li.send(f"/start w_{other.slug}")
    await crew.li.expect("Li's Porcelain")
    [(li_there,)] = query(
        chat.db_path, "SELECT id FROM customer WHERE workspace_id = 2 AND tg_user_id = ?", LI
    )
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)
    await write(chat, SUN, text="a cake of pu'er, please")
    [copy] = copies_to(chat, LI)

    # A plain message is Li's, as a customer of the porcelain shop.
    sent = await write(chat, LI, text="is the blue teapot in stock?", name="Li")
    [to_boss] = copies_to(chat, 1101)
    assert to_boss["copy_of"] == {"chat_id": LI, "message_id": sent}
    assert f"Li (#{li_there})" in chat.messenger.chats[1101][-1]["text"]
    assert texts(chat, LI)[-1] == "🙌 Li's Porcelain will answer you here."
    assert "Sun" not in texts(chat, 1101)[-1]

    # A swipe-reply to the relayed copy still answers Sun.
    await write(chat, LI, text="Yes, 2015 vintage!", reply_to=copy["message_id"], name="Li")
    assert texts(chat, SUN)[-1] == "Yes, 2015 vintage!\n\n— Li"
    # And Ma's answer reaches Li in the chat Li writes from.
    await write(chat, 1101, text="Yes, two left", reply_to=to_boss["message_id"], name="Ma")
    assert texts(chat, LI)[-1] == "Yes, two left\n\n— Ma"
    assert query(
        chat.db_path,
        "SELECT workspace_id, customer_id, direction FROM chat_message ORDER BY id",
    ) == [(1, sun, "in"), (2, li_there, "in"), (1, sun, "out"), (2, li_there, "out")]

    # Sun's conversation is handed to Chen: Li's answer to the old copy goes nowhere,
    # and certainly not to the porcelain shop.
    execute(
        chat.db_path,
        "UPDATE chat_thread SET assignee_member_id = (SELECT id FROM member WHERE tg_user_id = ?)"
        " WHERE customer_id = ?",
        CHEN,
        sun,
    )
    execute(chat.db_path, "UPDATE customer SET owner_member_id = NULL WHERE id = ?", sun)
    await write(chat, LI, text="Anything else?", reply_to=copy["message_id"], name="Li")
    assert texts(chat, LI)[-1] == "I didn't catch that. Send /help to see what I can do."
    assert len(copies_to(chat, 1101)) == 1
    assert texts(chat, SUN)[-1] == "Yes, 2015 vintage!\n\n— Li"


async def test_a_member_with_no_other_shop_still_gets_the_usual_answer(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    await crew.li.send("hello")
    await crew.li.expect("I didn't catch that")
    assert chat.messenger.copies == []


async def test_a_customer_of_two_shops_chooses(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)
    other = await chat.create_workspace("Li's Porcelain")
    boss = chat.person(1101, "Ma")
    await boss.send(f"/start {other.owner_payload}")
    await boss.expect("Welcome to")
    execute(
        chat.db_path,
        "INSERT INTO customer (workspace_id, name, kind, consent, reachable, source, stage, "
        "score, created_at, updated_at, tg_user_id, chat_id) "
        "VALUES (2, 'Sun', 'lead', 'unknown', 1, 'staff', 'new', 0, "
        "'2026-11-20 08:00:00', '2026-11-20 08:00:00', ?, ?)",
        SUN,
        SUN,
    )
    del crew

    sent = await write(chat, SUN, text="a cup, please")
    assert copies_to(chat, LI) == []
    question = chat.messenger.chats[SUN][-1]
    assert question["text"] == "Which shop is this message for?"
    assert labels(question) == ["Li's Porcelain", "Wang's Tea House"]
    sun_person = chat.person(SUN, "Sun")
    await sun_person.press("Li's Porcelain", question)
    [copy] = copies_to(chat, 1101)
    assert copy["copy_of"]["message_id"] == sent

    await write(chat, SUN, text="blue, if you have it")
    assert len(copies_to(chat, 1101)) == 2
    assert copies_to(chat, LI) == []


async def test_media_answers_and_a_blocked_customer(
    chat: ChatBot, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    await open_shop(chat, workspace)
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)
    await write(chat, SUN, text="what does it look like?")
    [copy] = copies_to(chat, LI)

    photo = await write(
        chat, LI, Kind.PHOTO, caption="like this", reply_to=copy["message_id"], name="Li"
    )
    [answer] = copies_to(chat, SUN)
    assert answer["copy_of"] == {"chat_id": LI, "message_id": photo}
    assert answer["caption"] == "like this\n\n— Li"
    assert texts(chat, LI)[-1] == "Sent ✓"

    async def blocked(*args: Any, **kwargs: Any) -> Any:
        raise Blocked("Forbidden: bot was blocked by the user")

    sent_before = len(texts(chat, SUN))
    real = chat.messenger.send_text

    async def send_text(chat_id: int, *args: Any, **kwargs: Any) -> Any:
        if chat_id == SUN:
            return await blocked()
        return await real(chat_id, *args, **kwargs)

    monkeypatch.setattr(chat.messenger, "send_text", send_text)
    await write(chat, LI, text="still there?", reply_to=copy["message_id"], name="Li")
    assert len(texts(chat, SUN)) == sent_before
    assert texts(chat, LI)[-1] == "⚠️ Sun blocked the bot, so the reply was not delivered."
    assert query(chat.db_path, "SELECT count(*) FROM chat_message WHERE direction = 'out'") == [
        (1,)
    ]


async def test_the_acknowledgement_speaks_the_customers_language(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)
    await write(chat, SUN, text="有老普洱吗？", language_code="zh-CN")
    assert texts(chat, SUN) == ["🙌 Wang's Tea House的Li会在这里回复您。"]
    assert len(copies_to(chat, LI)) == 1


async def test_relays_recorded_at_once_share_a_transaction(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)
    await write(chat, SUN, text="hello?")
    [(thread_id,)] = query(chat.db_path, "SELECT id FROM chat_thread")
    [(li_id,)] = query(chat.db_path, "SELECT id FROM member WHERE tg_user_id = ?", LI)
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    sync_engine = engine_of(chat.sessions).sync_engine
    event.listen(sync_engine, "commit", committed)
    try:
        await asyncio.gather(
            *(
                relays.record_relays_together(
                    chat.sessions,
                    [relays.RelayRow(1, thread_id, li_id, LI, 9000 + n, RelayRole.NOTICE)],
                )
                for n in range(20)
            )
        )
    finally:
        event.remove(sync_engine, "commit", committed)
    assert len(commits) <= 2
    assert query(
        chat.db_path, "SELECT count(*) FROM chat_relay WHERE staff_message_id >= 9000"
    ) == [(20,)]
    # A swipe-reply to any of them finds the conversation.
    await write(chat, LI, text="Yes!", reply_to=9013, name="Li")
    assert texts(chat, SUN)[-1] == "Yes!\n\n— Li"


async def test_buttons_of_a_conversation_outside_ones_reach_answer_expired(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    other = await chat.create_workspace("Li's Porcelain")
    boss = chat.person(1101, "Ma")
    await boss.send(f"/start {other.owner_payload}")
    await boss.expect("Welcome to")
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)
    await write(chat, SUN, text="hello?")
    [copy] = copies_to(chat, LI)

    # Another shop's owner, and staff whose customer it is not, get "expired" and nothing else.
    for outsider in (boss, crew.chen):
        for label in ("Done", "Reply", "Log"):
            sent_before = len(chat.messenger.chats[outsider.id])
            await outsider.press(label, copy)
            [(callback_id, answer, _alert)] = chat.messenger.answers[-1:]
            assert chat.answer_to(callback_id) == answer
            assert answer == "This button has expired."
            assert len(chat.messenger.chats[outsider.id]) == sent_before
    assert query(chat.db_path, "SELECT status FROM chat_thread") == [("open",)]
    assert query(chat.db_path, "SELECT count(*) FROM follow_up") == [(0,)]

    # A member of the shop pressing "which shop" for their own shop: expired too.
    question = {
        "message_id": 1,
        "reply_markup": {
            "inline_keyboard": [
                [
                    {
                        "text": "Wang's Tea House",
                        "callback_data": ChooseShop(
                            workspace_id=1, kind=MessageKind.TEXT, message_id=5
                        ).pack(),
                    }
                ]
            ]
        },
    }
    await crew.chen.press("Wang's Tea House", question)
    assert chat.messenger.answers[-1][1] == "This button has expired."
    assert len(copies_to(chat, LI)) == 1


async def test_a_message_that_waits_out_the_write_lock_is_still_relayed(
    chat: ChatBot, workspace: Workspace
) -> None:
    # Another writer (an import, a second process) holds SQLite's write lock for longer
    # than the busy timeout: the customer's message is handled again, not lost.
    await open_shop(chat, workspace)
    sun = seed_customer(chat.db_path, "Tea & Co", LI)
    link(chat, sun, SUN)
    held = threading.Event()

    def hold_the_lock() -> None:
        other = sqlite3.connect(chat.db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(SQLITE_BUSY_TIMEOUT_MS / 1000 + 0.6)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert held.wait(5)
    await write(chat, SUN, text="still there?")
    holder.join()

    [copy] = copies_to(chat, LI)
    assert copy["copy_of"]["chat_id"] == SUN
    # The name is escaped once for Telegram's HTML, not twice.
    assert "💬 Tea & Co (#" in chat.messenger.chats[LI][-1]["text"]
    assert texts(chat, SUN) == ["🙌 Li from Wang's Tea House will answer you here."]
