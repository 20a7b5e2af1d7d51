"""The bot says what is true: company paths, opt-out and consent texts, file dates, pool pages."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from sqlalchemy import select

from bot.campaigns import campaigns
from bot.campaigns.survey_buttons import OptOut
from bot.chat.context import AppInfo
from bot.chat.dispatcher import Dispatcher
from bot.crm import workspaces
from bot.crm.models import CampaignKind, Member
from bot.crm.store import unit_of_work
from bot.handlers import ROUTERS
from bot.handlers.pipeline import PoolPage
from bot.messaging import Incoming, Kind, User
from tests.e2e.harness import Workspace, execute
from tests.e2e.test_pipeline import LI, NOW_SQL, OWNER, SUN, seed_customer
from tests.handlers.chat import ChatBot, Controls, Person, open_shop

# 20:00 UTC on the 23rd is already the 24th in Shanghai.
EVENING_UTC = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
MOON = 2003


def labels(message: dict[str, object]) -> list[str]:
    """Return the texts of a message's inline buttons, row by row."""
    markup = message.get("reply_markup") or {}
    assert isinstance(markup, dict)
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def at(chat: ChatBot, moment: datetime) -> None:
    """Let the bot's clock read ``moment``."""
    chat.dispatcher = Dispatcher(chat.sessions, AppInfo(), clock=lambda: moment, routers=ROUTERS)


def add_jade(chat: ChatBot) -> None:
    """Add the company Jade Garden Tea (#1) and its branch Hangzhou (#2) to the shop."""
    execute(
        chat.db_path,
        "INSERT INTO company (workspace_id, name, level, created_at) VALUES (1, ?, 1, ?)",
        "Jade Garden Tea",
        NOW_SQL,
    )
    execute(
        chat.db_path,
        "INSERT INTO company (workspace_id, name, parent_id, level, created_at) "
        "VALUES (1, 'Hangzhou', 1, 2, ?)",
        NOW_SQL,
    )


async def subscribe(chat: ChatBot, workspace: Workspace, tg: int, name: str) -> Person:
    """Have someone open the shop's link and say yes to its messages."""
    someone = chat.person(tg, name)
    await someone.send(f"/start w_{workspace.slug}")
    await someone.expect("May we send you messages")
    await someone.press("Yes")
    await someone.expect("You're subscribed")
    return someone


# Companies keep their parent


async def test_find_and_export_show_the_company_path(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    mei = seed_customer(chat.db_path, "Mei", OWNER)
    add_jade(chat)
    execute(chat.db_path, "UPDATE customer SET company_id = 2 WHERE id = ?", mei)
    await crew.owner.send("/find Jade")
    found = await crew.owner.expect("Found 1 for “Jade”")
    assert any("Mei" in label for label in labels(found))
    await crew.owner.send("/find jade garden tea / hangzhou")
    found = await crew.owner.expect("Found 1")
    assert any("Mei" in label for label in labels(found))
    await crew.owner.send("/export csv")
    sent = await crew.owner.expect("")
    while "document" not in sent:
        sent = await crew.owner.expect("")
    content = sent["document"]["content"].decode("utf-8-sig")
    rows = {r["Name"]: r["Company"] for r in csv.DictReader(io.StringIO(content))}
    assert rows["Mei"] == "Jade Garden Tea / Hangzhou"


# The opt-out confirmation and the consent question


async def test_opt_out_confirmation_points_at_its_button(
    chat: ChatBot, workspace: Workspace, emu: Controls
) -> None:
    await open_shop(chat, workspace)
    sun = await subscribe(chat, workspace, SUN, "Sun")
    await emu.post("callback", user_id=SUN, data=OptOut(workspace_id=1).pack(), message_id=1)
    done = await sun.expect("won't send you any more messages")
    assert "tap “🔔 Subscribe again” below" in done["text"]
    assert "ask us for the link" not in done["text"]
    assert labels(done) == ["🔔 Subscribe again"]
    await sun.press("Subscribe again")
    await sun.expect("You're subscribed to")


async def test_opt_out_confirmation_in_chinese_points_at_its_button(
    chat: ChatBot, workspace: Workspace, emu: Controls
) -> None:
    await open_shop(chat, workspace)
    moon = chat.person(MOON, "Moon", "zh-hans")
    await moon.send(f"/start w_{workspace.slug}")
    await moon.expect("我们可以在这里给您发消息吗")
    await moon.press("好的")
    await chat.handle(
        Incoming(
            chat.next_update_id(),
            Kind.CALLBACK,
            MOON,
            User(id=MOON, first_name="Moon", language_code="zh-hans"),
            data=OptOut(workspace_id=1).pack(),
            callback_id="cb-moon",
            message_id=1,
        )
    )
    done = await moon.expect("不会再给您发消息了")
    assert "点下方的“🔔 重新订阅”" in done["text"]
    assert labels(done) == ["🔔 重新订阅"]


async def test_consent_promises_a_welcome_only_when_the_shop_has_one(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    sun = chat.person(SUN, "Sun")
    await sun.send(f"/start w_{workspace.slug}")
    ask = await sun.expect("May we send you messages")
    assert "a welcome" not in ask["text"]
    assert "greetings on your birthday and holidays" in ask["text"]

    async with unit_of_work(chat.sessions) as session:
        owner = await session.scalar(select(Member).where(Member.tg_user_id == OWNER))
        assert owner is not None
        await campaigns.create_campaign(
            session,
            actor=owner,
            name="Hello",
            kind=CampaignKind.WELCOME,
            template_key="welcome",
            audience={},
            now=datetime.now(UTC),
        )
    moon = chat.person(MOON, "Moon")
    await moon.send(f"/start w_{workspace.slug}")
    ask = await moon.expect("May we send you messages")
    assert "That means a welcome, greetings" in ask["text"]
    await moon.press("Yes")
    await moon.expect("You're subscribed")


# File names in shop time


async def test_own_data_file_is_named_by_the_shops_local_date(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    sun = await subscribe(chat, workspace, SUN, "Sun")
    add_jade(chat)
    execute(chat.db_path, "UPDATE customer SET company_id = 2 WHERE tg_user_id = ?", SUN)
    at(chat, EVENING_UTC)
    await sun.send("/mydata")
    sent = await sun.expect("Everything the shops keep about you")
    assert sent["document"]["file_name"] == "my-data-2026-11-24.json"
    (shop,) = json.loads(sent["document"]["content"])["shops"]
    assert shop["profile"]["company"] == "Jade Garden Tea / Hangzhou"
    await crew.owner.send("/dataexport 1")
    sent = await crew.owner.expect("Everything we keep about customer #1")
    assert sent["document"]["file_name"] == "customer-1-data-2026-11-24.json"


async def test_own_data_from_shops_in_different_zones_says_utc(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    sun = await subscribe(chat, workspace, SUN, "Sun")
    async with unit_of_work(chat.sessions) as session:
        london = await workspaces.create_workspace(
            session, name="London Tea", timezone="Europe/London", locale="en", region="GB"
        )
    await sun.send(f"/start w_{london.slug}")
    await sun.expect("May we send you messages")
    at(chat, EVENING_UTC)
    await sun.send("/mydata")
    sent = await sun.expect("Everything the shops keep about you")
    assert sent["document"]["file_name"] == "my-data-2026-11-23-UTC.json"


# The lead pool pages


async def test_the_pool_pages_forward_and_back(
    chat: ChatBot, workspace: Workspace, emu: Controls
) -> None:
    crew = await open_shop(chat, workspace)
    for number in range(1, 24):
        seed_customer(chat.db_path, f"Lead {number:02}", None)
    await crew.li.send("/pool")
    first = await crew.li.expect("23 waiting, oldest first (1–10)")
    assert "Lead 01" in first["text"] and "Lead 11" not in first["text"]
    assert labels(first)[-1] == "Newer ▶️"
    await crew.li.press("Newer ▶️")
    second = await crew.li.expect("(11–20)")
    assert second.get("edited")
    assert "Lead 11" in second["text"] and "Lead 21" not in second["text"]
    assert labels(second)[-2:] == ["◀️ Older", "Newer ▶️"]
    await crew.li.press("Newer ▶️")
    last = await crew.li.expect("(21–23)")
    assert "Lead 23" in last["text"]
    assert labels(last)[-1] == "◀️ Older"
    assert "Newer ▶️" not in labels(last)
    await crew.li.press("◀️ Older")
    await crew.li.expect("(11–20)")
    # A page past the end (leads claimed meanwhile) shows the last page there is.
    await emu.post(
        "callback", user_id=LI, data=PoolPage(offset=500).pack(), message_id=last["message_id"]
    )
    await crew.li.expect("(21–23)")


async def test_a_pool_that_fits_one_page_has_no_paging(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    for number in range(1, 4):
        seed_customer(chat.db_path, f"Lead {number}", None)
    await crew.owner.send("/pool")
    shown = await crew.owner.expect("Lead pool", "3 waiting")
    assert "oldest first" not in shown["text"]
    assert not any("▶️" in label or "◀️" in label for label in labels(shown))
