"""The inbox desk: /inbox order and waits, /history pages, /transfer, the card's timeline."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.chat.context import AppInfo
from bot.chat.dispatcher import Dispatcher
from bot.crm.models import utcnow
from bot.handlers import ROUTERS
from bot.messaging import Kind
from tests.e2e.harness import Workspace, execute, query
from tests.e2e.test_pipeline import CHEN, LI, OWNER, ZHOU, seed_customer
from tests.handlers.chat import ChatBot, open_shop
from tests.handlers.test_inbox_relay import copies_to, labels, link, texts, write

SUN, QIAN, ZHAO = 2001, 2002, 2003
RIVAL = 1101


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


def on_clock(chat: ChatBot) -> Clock:
    """Run the chat's dispatcher on a clock the test controls, starting now."""
    clock = Clock(utcnow())
    chat.dispatcher = Dispatcher(chat.sessions, AppInfo(), clock=clock, routers=ROUTERS)
    return clock


def customer(chat: ChatBot, name: str, owner_tg: int | None, tg: int) -> int:
    """Seed a customer owned by ``owner_tg`` with a Telegram chat; return their id."""
    customer_id = seed_customer(chat.db_path, name, owner_tg)
    link(chat, customer_id, tg)
    return customer_id


async def test_inbox_lists_the_longest_waiting_first_with_their_waits(
    chat: ChatBot, workspace: Workspace
) -> None:
    clock = on_clock(chat)
    crew = await open_shop(chat, workspace)
    sun = customer(chat, "Sun", LI, SUN)
    qian = customer(chat, "Qian <Tea & Co>", LI, QIAN)
    zhao = customer(chat, "Zhao", LI, ZHAO)

    await crew.li.send("/inbox")
    await crew.li.expect("📭 No open conversations. Nice work!")

    await write(chat, ZHAO, text="first!")
    clock.advance(minutes=1)
    await write(chat, SUN, text="do you have aged pu'er? I'd like 2 cakes, please, by Friday")
    clock.advance(minutes=5)
    await write(chat, QIAN, Kind.PHOTO)
    [zhao_copy, *_] = copies_to(chat, LI)
    await write(chat, LI, text="Hello Zhao!", reply_to=zhao_copy["message_id"], name="Li")
    clock.advance(hours=2, minutes=5)

    await crew.li.send("/inbox")
    inbox = await crew.li.expect("Open conversations: 3 (2 unanswered)")
    text = inbox["text"]
    assert f"1. Sun (#{sun}) · ⏳ waiting 2 h 10 min" in text
    assert f"2. Qian <Tea & Co> (#{qian}) · ⏳ waiting 2 h 5 min" in text
    assert f"3. Zhao (#{zhao}) · ✔️ answered" in text
    assert "👤 do you have aged pu'er? I'd like 2 cakes…\n" in text
    assert "👤 🖼 photo" in text
    assert "🏪 Hello Zhao!" in text
    assert "with Li" not in text  # a rep's own inbox
    assert labels(inbox) == [
        f"↩️ Sun #{sun}",
        "📇 Card",
        f"↩️ Qian <Tea & Co> #{qian}",
        "📇 Card",
        f"↩️ Zhao #{zhao}",
        "📇 Card",
    ]

    # ↩️ on the list answers the customer.
    await crew.li.press(f"Sun #{sun}")
    await crew.li.expect("Send your reply to Sun")
    await crew.li.send("Yes, 2015 vintage!")
    assert texts(chat, SUN)[-1] == "Yes, 2015 vintage!\n\n— Li"
    clock.advance(minutes=1)
    await crew.li.send("/inbox")
    text = (await crew.li.expect("Open conversations: 3 (1 unanswered)"))["text"]
    # Answered ones follow, the least recently active first.
    assert text.index("Qian") < text.index("Zhao") < text.index("Sun")
    assert f"1. Qian <Tea & Co> (#{qian}) · ⏳ waiting 2 h 6 min" in text

    # Chen has none; the owner sees all and who has them, or one rep's.
    await crew.chen.send("/inbox")
    await crew.chen.expect("📭 No open conversations. Nice work!")
    await crew.owner.send("/inbox")
    text = (await crew.owner.expect("Open conversations: 3"))["text"]
    assert f"Qian <Tea & Co> (#{qian}) · ⏳ waiting 2 h 6 min · with Li" in text
    await crew.owner.send("/inbox li")
    await crew.owner.expect("Open conversations: 3", "handled by Li")
    await crew.owner.send("/inbox chen")
    await crew.owner.expect("📭 Chen has no open conversations.")
    await crew.owner.send("/inbox Nobody")
    await crew.owner.expect("I can't find a colleague called “Nobody”")
    await crew.chen.send("/inbox Li")
    await crew.chen.expect("Sorry, your role can't do that.")


async def test_a_long_inbox_pages_with_arrows(chat: ChatBot, workspace: Workspace) -> None:
    clock = on_clock(chat)
    crew = await open_shop(chat, workspace)
    for n in range(10):
        customer(chat, f"Buyer {n}", LI, 3000 + n)
        await write(chat, 3000 + n, text=f"question {n}")
        clock.advance(minutes=1)

    await crew.li.send("/inbox")
    first = await crew.li.expect("Open conversations: 10 (10 unanswered)", "Page 1 of 2")
    assert "1. Buyer 0" in first["text"]
    assert "8. Buyer 7" in first["text"]
    assert "Buyer 8" not in first["text"]
    assert labels(first)[-1] == "▶️"
    await crew.li.press("▶️")
    second = await crew.li.expect("Page 2 of 2")
    assert "9. Buyer 8" in second["text"]
    assert "10. Buyer 9 (#" in second["text"]
    assert "Buyer 7" not in second["text"]
    assert labels(second)[-1] == "◀️"
    await crew.li.press("◀️")
    await crew.li.expect("Page 1 of 2", "1. Buyer 0")


async def test_history_pages_through_every_message_in_and_out(
    chat: ChatBot, workspace: Workspace
) -> None:
    clock = on_clock(chat)
    crew = await open_shop(chat, workspace)
    sun = customer(chat, "Sun", LI, SUN)
    await write(chat, SUN, text="<b>hello</b> & welcome")
    await write(chat, SUN, Kind.PHOTO, caption="this one?")
    await write(chat, SUN, Kind.VOICE)
    await write(chat, SUN, Kind.LOCATION)
    [copy, *_] = copies_to(chat, LI)
    await write(chat, LI, text="Yes, that one", reply_to=copy["message_id"], name="Li")
    await write(chat, SUN, text="secret address")
    execute(
        chat.db_path,
        "UPDATE chat_message SET text = NULL, erased_at = created_at WHERE text = ?",
        "secret address",
    )

    await crew.li.send(f"/history {sun}")
    page = await crew.li.expect(f"Conversation with Sun (#{sun}): 6 messages")
    lines = page["text"].splitlines()[2:]
    assert [line[17:] for line in lines] == [
        "👤 <b>hello</b> & welcome",
        "👤 🖼 this one?",
        "👤 🎤 voice message",
        "👤 📍 location",
        "🏪 Li: Yes, that one",
        "👤 (erased)",
    ]
    # The shop's zone, Asia/Shanghai, is eight hours ahead of UTC all year.
    shanghai = (clock.now + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert lines[0].startswith(shanghai)
    assert labels(page) == ["📇 Open card"]

    # Twenty more: the latest page first, ◀️ Older goes back, Newer ▶️ comes back.
    for n in range(20):
        await write(chat, SUN, text=f"note {n}")
    await crew.li.send(f"/history #{sun}")
    latest = await crew.li.expect("26 messages", "Page 1 of 2, the latest first")
    assert latest["text"].splitlines()[-1].endswith("👤 note 19")
    assert "note 5" in latest["text"]
    assert "note 4" not in latest["text"]
    assert labels(latest) == ["◀️ Older", "📇 Open card"]
    await crew.li.press("◀️ Older")
    older = await crew.li.expect("Page 2 of 2")
    assert "👤 <b>hello</b> & welcome" in older["text"]
    assert older["text"].splitlines()[-1].endswith("👤 note 4")
    assert labels(older) == ["Newer ▶️", "📇 Open card"]
    await crew.li.press("Newer ▶️")
    await crew.li.expect("Page 1 of 2", "note 19")


async def test_history_keeps_to_the_senders_scope_and_asks_for_an_id(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    sun = customer(chat, "Sun", LI, SUN)
    quiet = customer(chat, "Qian", LI, QIAN)
    await write(chat, SUN, text="hello")
    rival = await chat.create_workspace("Rival Teas")
    boss = chat.person(RIVAL, "Ma")
    await boss.send(f"/start {rival.owner_payload}")
    await boss.expect("Welcome to")

    await crew.chen.send(f"/history {sun}")
    await crew.chen.expect(f"I can't find customer #{sun} among yours.")
    await boss.send(f"/history {sun}")
    await boss.expect(f"I can't find customer #{sun} among yours.")
    await crew.owner.send(f"/history {sun}")
    await crew.owner.expect("Conversation with Sun", "👤 hello")
    await crew.li.send(f"/history {quiet}")
    await crew.li.expect(f"No messages with Qian (#{quiet}) yet.")
    for bad in ("/history", "/history abc", "/history 12 13", "/history -4"):
        await crew.li.send(bad)
        await crew.li.expect("Send it like this: /history 12")


async def test_the_card_shows_the_conversation_timeline(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    sun = customer(chat, "Sun", LI, SUN)
    await crew.li.send(f"/card {sun}")
    card = await crew.li.expect(f"Sun (#{sun})")
    assert "💬 Conversation" not in card["text"]

    for n in range(6):
        await write(chat, SUN, text=f"line {n} " + "x" * 80)
    await write(chat, SUN, Kind.DOCUMENT)
    await crew.li.send(f"/card {sun}")
    card = await crew.li.expect("💬 Conversation")
    text = card["text"]
    timeline = text[text.index("💬 Conversation") :].splitlines()[:7]
    assert len(timeline) == 7
    assert "line 1" not in text
    assert timeline[1].startswith("• ")
    assert "👤 line 2 xxx" in timeline[1]
    assert timeline[1].endswith("x…")
    assert len(timeline[1]) < 90
    assert timeline[5].endswith("👤 📎 document")
    assert timeline[6] == f"/history {sun} for all"


async def test_transfer_hands_the_conversation_over_and_the_new_rep_answers(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    sun = customer(chat, "Sun", LI, SUN)
    await write(chat, SUN, text="can someone call me?")

    await crew.li.send(f"/transfer {sun} chen")
    await crew.li.expect(f"🔀 Handed over to Chen: Sun (#{sun}).")
    notice = await crew.chen.expect("🔀 Li handed you a conversation:", f"Sun (#{sun})")
    assert "👤 can someone call me?" in notice["text"]
    # Sun stays Li's customer: Chen answers the conversation without opening the record.
    assert labels(notice) == ["↩️ Reply"]
    assert query(
        chat.db_path,
        "SELECT m.display_name FROM chat_thread t JOIN member m ON m.id = t.assignee_member_id",
    ) == [("Chen",)]

    await crew.chen.press("Reply", notice)
    await crew.chen.expect("Send your reply to Sun")
    await crew.chen.send("I'll call you at three.")
    assert texts(chat, SUN)[-1] == "I'll call you at three.\n\n— Chen"
    # A Telegram reply to the notice answers the customer too.
    await write(chat, CHEN, text="Talk soon", reply_to=notice["message_id"], name="Chen")
    assert texts(chat, SUN)[-1] == "Talk soon\n\n— Chen"

    await crew.li.send("/inbox")
    await crew.li.expect("📭 No open conversations")
    await crew.chen.send("/inbox")
    inbox = await crew.chen.expect("Open conversations: 1", "Sun")
    assert labels(inbox) == [f"↩️ Sun #{sun}"]
    await crew.chen.send(f"/history {sun}")
    page = await crew.chen.expect(f"Conversation with Sun (#{sun}): 3 messages")
    assert labels(page) == []
    # The customer's next message goes to Chen now.
    await write(chat, SUN, text="thanks")
    assert copies_to(chat, CHEN)
    assert len(copies_to(chat, LI)) == 1


async def test_transfer_with_buttons_and_refusals(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    sun = customer(chat, "Sun", LI, SUN)
    qian = customer(chat, "Qian", LI, QIAN)
    await write(chat, SUN, text="hi")

    await crew.chen.send("/transfer")
    await crew.chen.expect("📭 You have no open conversations to hand over.")
    await crew.li.send("/transfer")
    await crew.li.expect("Which conversation do you want to hand over?")
    await crew.li.press(f"Sun #{sun}")
    picker = await crew.li.expect(f"Hand Sun (#{sun}) to whom?")
    assert sorted(labels(picker)) == ["Chen", "Wang"]
    await crew.li.press("Wang")
    await crew.li.expect("Handed over to Wang")
    notice = await crew.owner.expect("Li handed you a conversation:")
    assert labels(notice) == ["↩️ Reply", "📇 Card"]

    # The owner (an admin alike) may move it on; Li no longer handles it.
    await crew.li.send(f"/transfer {sun} Chen")
    await crew.li.expect("Sun's conversation is with Wang now: they or a manager can hand it")
    await crew.owner.send(f"/transfer {sun}")
    picker = await crew.owner.expect("to whom?")
    assert sorted(labels(picker)) == ["Chen", "Li"]
    await crew.owner.send(f"/transfer {sun} Wang")
    await crew.owner.expect("Sun's conversation is with Wang already.")

    for bad in ("/transfer abc Chen", "/transfer Chen 12"):
        await crew.owner.send(bad)
        await crew.owner.expect("Send it like this: /transfer 12 Chen")
    await crew.owner.send(f"/transfer {qian} Chen")
    await crew.owner.expect(f"Customer #{qian} has no open conversation among yours.")
    await crew.owner.send("/transfer 99999 Chen")
    await crew.owner.expect("Customer #99999 has no open conversation among yours.")
    await crew.owner.send(f"/transfer {sun} Nobody")
    await crew.owner.expect("I can't find a colleague called “Nobody”")

    # Another shop's member is nobody here; a member who left is refused.
    rival = await chat.create_workspace("Rival Teas")
    boss = chat.person(RIVAL, "Ma")
    await boss.send(f"/start {rival.owner_payload}")
    await boss.expect("Welcome to")
    await crew.owner.send(f"/transfer {sun} Ma")
    await crew.owner.expect("I can't find a colleague called “Ma”")
    (rival_id,) = query(chat.db_path, "SELECT id FROM member WHERE tg_user_id = ?", RIVAL)[0]
    await crew.owner.send(f"/transfer {sun} {rival_id}")
    await crew.owner.expect(f"I can't find a colleague called “{rival_id}”")
    await boss.send(f"/transfer {sun} Ma")
    await boss.expect(f"Customer #{sun} has no open conversation among yours.")
    execute(chat.db_path, "UPDATE member SET active = 0 WHERE tg_user_id = ?", CHEN)
    await crew.owner.send(f"/transfer {sun} Chen")
    await crew.owner.expect("Chen is no longer in the shop.")
    assert query(
        chat.db_path,
        "SELECT m.tg_user_id FROM chat_thread t JOIN member m ON m.id = t.assignee_member_id",
    ) == [(OWNER,)]


async def test_a_team_admin_sees_their_team_and_chinese_reads_in_chinese(
    chat: ChatBot, workspace: Workspace
) -> None:
    clock = on_clock(chat)
    crew = await open_shop(chat, workspace, admin=True)
    assert crew.zhou is not None
    sun = customer(chat, "Sun", LI, SUN)
    customer(chat, "Qian", CHEN, QIAN)
    execute(
        chat.db_path,
        "INSERT INTO team (id, workspace_id, name, created_at) VALUES (7, 1, 'East', ?)",
        "2026-11-20 08:00:00.000000",
    )
    execute(chat.db_path, "UPDATE member SET team_id = 7 WHERE tg_user_id IN (?, ?)", LI, ZHOU)
    await write(chat, SUN, text="hello")
    await write(chat, QIAN, text="hi there")
    clock.advance(minutes=75)

    await crew.zhou.send("/inbox")
    text = (await crew.zhou.expect("Open conversations: 1 (1 unanswered)"))["text"]
    assert "Sun" in text
    assert "Qian" not in text
    await crew.zhou.send("/inbox Chen")
    await crew.zhou.expect("Chen isn't on your team.")
    await crew.zhou.send("/transfer")
    picker = await crew.zhou.expect("Which conversation do you want to hand over?")
    assert labels(picker) == [f"Sun #{sun}"]
    await crew.zhou.press("Sun")
    picker = await crew.zhou.expect("to whom?")
    assert sorted(labels(picker)) == ["Zhou"]

    li_zh = chat.person(LI, "Li", "zh-CN")
    await li_zh.send("/inbox")
    text = (await li_zh.expect("未结束的对话：1"))["text"]
    assert "⏳ 已等待 1 小时 15 分钟" in text
    assert "📭" not in text
