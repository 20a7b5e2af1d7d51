"""A held campaign run says so, until when and why; /quiet re-times it and Run now sends it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.views.campaign import CampaignAction
from tests.e2e.harness import Workspace, execute, query
from tests.e2e.test_campaigns import customer_id, stamp
from tests.handlers.chat import ChatBot, Controls, Person

pytestmark = pytest.mark.timeout(120)

SHOP_TZ = "Asia/Shanghai"


async def join(person: Person, slug: str) -> None:
    """Join the shop by its link and subscribe."""
    await person.send(f"/start w_{slug}")
    await person.expect("May we send you messages")
    await person.press("Yes")
    await person.expect("You're subscribed")


async def held_broadcast(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> tuple[Person, datetime]:
    """Open a shop with two subscribers and a one-off broadcast whose two rows wait for the
    morning (as the delivery engine leaves them in quiet hours); return the owner and when."""
    owner = person(1001, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    alice, bob = person(3001, "Alice"), person(3002, "Bob")
    await join(alice, workspace.slug)
    await join(bob, workspace.slug)
    db = chat.db_path
    now = datetime.now(UTC)
    morning = now + timedelta(hours=5)
    execute(db, "UPDATE workspace SET timezone = ?", SHOP_TZ)
    execute(
        db,
        "INSERT INTO campaign (workspace_id, name, kind, template_key, audience, send_time,"
        " status, created_at, last_fired_at) VALUES (1, 'Night news', 'broadcast', 'holiday',"
        " '{}', '10:00', 'done', ?, ?)",
        stamp(now),
        stamp(now),
    )
    execute(
        db,
        "INSERT INTO campaign_run (workspace_id, campaign_id, occurrence, template_key,"
        " status, paid_broadcast, scheduled_for, materialised_at, total, error_streak,"
        " created_at) VALUES (1, 1, 'once', 'holiday', 'running', 0, ?, ?, 2, 0, ?)",
        stamp(now),
        stamp(now),
        stamp(now),
    )
    for who in (alice, bob):
        execute(
            db,
            "INSERT INTO outbox_message (workspace_id, run_id, customer_id, status, reason,"
            " attempts, not_before_at, updated_at) VALUES (1, 1, ?, 'pending', 'quiet_hours',"
            " 0, ?, ?)",
            customer_id(db, who.id),
            stamp(morning),
            stamp(now),
        )
    return owner, morning


def hhmm(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(SHOP_TZ)).strftime("%H:%M")


async def test_a_held_run_says_until_when_and_why_everywhere(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    owner, morning = await held_broadcast(chat, workspace, person)
    held = f"⏸ held until {hhmm(morning)} — quiet hours 21:00–09:00"
    await owner.send("/campaign 1")
    shown = await owner.expect(f"Status: {held}", "sent 0 of 2 · waiting 2")
    assert "Status: sent" not in shown["text"]
    await owner.send("/campaigns")
    await owner.expect("Night news", held)


async def test_quiet_off_releases_the_held_rows_at_once(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    owner, _ = await held_broadcast(chat, workspace, person)
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")
    assert query(chat.db_path, "SELECT not_before_at, reason FROM outbox_message") == [
        (None, None),
        (None, None),
    ]
    await owner.send("/campaign 1")
    await owner.expect("Status: ⏳ queued", "waiting 2")


async def test_run_now_on_a_held_run_asks_then_sends(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    owner, _ = await held_broadcast(chat, workspace, person)
    await owner.send("/campaign 1")
    await owner.expect("held until")
    await owner.press("🚀 Run now")
    await owner.expect("It is night for these customers: send anyway?")
    await owner.press("🚀 Yes, send now")
    await owner.expect("Sending 2 waiting messages now (run #1).")
    rows = query(
        chat.db_path,
        "SELECT reason, not_before_at <= ? FROM outbox_message",
        stamp(datetime.now(UTC)),
    )
    assert rows == [("send_anyway", 1), ("send_anyway", 1)]
    assert query(
        chat.db_path, "SELECT count(*) FROM audit_log WHERE action = 'campaign.send_held'"
    ) == [(1,)]
    await owner.send("/campaign 1")
    await owner.expect("Status: ⏳ queued", "waiting 2")
    # Nothing is held any more: the button asks nothing and shows the campaign again.
    await owner.press("🔄 Refresh")
    await owner.expect("Night news")


async def test_the_held_run_buttons_of_another_shop_have_expired(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person], emu: Controls
) -> None:
    owner, _ = await held_broadcast(chat, workspace, person)
    other = await chat.create_workspace("Li's Noodle Bar")
    stranger = person(2001, "Li")
    await stranger.send(f"/start {other.owner_payload}")
    await stranger.expect("Welcome to")
    for action in ("h", "hy"):
        pressed = await emu.post(
            "callback",
            user_id=2001,
            data=CampaignAction(action=action, campaign_id=1).pack(),
            message_id=1,
        )
        assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."
    assert await stranger.quiet() == []
    assert query(chat.db_path, "SELECT DISTINCT reason FROM outbox_message") == [("quiet_hours",)]


async def test_the_status_and_the_question_read_in_chinese(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    owner, morning = await held_broadcast(chat, workspace, person)
    await owner.send("/lang zh-CN")
    await owner.send("/campaign 1")
    await owner.expect(f"⏸ 暂缓至 {hhmm(morning)} — 免打扰时段 21:00–09:00")
    await owner.press("🚀")
    await owner.expect("这些客户那里现在是夜间：仍要发送吗？")


async def test_new_quiet_hours_and_a_new_cap_re_time_the_held_rows_at_once(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    owner, _ = await held_broadcast(chat, workspace, person)
    local = datetime.now(UTC).astimezone(ZoneInfo(SHOP_TZ))
    start, end = f"{(local.hour - 1) % 24:02d}:00", f"{(local.hour + 2) % 24:02d}:00"
    await owner.send(f"/quiet {start}-{end}")
    await owner.expect(f"Quiet hours: {start}–{end}")
    await owner.send("/campaign 1")
    await owner.expect(f"Status: ⏸ held until {end} — quiet hours {start}–{end}")
    await owner.send("/cap 3 7")
    await owner.expect("at most 3 campaign messages in 7 days")
    await owner.send("/campaign 1")
    await owner.expect(f"Status: ⏸ held until {end} — quiet hours {start}–{end}")
    # A window that is over now lets them go at once.
    await owner.send(f"/quiet {end}-{(local.hour + 3) % 24:02d}:00")
    await owner.send("/campaign 1")
    await owner.expect("Status: ⏳ queued", "waiting 2")
    assert query(chat.db_path, "SELECT DISTINCT not_before_at, reason FROM outbox_message") == [
        (None, None)
    ]


async def test_a_run_held_for_a_later_try_does_not_blame_the_night(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    owner, morning = await held_broadcast(chat, workspace, person)
    execute(chat.db_path, "UPDATE outbox_message SET reason = NULL")
    await owner.send("/campaign 1")
    shown = await owner.expect(f"Status: ⏸ held until {hhmm(morning)}")
    assert "quiet hours" not in shown["text"]
    await owner.press("🚀 Run now")
    await owner.expect("These messages are waiting for a later try: send them now?")
