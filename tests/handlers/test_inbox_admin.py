"""The shop's inbox settings and saved answers: /hours, /replysla, /signature, /quick, ↩️ Reply."""

from __future__ import annotations

import itertools
from typing import Any

from bot.messaging import Incoming, Kind, User
from tests.e2e.harness import Workspace, execute, query
from tests.e2e.test_pipeline import LI, Crew, seed_customer
from tests.handlers.chat import ChatBot, Controls, open_shop

SUN, MEI = 2001, 2002
_ids = itertools.count(700)


def link(chat: ChatBot, customer_id: int, tg: int, locale: str | None = None) -> None:
    """Give a seeded customer a Telegram account, a chat and a language."""
    execute(
        chat.db_path,
        "UPDATE customer SET tg_user_id = ?, chat_id = ?, locale = ? WHERE id = ?",
        tg,
        tg,
        locale,
        customer_id,
    )


async def write(chat: ChatBot, tg: int, text: str, *, reply_to: int | None = None) -> None:
    """Send a text from ``tg`` as Telegram would, with its own message id."""
    await chat.handle(
        Incoming(
            chat.next_update_id(),
            Kind.TEXT,
            tg,
            User(id=tg, first_name="Sun"),
            text=text,
            own_message_id=next(_ids),
            reply_to_message_id=reply_to,
        )
    )


def texts(chat: ChatBot, tg: int) -> list[str]:
    """Return what the bot sent to ``tg``."""
    return [m.get("text") or m.get("caption") or "" for m in chat.messenger.chats[tg]]


def copy_to(chat: ChatBot, tg: int) -> dict[str, Any]:
    """Return the last customer message relayed to ``tg``."""
    return [m for m in chat.messenger.chats[tg] if "copy_of" in m][-1]


def labels(message: dict[str, Any]) -> list[str]:
    """Return the labels of a message's buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def shop_with_sun(chat: ChatBot, workspace: Workspace) -> tuple[Crew, int]:
    """Open the shop with the admin Zhou; Sun is Li's customer with a chat."""
    crew = await open_shop(chat, workspace, admin=True)
    sun = seed_customer(chat.db_path, "Sun Wukong", LI)
    link(chat, sun, SUN)
    return crew, sun


async def test_opening_hours_are_set_shown_and_turned_off(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace, admin=True)
    owner = crew.owner
    await owner.send("/hours")
    await owner.expect("Always open", "/hours 09:00-21:00")

    await owner.send("/hours 09:00-21:00")
    await owner.expect("Saved", "Open 09:00-21:00 (Asia/Shanghai)", "told when to expect")
    assert query(chat.db_path, "SELECT open_from, open_until FROM inbox_settings") == [
        ("09:00", "21:00")
    ]
    # Full-width digits from a Chinese keyboard, and hours over midnight.
    await owner.send("/hours ２０：００－０２：００")
    await owner.expect("Open 20:00-02:00")

    await owner.send("/hours")
    shown = await owner.expect("Open 20:00-02:00")
    assert labels(shown) == ["🔓 Always open"]
    await owner.press("Always open")
    await owner.expect("Saved", "Always open")
    assert query(chat.db_path, "SELECT open_from FROM inbox_settings") == [(None,)]

    await owner.send("/hours 09:00-21:00")
    await owner.expect("Open 09:00-21:00")
    await owner.send("/hours off")
    await owner.expect("Always open")


async def test_bad_hours_get_an_example_and_staff_cannot_set_them(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace, admin=True)
    assert crew.zhou is not None
    for bad in ("nine to five", "09:00", "25:00-10:00", "09:00-09:00"):
        await crew.zhou.send(f"/hours {bad}")
        await crew.zhou.expect("Please give opening hours like 09:00-21:00")
    await crew.li.send("/hours 09:00-21:00")
    await crew.li.expect("/hours isn't available to you")
    assert query(chat.db_path, "SELECT count(*) FROM inbox_settings") == [(0,)]


async def test_reply_sla_says_what_will_happen(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace, admin=True)
    assert crew.zhou is not None
    zhou = crew.zhou
    await zhou.send("/replysla")
    await zhou.expect("No reply time is set", "/replysla 30m")

    await zhou.send("/replysla 30m")
    await zhou.expect(
        "An unanswered conversation reminds its rep after 30 min and goes to the owner after 1 h."
    )
    await zhou.send("/replysla 1h30m")
    await zhou.expect("reminds its rep after 1 h 30 min and goes to the owner after 3 h")
    await zhou.send("/replysla 2小时")
    await zhou.expect("after 2 h and goes to the owner after 4 h")
    assert query(chat.db_path, "SELECT reply_sla_minutes FROM inbox_settings") == [(120,)]

    await zhou.send("/replysla soon")
    await zhou.expect("Please give a time like 30m or 2h")
    await zhou.send("/replysla 0m")
    await zhou.expect("Please give a time like 30m or 2h")

    await zhou.send("/replysla")
    shown = await zhou.expect("Reply time 2 h")
    assert labels(shown) == ["🔕 Turn off"]
    await zhou.press("Turn off")
    await zhou.expect("Saved", "No reply time is set")
    await zhou.send("/replysla 45")
    await zhou.expect("after 45 min")
    await zhou.send("/replysla off")
    await zhou.expect("No reply time is set")
    assert query(chat.db_path, "SELECT reply_sla_minutes FROM inbox_settings") == [(None,)]


async def test_signature_off_sends_replies_unsigned(chat: ChatBot, workspace: Workspace) -> None:
    crew, _sun = await shop_with_sun(chat, workspace)
    owner = crew.owner
    await owner.send("/signature")
    shown = await owner.expect("signed with the member's name", "“— Wang”")
    assert labels(shown) == ["Stop signing"]
    await owner.press("Stop signing")
    toggled = await owner.expect("Saved", "not signed")
    assert labels(toggled) == ["Sign replies"]

    await write(chat, SUN, "is the shop open on Sunday?")
    await write(chat, LI, "Yes, 10 to 6.", reply_to=copy_to(chat, LI)["message_id"])
    assert texts(chat, SUN)[-1] == "Yes, 10 to 6."

    await owner.send("/signature maybe")
    await owner.expect("Send /signature on or /signature off.")
    await owner.send("/signature on")
    await owner.expect("Saved", "signed with the member's name")
    await write(chat, LI, "See you!", reply_to=copy_to(chat, LI)["message_id"])
    assert texts(chat, SUN)[-1] == "See you!\n\n— Li"


async def test_quick_replies_are_added_listed_edited_and_deleted(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace, admin=True)
    assert crew.zhou is not None
    zhou, li = crew.zhou, crew.li
    await zhou.send("/quick")
    await zhou.expect("There are none yet", "/quick add price")

    await zhou.send("/quick add price Hello {{ first_name }}, the 2015 cake is ¥380.")
    await zhou.expect(
        "Quick reply “price” (English) saved",
        "For Mei Chen it reads:",
        "Hello Mei, the 2015 cake is ¥380.",
    )
    await zhou.send("/quick add price@zh-CN 您好{{ name }}，2015年的饼 380 元。")
    await zhou.expect("Quick reply “price” (Chinese) saved", "您好陈美玲")
    await zhou.send("/quick add hours We open at 10 every day.")
    await zhou.expect("“hours” (English) saved")
    await zhou.send("/quick add hours We open at 9.")
    await zhou.expect("exists already")

    # Staff read the library; their language comes first, both are marked.
    await li.send("/quick")
    listed = await li.expect("Quick replies", "hours", "price")
    assert (
        "• price — English: “Hello {{ first_name }}, the 2015 cake…” · Chinese: “您好{{ name }}"
        in listed["text"]
    )
    assert "/quick add" not in listed["text"]
    await li.send("/quick price")
    await li.expect("price (English):\nHello {{ first_name }}, the 2015 cake is ¥380.")

    await li.send("/quick add thanks Thank you!")
    await li.expect("Only the owner and admins can change quick replies.")
    await li.send("/quick delete price")
    await li.expect("Only the owner and admins can change quick replies.")

    await zhou.send("/quick edit hours We open at 9 every day, {{ merchant }}.")
    await zhou.expect("“hours” (English) saved", "We open at 9 every day, Wang's Tea House.")
    await zhou.send("/quick edit nothing Hi")
    await zhou.expect("There's no quick reply “nothing”")

    await zhou.send("/quick delete price")
    await zhou.expect("Delete the quick reply “price” (English)?")
    await zhou.press("Keep it")
    await zhou.expect("the quick reply stays")
    await zhou.send("/quick delete price@zh-CN")
    await zhou.expect("Delete the quick reply “price” (Chinese)?")
    await zhou.press("Delete")
    await zhou.expect("Quick reply “price” (Chinese) deleted.")
    assert query(chat.db_path, "SELECT key, locale FROM quick_reply ORDER BY key") == [
        ("hours", "en"),
        ("price", "en"),
    ]


async def test_a_bad_or_hostile_quick_reply_is_refused_at_save(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    owner = crew.owner
    await owner.send("/quick add")
    await owner.expect("Send it like this: /quick add price Hello {{ first_name }}")
    await owner.send("/quick add greet")
    await owner.expect("Send it like this")
    await owner.send("/quick add Hi! Welcome")
    await owner.expect("A quick reply's key is 1 to 32 letters")
    await owner.send("/quick add greet@fr Bonjour")
    await owner.expect("Please name a language: en or zh-CN.")

    await owner.send("/quick add greet Hello {{ phone }}")
    await owner.expect("The quick reply was not saved", "{{ phone }} is not a variable", "name")
    await owner.send("/quick add greet Hello {{ name")
    await owner.expect("The quick reply was not saved", "mistake on line 1")
    await owner.send("/quick add greet {{ ''.__class__.__mro__ }}")
    await owner.expect("The quick reply was not saved", "isn't allowed in a message template")
    await owner.send("/quick add greet {% for i in range(999999999) %}x{% endfor %}")
    await owner.expect("The quick reply was not saved", "A loop can only go over")
    await owner.send("/quick add greet <b>Hello")
    await owner.expect("The quick reply was not saved", "<b> is opened but never closed")
    assert query(chat.db_path, "SELECT count(*) FROM quick_reply") == [(0,)]


async def test_reply_offers_quick_replies_and_sends_one_filled_in(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew, sun = await shop_with_sun(chat, workspace)
    owner, li = crew.owner, crew.li
    await owner.send("/quick add price Hi {{ first_name }}, the 2015 cake is ¥380. {{ owner }}")
    await owner.expect("saved")
    await owner.send("/quick add price@zh-CN 您好{{ name }}，380 元。")
    await owner.expect("saved")
    await owner.send("/quick add bye See you at {{ merchant }}!")
    await owner.expect("saved")

    await write(chat, SUN, "how much is the 2015 cake?")
    copy = copy_to(chat, LI)
    await li.press("Reply", copy)
    question = await li.expect("Send your reply to Sun Wukong, or tap a quick reply")
    assert labels(question) == ["💬 bye", "💬 price"]
    await li.press("price")
    assert texts(chat, SUN)[-1] == "Hi Sun, the 2015 cake is ¥380. Li\n\n— Li"
    assert texts(chat, LI)[-1] == "Sent ✓"
    assert query(chat.db_path, "SELECT direction, text FROM chat_message ORDER BY id")[-1] == (
        "out",
        "Hi Sun, the 2015 cake is ¥380. Li",
    )
    assert query(
        chat.db_path,
        "SELECT first_response_at IS NOT NULL FROM chat_thread WHERE customer_id=?",
        sun,
    ) == [(1,)]

    # The question is answered: its buttons are spent, typing goes nowhere special.
    sent = len(texts(chat, SUN))
    await li.press("bye", question)
    assert chat.answer_to(f"cb{chat.next_update_id() - 1}") == "This button has expired."
    assert len(texts(chat, SUN)) == sent

    # A Chinese customer gets the Chinese text; a typed answer still works.
    execute(chat.db_path, "UPDATE customer SET locale = 'zh-CN' WHERE id = ?", sun)
    await li.press("Reply", copy)
    question = await li.expect("tap a quick reply")
    await li.press("price", question)
    assert texts(chat, SUN)[-1] == "您好Sun Wukong，380 元。\n\n— Li"
    await li.press("Reply", copy)
    await li.expect("tap a quick reply")
    await li.send("Typed & sent")
    assert texts(chat, SUN)[-1] == "Typed & sent\n\n— Li"


async def test_without_quick_replies_the_question_is_plain(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew, _sun = await shop_with_sun(chat, workspace)
    await write(chat, SUN, "hello")
    await crew.li.press("Reply", copy_to(chat, LI))
    question = await crew.li.expect("Send your reply to Sun Wukong (or /cancel).")
    assert labels(question) == []


async def test_another_shops_quick_reply_buttons_are_expired(
    chat: ChatBot, workspace: Workspace, emu: Controls
) -> None:
    crew, _sun = await shop_with_sun(chat, workspace)
    await chat.create_workspace("Rival Tea")
    execute(
        chat.db_path,
        "INSERT INTO quick_reply (workspace_id, key, locale, text, updated_at) "
        "VALUES (2, 'steal', 'en', 'Hello from the rival', '2026-11-20 08:00:00')",
    )
    (rival,) = query(chat.db_path, "SELECT id FROM quick_reply WHERE workspace_id = 2")[0]
    await crew.owner.send("/quick")
    listed = await crew.owner.expect("Quick replies")
    assert "steal" not in listed["text"]

    pressed = await emu.post(
        "callback", user_id=crew.owner.id, data=f"qk:d:{rival}", message_id=listed["message_id"]
    )
    assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."
    assert query(chat.db_path, "SELECT count(*) FROM quick_reply") == [(1,)]

    await write(chat, SUN, "hi")
    await crew.li.press("Reply", copy_to(chat, LI))
    question = await crew.li.expect("Send your reply")
    (thread,) = query(chat.db_path, "SELECT id FROM chat_thread")[0]
    pressed = await emu.post(
        "callback",
        user_id=LI,
        data=f"qk:p:{thread}:{rival}",
        message_id=question["message_id"],
    )
    assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."
    assert texts(chat, SUN)[-1] != "Hello from the rival"


async def test_a_quick_reply_that_fails_for_this_customer_sends_nothing(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew, _sun = await shop_with_sun(chat, workspace)
    # Fine for the sample customer (120 points), a division by zero for Sun (none).
    await crew.owner.send("/quick add cups You get {{ 1000 // points }} cups")
    await crew.owner.expect("saved", "You get 8 cups")
    await write(chat, SUN, "hi")
    await crew.li.press("Reply", copy_to(chat, LI))
    question = await crew.li.expect("tap a quick reply")
    await crew.li.press("cups", question)
    await crew.li.expect(
        "The quick reply “cups” can't be filled in for Sun Wukong", "division by zero"
    )
    assert texts(chat, SUN) == ["🙌 Li from Wang's Tea House will answer you here."]
    # The question is still open: a typed answer goes out.
    await crew.li.send("Let me check your points.")
    assert texts(chat, SUN)[-1] == "Let me check your points.\n\n— Li"


async def test_settings_and_the_library_speak_chinese(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    owner = crew.owner
    await owner.send("/lang zh-CN")
    await owner.expect("")
    await owner.send("/replysla 30分钟")
    await owner.expect("未回复的会话在 30 分钟 后提醒负责的销售，1 小时 后转给店主。")
    # Without a language the key is written in the member's language.
    await owner.send("/quick 添加 greet 您好{{ name }}！")
    await owner.expect("快捷回复“greet”（中文）已保存", "您好陈美玲！")
    await owner.send("/quick")
    await owner.expect("快捷回复", "• greet — 中文: “您好{{ name }}！”")


async def test_a_key_that_is_also_a_command_word_is_still_a_key(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace, admin=True)
    assert crew.zhou is not None
    # "pool", "mine" and 关闭 mean something to other commands; here they are keys.
    await crew.zhou.send("/quick add pool The pool opens at nine.")
    await crew.zhou.expect("Quick reply “pool” (English) saved")
    await crew.li.send("/quick pool")
    await crew.li.expect("The pool opens at nine.")
    await crew.li.send("/quick mine")
    await crew.li.expect("There's no quick reply “mine”")
    # Chinese verbs work as the English ones.
    await crew.zhou.send("/quick 删除 pool")
    await crew.zhou.expect("Delete the quick reply “pool” (English)?")
