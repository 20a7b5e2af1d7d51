"""Arrival notices: reps hear about their customers joining and answering, owners about staff."""

from __future__ import annotations

from typing import Any

from bot.campaigns.survey_buttons import OptOut
from tests.e2e.harness import Person as E2EPerson
from tests.e2e.harness import Workspace, execute
from tests.e2e.test_pipeline import CHEN, LI, OWNER, seed_customer
from tests.handlers.chat import ChatBot, Controls, Person, open_shop

SUN, MOON, ZHAO = 2001, 2002, 2003


def texts(chat: ChatBot, tg: int) -> list[str]:
    """Return what the bot sent to ``tg``."""
    return [m.get("text") or m.get("caption") or "" for m in chat.messenger.chats[tg]]


def labels(message: dict[str, Any]) -> list[str]:
    """Return the labels of a message's buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def my_link(rep: Person | E2EPerson) -> str:
    """Return the payload of the rep's personal /mylink link."""
    await rep.send("/mylink")
    shown = await rep.expect("Your personal link")
    return str(shown["text"].split("?start=")[1].split()[0])


async def test_rep_hears_when_their_customer_joins_answers_and_stops(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    payload = await my_link(crew.li)
    sun = chat.person(SUN, "Sun")

    await sun.send(f"/start {payload}")
    await sun.expect("May we send you messages")
    notice = await crew.li.expect("👋 Sun joined through your link.")
    assert labels(notice) == ["📇 Card"]
    await crew.li.press("Card", notice)
    await crew.li.expect("Sun")

    await sun.press("Yes")
    await sun.expect("You're subscribed to")
    await crew.li.expect("✅ Sun agreed to get messages from the shop.")

    await sun.send("/stop")
    await sun.expect("You won't get messages from")
    await crew.li.expect("🔕 Sun stopped messages from the shop.")

    # Opening the link again is no news; nobody else heard any of it.
    await sun.send(f"/start {payload}")
    await sun.expect("May we send you messages")
    assert await crew.li.quiet() == []
    assert not any("Sun" in text for text in texts(chat, OWNER))
    assert not any("Sun" in text for text in texts(chat, CHEN))


async def test_a_no_thanks_reaches_the_rep_once(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    payload = await my_link(crew.li)
    moon = chat.person(MOON, "Moon")
    await moon.send(f"/start {payload}")
    ask = await moon.expect("May we send you messages")
    await crew.li.expect("joined through your link")
    await moon.press("No, thanks", ask)
    await moon.expect("won't send you messages")
    await crew.li.expect("🙅 Moon declined messages from the shop.")
    # Pressing the same "No" again changes nothing and tells nobody.
    await moon.press("No, thanks", ask)
    assert await crew.li.quiet() == []


async def test_notices_are_in_the_reps_language(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    payload = await my_link(crew.li)
    await crew.li.send("/lang zh-CN")
    await crew.li.expect("")
    sun = chat.person(SUN, "Sun")
    await sun.send(f"/start {payload}")
    await sun.expect("May we send you messages")
    notice = await crew.li.expect("👋 Sun 通过您的链接加入了。")
    assert labels(notice) == ["📇 卡片"]
    await sun.press("Yes")
    await crew.li.expect("✅ Sun 同意接收店铺的消息。")


async def test_the_shops_general_link_tells_nobody(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    sun = chat.person(SUN, "Sun")
    await sun.send(f"/start w_{workspace.slug}")
    await sun.expect("May we send you messages")
    await sun.press("Yes")
    await sun.expect("You're subscribed to")
    for member in (crew.owner, crew.li, crew.chen):
        assert not any("Sun" in text for text in await member.quiet())


async def test_rep_hears_when_a_customer_opens_their_card_link(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    wang = seed_customer(chat.db_path, "Wang Li", LI)
    execute(chat.db_path, "UPDATE customer SET join_token = 'tok12345' WHERE id = ?", wang)
    zhao = chat.person(ZHAO, "Zhao")

    await zhao.send("/start c_tok12345")
    await zhao.expect("May we send you messages")
    notice = await crew.li.expect("👋 Wang Li opened their card link and is now connected.")
    assert labels(notice) == ["📇 Card"]
    await zhao.send("/start c_tok12345")
    await zhao.expect("May we send you messages")
    assert await crew.li.quiet() == []


async def test_owner_hears_when_staff_join_but_not_about_themselves(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    owner_texts = texts(chat, OWNER)
    assert "🙋 Li joined the shop as staff." in owner_texts
    assert "🙋 Chen joined the shop as staff." in owner_texts
    assert not any("Wang joined the shop" in text for text in owner_texts)
    assert not any("joined the shop as" in text for text in texts(chat, LI))
    assert crew.owner is not None


async def test_a_campaign_opt_out_button_reaches_the_rep(
    chat: ChatBot, workspace: Workspace, emu: Controls
) -> None:
    crew = await open_shop(chat, workspace)
    payload = await my_link(crew.li)
    sun = chat.person(SUN, "Sun")
    await sun.send(f"/start {payload}")
    await sun.expect("May we send you messages")
    await sun.press("Yes")
    await crew.li.expect("agreed to get messages")

    # The opt-out button under a campaign message, as the delivery engine builds it.
    await emu.post("callback", user_id=SUN, data=OptOut(workspace_id=1).pack(), message_id=1)
    await sun.expect("won't send you any more messages")
    await crew.li.expect("🔕 Sun stopped messages from the shop.")
    await emu.post("callback", user_id=SUN, data=OptOut(workspace_id=1).pack(), message_id=1)
    assert await crew.li.quiet() == []


async def test_the_card_button_of_a_notice_is_the_reps_alone(
    chat: ChatBot, workspace: Workspace, emu: Controls
) -> None:
    crew = await open_shop(chat, workspace)
    payload = await my_link(crew.li)
    await chat.person(SUN, "Sun").send(f"/start {payload}")
    notice = await crew.li.expect("joined through your link")
    [[card]] = notice["reply_markup"]["inline_keyboard"]

    # Chen may not open Li's customer: the forged press changes nothing for him.
    pressed = await emu.post(
        "callback", user_id=CHEN, data=card["callback_data"], message_id=notice["message_id"]
    )
    assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."
    assert not any("Sun" in text for text in await crew.chen.quiet())
