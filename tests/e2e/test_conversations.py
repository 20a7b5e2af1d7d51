"""Customers talk to the shop end to end: every kind of message reaches the rep, answers return."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.harness import (
    BotOptions,
    Emulator,
    Person,
    Workspace,
    create_workspace,
    execute,
    query,
)
from tests.e2e.test_surveys import tiny_png
from tests.e2e.test_transfer import download, join_team

OWNER, LI, MA, SUN, STRANGER = 1001, 1002, 1101, 2001, 3001
BUTTONS = ["↩️ Reply", "📇 Card", "📝 Log", "✅ Done"]
PNG = base64.b64encode(tiny_png()).decode()


def labels(message: dict[str, Any]) -> list[str]:
    """Return the labels of a message's buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def new_messages(emu: Emulator, person: Person, count: int) -> list[dict[str, Any]]:
    """Wait for ``count`` new bot messages in the person's chat and return them."""
    got: list[dict[str, Any]] = []
    for _ in range(20):
        batch = await emu.messages(person.id, after=person.cursor, wait=2, min_count=1)
        for message in batch:
            person.cursor = max(person.cursor, int(message["seq"]))
            if message.get("from_bot"):
                got.append(message)
        if len(got) >= count:
            return got
    msg = f"{person.first_name} got {len(got)} of {count} messages: {got!r}"
    raise AssertionError(msg)


async def customer_sends(emu: Emulator, person: Person, kind: str, **body: Any) -> int:
    """Send a message of ``kind`` from ``person``; return its id in their chat."""
    if kind == "text":
        sent = await emu.post("send", user_id=person.id, first_name=person.first_name, **body)
    else:
        sent = await emu.post(kind, user_id=person.id, **body)
    return int(sent["message_id"])


async def join_customer(person: Person, slug: str) -> dict[str, Any]:
    """Join the shop by its link and say yes to messages; return the confirmation."""
    await person.send(f"/start w_{slug}")
    await person.expect("May we send you messages")
    await person.press("Yes")
    return await person.expect("You're subscribed")


def closed_now(db: Path) -> str:
    """Set the shop's opening hours to start in two hours; return the opening time."""
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    start, end = local + timedelta(hours=2), local + timedelta(hours=3)
    execute(
        db,
        "INSERT INTO inbox_settings (workspace_id, open_from, open_until, sign_replies,"
        " updated_at) VALUES (1, ?, ?, 1, '2026-11-20 08:00:00')",
        start.strftime("%H:00"),
        end.strftime("%H:00"),
    )
    return start.strftime("%H:00")


KINDS: list[tuple[str, dict[str, Any], bool]] = [
    # (endpoint, body, whether the copy carries the who-line as its caption)
    ("photo", {"file_name": "cake.png", "content_base64": PNG, "caption": "this one?"}, True),
    ("voice", {"duration": 3}, True),
    ("video", {"duration": 5, "caption": "the tin"}, True),
    (
        "document",
        {"file_name": "order.txt", "content_base64": base64.b64encode(b"2 cakes").decode()},
        True,
    ),
    ("sticker", {"emoji": "🍵"}, False),
    ("location", {"latitude": 30.25, "longitude": 120.16}, False),
    ("contact", {"phone_number": "+8613800138000", "first_name": "Sun"}, False),
    ("video_note", {"length": 240}, False),
    ("audio", {"title": "Tea song"}, True),
    ("animation", {"caption": "yay"}, True),
]


async def test_every_kind_reaches_the_rep_and_answers_come_back(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    await start_bot(options)
    owner, li, sun = person(OWNER, "Wang"), person(LI, "Li"), person(SUN, "Sun")
    await join_team(owner, li, workspace)
    await owner.expect("Li joined the shop as staff")
    await li.send("/mylink")
    link = await li.expect("Your personal link")
    await sun.send(f"/start {link['text'].split('?start=')[1].split()[0]}")
    await sun.expect("May we send you messages")
    await sun.press("Yes")
    await sun.expect("You're subscribed")
    # Li hears of it first (joined, agreed): the relay checks below count from there.
    await li.expect("Sun agreed to get messages")
    db = options.db_path
    [(customer_id,)] = query(db, "SELECT id FROM customer WHERE tg_user_id = ?", SUN)
    opening = closed_now(db)
    [(joined_contact,)] = query(
        db, "SELECT last_contact_at FROM customer WHERE id = ?", customer_id
    )

    # A stranger is told how to join instead of "I didn't catch that".
    stranger = person(STRANGER, "Zhao")
    await stranger.send("do you sell pu'er?")
    await stranger.expect("To join a shop, open the link the shop gave you.")

    # Text: a copy with the buttons, and the who-line in a notice answering it.
    asked = await customer_sends(emu, sun, "text", text="do you have aged pu'er? 2 cakes")
    copy, notice = await new_messages(emu, li, 2)
    assert copy["copy_of"] == {"chat_id": SUN, "message_id": asked}
    assert copy["text"] == "do you have aged pu'er? 2 cakes"
    assert labels(copy) == BUTTONS
    assert notice["reply_to_message_id"] == copy["message_id"]
    assert f"💬 Sun (#{customer_id}) · tier — · stage new · last contact" in notice["text"]
    ack = await sun.expect("will answer you here")
    assert ack["text"].startswith("🙌 Wang's Tea House is closed now. Li will answer you here")
    assert opening in ack["text"]
    assert await owner.quiet(0.5) == []

    # Every other kind arrives as itself, copied, with the buttons.
    for kind, body, captioned in KINDS:
        sent = await customer_sends(emu, sun, kind, **body)
        got = await new_messages(emu, li, 1 if captioned else 2)
        assert got[0]["kind"] == kind, kind
        assert got[0]["copy_of"] == {"chat_id": SUN, "message_id": sent}, kind
        assert labels(got[0]) == BUTTONS, kind
        who = got[0]["text"] if captioned else got[1]["text"]
        assert f"Sun (#{customer_id})" in who, kind
        if body.get("caption"):
            assert body["caption"] in got[0]["text"], kind
    assert await sun.quiet(0.5) == []  # one acknowledgement per conversation
    assert query(db, "SELECT kind FROM chat_message ORDER BY id") == [
        ("text",),
        *[(kind,) for kind, _, _ in KINDS],
    ]
    [(last_contact,)] = query(db, "SELECT last_contact_at FROM customer WHERE id = ?", customer_id)
    assert last_contact is not None
    assert joined_contact is None or last_contact > joined_contact

    # Li swipes to reply to the text's copy.
    await emu.post(
        "send", user_id=LI, text="Yes, 2015 vintage!", reply_to_message_id=copy["message_id"]
    )
    answer = await sun.expect("Yes, 2015 vintage!")
    assert answer["text"] == "Yes, 2015 vintage!\n\n— Li"
    await li.expect("Sent ✓")

    # ↩️ Reply, then a photo: it arrives as a photo with its caption, signed.
    await li.press("Reply", copy)
    await li.expect("Send your reply to Sun")
    photo = await customer_sends(
        emu, li, "photo", file_name="tin.png", content_base64=PNG, caption="like this"
    )
    shown = await sun.expect("like this")
    assert shown["kind"] == "photo"
    assert shown["copy_of"] == {"chat_id": LI, "message_id": photo}
    assert shown["text"] == "like this\n\n— Li"
    await li.expect("Sent ✓")

    # Done, then logged as a chat follow-up in one tap.
    await li.press("Done", copy)
    await li.expect("Conversation closed")
    await li.press("Log as chat follow-up")
    await li.expect("Logged as a chat follow-up with Sun")
    assert query(db, "SELECT channel, customer_id FROM follow_up") == [("chat", customer_id)]

    # The history is in the customer's copy of their data, and gone after /forget.
    await sun.send("/mydata")
    copy_of_data = await sun.expect("Everything the shops keep about you")
    (shop,) = json.loads((await download(copy_of_data)).decode("utf-8"))["shops"]
    conversation = shop["conversation"]
    assert [(m["direction"], m["kind"]) for m in conversation][:2] == [
        ("in", "text"),
        ("in", "photo"),
    ]
    assert conversation[0]["text"] == "do you have aged pu'er? 2 cakes"
    assert [(m["direction"], m["kind"], m["text"]) for m in conversation[-2:]] == [
        ("out", "text", "Yes, 2015 vintage!"),
        ("out", "photo", "like this"),
    ]
    await sun.send("/forget")
    await sun.expect("Erase your personal data at")
    await sun.press("Yes, erase it")
    await sun.expect("no longer keeps your personal data")
    assert query(
        db, "SELECT count(*) FROM chat_message WHERE text IS NOT NULL OR file_id IS NOT NULL"
    ) == [(0,)]
    await sun.send("/mydata")
    await sun.expect("No shop keeps data about you here")


async def test_stop_campaign_replies_two_shops_and_a_blocked_customer(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    porcelain = await create_workspace(options, name="Li's Porcelain")
    await start_bot(options)
    owner, ma, sun = person(OWNER, "Wang"), person(MA, "Ma"), person(SUN, "Sun")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await ma.send(f"/start {porcelain.owner_payload}")
    await ma.expect("Welcome to")
    subscribed = await join_customer(sun, workspace.slug)
    db = options.db_path
    [(customer_id,)] = query(db, "SELECT id FROM customer WHERE tg_user_id = ?", SUN)
    # The confirmation stands for a campaign message the shop sent Sun.
    execute(
        db,
        "INSERT INTO campaign (workspace_id, name, kind, template_key, audience, send_time,"
        " status, created_at) VALUES (1, 'Autumn tasting', 'broadcast', 'holiday', '{}',"
        " '10:00', 'done', '2026-11-20 08:00:00')",
    )
    execute(
        db,
        "INSERT INTO campaign_run (workspace_id, campaign_id, occurrence, template_key, status,"
        " paid_broadcast, scheduled_for, materialised_at, total, error_streak, created_at,"
        " reported_at) VALUES (1, 1, 'once', 'holiday', 'finished', 0, '2026-11-20 08:00:00',"
        " '2026-11-20 08:00:00', 1, 0, '2026-11-20 08:00:00', '2026-11-20 08:00:00')",
    )
    execute(
        db,
        "INSERT INTO outbox_message (workspace_id, run_id, customer_id, status, attempts,"
        " tg_message_id, sent_at, updated_at) VALUES (1, 1, ?, 'sent', 1, ?,"
        " '2026-11-20 08:00:00', '2026-11-20 08:00:00')",
        customer_id,
        subscribed["message_id"],
    )

    # After /stop Sun still writes, in reply to the campaign, and is answered.
    await sun.send("/stop")
    await sun.expect("You won't get messages from Wang's Tea House")
    await emu.post(
        "send",
        user_id=SUN,
        text="is the tasting on Sunday?",
        reply_to_message_id=subscribed["message_id"],
    )
    copy, notice = await new_messages(emu, owner, 2)
    assert copy["text"] == "is the tasting on Sunday?"
    assert "In reply to the campaign Autumn tasting" in notice["text"]
    await sun.expect("will answer you here")
    await emu.post(
        "send", user_id=OWNER, text="Yes, at 3 pm", reply_to_message_id=notice["message_id"]
    )
    answer = await sun.expect("Yes, at 3 pm")
    assert answer["text"] == "Yes, at 3 pm\n\n— Wang"
    await owner.expect("Sent ✓")
    assert query(db, "SELECT consent FROM customer WHERE id = ?", customer_id) == [("opted_out",)]
    # A conversation reply is no campaign message: the cap counts only the outbox.
    assert query(db, "SELECT count(*) FROM outbox_message") == [(1,)]
    await owner.press("Done", copy)
    await owner.expect("Conversation closed")

    # A customer of two shops is asked which one, and the choice sticks.
    await join_customer(sun, porcelain.slug)
    await emu.post("send", user_id=SUN, text="a blue cup, please")
    question = await sun.expect("Which shop is this message for?")
    assert labels(question) == ["Li's Porcelain", "Wang's Tea House"]
    await sun.press("Li's Porcelain", question)
    await sun.expect("For Li's Porcelain")
    to_ma, _who = await new_messages(emu, ma, 2)
    assert to_ma["text"] == "a blue cup, please"
    await emu.post("send", user_id=SUN, text="the small one")
    (again, _who) = await new_messages(emu, ma, 2)
    assert again["text"] == "the small one"
    assert await owner.quiet(0.5) == []

    # A reply to a customer who blocked the bot says so to the member.
    await emu.post("block", user_id=SUN)
    await emu.post("send", user_id=MA, text="We have two", reply_to_message_id=again["message_id"])
    await ma.expect("Sun blocked the bot, so the reply was not delivered")
