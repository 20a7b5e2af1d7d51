"""/help fits on a phone: members get topics with buttons, customers their few commands."""

from __future__ import annotations

import pytest

from bot.chat.menus import Menus
from bot.crm.models import Role
from bot.handlers import ROUTERS
from bot.views.help import COMMANDS
from tests.e2e.harness import Workspace
from tests.e2e.test_pipeline import LI, OWNER, seed_customer
from tests.handlers.chat import ChatBot, open_shop
from tests.handlers.test_inbox_relay import labels, link, texts

pytestmark = pytest.mark.timeout(60)
MAX_LINES = 12
SUN = 2001


def test_every_member_command_has_one_topic() -> None:
    menus = Menus(ROUTERS)
    placed = [name for names in COMMANDS.values() for name in names]
    assert len(placed) == len(set(placed)), "a command is in two topics"
    general = {"help", "lang", "cancel"}
    for role in Role:
        for spec in menus.commands(role):
            assert spec.name in placed or spec.name in general, f"/{spec.name} has no topic"


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_members_help_is_short_with_a_button_per_topic(
    chat: ChatBot, workspace: Workspace, locale: str
) -> None:
    crew = await open_shop(chat, workspace)
    if locale == "zh-CN":
        for person in (crew.owner, crew.li):
            await person.send("/lang zh-CN")
    await crew.owner.send("/help")
    owner = chat.messenger.chats[OWNER][-1]
    assert len(owner["text"].splitlines()) <= MAX_LINES
    assert len(labels(owner)) == len(COMMANDS)
    await crew.li.send("/help")
    li = chat.messenger.chats[LI][-1]
    assert len(li["text"].splitlines()) <= MAX_LINES
    # A customer's own commands are not offered to staff.
    for customer_only in ("/mydata", "/forget", "/complain", "/stop"):
        assert customer_only not in li["text"]

    # A tap on a topic lists its commands with what each does; /help <topic> the same.
    await crew.owner.press(labels(owner)[-1], owner)
    figures = chat.messenger.chats[OWNER][-1]["text"]
    assert "/stats" in figures and "/spend" in figures and "—" in figures
    await crew.li.send("/help team" if locale == "en" else "/help 团队")
    team = chat.messenger.chats[LI][-1]["text"]
    assert "/leave" in team and "/mylink" in team
    assert "/remove" not in team  # staff can't remove anyone


async def test_a_topic_nobody_knows_gets_a_friendly_answer(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    await crew.li.send("/help recipes")
    await crew.li.expect("I have no help topic “recipes”. Send /help to see the topics.")


async def test_customers_see_their_commands_at_once(chat: ChatBot, workspace: Workspace) -> None:
    await open_shop(chat, workspace)
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)
    customer = chat.person(SUN, "Sun")
    await customer.send("/help")
    help_text = texts(chat, SUN)[-1]
    assert "/stop" in help_text and "/privacy" in help_text
    assert "/add" not in help_text
    assert len(help_text.splitlines()) <= MAX_LINES + 2
