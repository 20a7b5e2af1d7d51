"""The template editor shows which variant each customer gets, and the preview is what they get.

Reported: editing the base ``weekly_touchpoint`` and previewing with a grade-C
customer showed the edited base text, while grade-C customers then received the
untouched grade-C variant.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.conversations.edit_template import TemplateAction
from tests.e2e.harness import Workspace, execute, query
from tests.e2e.test_pipeline import LI, OWNER, seed_customer
from tests.handlers.chat import ChatBot, Controls, Person, open_shop

OTHER_OWNER = 1101
NEW_BASE = "Hello {{ first_name }}, fresh news from {{ merchant }}!"
GRADE_C_TEXT = "Brew green tea at about 80 °C rather than boiling"


def seed_reachable(
    db: Path,
    name: str,
    grade: str | None,
    chat_id: int,
    owner: int | None = LI,
    locale: str | None = None,
) -> int:
    """Insert an opted-in customer with a chat and a grade (None: no grade)."""
    customer = seed_customer(db, name, owner, kind="customer")
    execute(
        db,
        "UPDATE customer SET consent = 'opted_in', chat_id = ?, grade = ?, locale = ? "
        "WHERE id = ?",
        chat_id,
        grade,
        locale,
        customer,
    )
    return customer


def labels(message: dict[str, Any]) -> list[str]:
    """Return the labels of a message's buttons."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def test_the_preview_for_a_grade_c_customer_is_their_variant(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    owner = crew.owner
    seed_reachable(chat.db_path, "Zhao Min", "C", 5001)
    seed_reachable(chat.db_path, "Sun Li", "C", 5002)
    seed_reachable(chat.db_path, "Qian Wu", None, 5003)

    await owner.send("/template weekly_touchpoint")
    shown = await owner.expect(
        "Weekly touchpoint · English · version 1",
        "Variants, and how many customers each reaches now:",
        "English: 1 ← this one",
        "English · grade C: 2",
        "English · grade A: 0",
        "Chinese · grade B: 0",
        "Grade C customers get their own variant; this edit does not reach them.",
    )
    assert "✏️ Edit the grade C variant" in labels(shown)

    await owner.press("✏️ Edit")
    await owner.expect(
        "Grade A customers get their own variant",
        "Grade C customers get their own variant; this edit does not reach them.",
    )
    await owner.expect("Send the new text for Weekly touchpoint · English")
    await owner.send(NEW_BASE)
    await owner.expect("Preview for a sample customer")
    await owner.expect("Hello Mei, fresh news from Wang's Tea House!")

    await owner.press("Preview with a real customer")
    await owner.send("Zhao")
    await owner.expect(
        "Zhao Min gets Weekly touchpoint · English · grade C, not the text you are editing."
    )
    got = await owner.expect(GRADE_C_TEXT, "Hi Zhao")
    assert "fresh news" not in got["text"]
    assert "✏️ Edit English · grade C instead" in labels(got)

    await owner.press("Preview with a real customer")
    await owner.send("Qian")
    await owner.expect("Preview for Qian Wu, who gets Weekly touchpoint · English.")
    await owner.expect("Hello Qian, fresh news from Wang's Tea House!")
    await owner.press("Save")
    await owner.expect("Saved. Weekly touchpoint · English is now at version 2.")

    # The button on the warning opens the grade-C variant's editor.
    await owner.send("/template weekly_touchpoint")
    await owner.expect("Weekly touchpoint · English · version 2")
    await owner.press("✏️ Edit the grade C variant")
    await owner.expect("Send the new text for Weekly touchpoint · English · grade C")
    await owner.send(NEW_BASE)
    await owner.expect("Preview for a sample customer")
    await owner.expect("Hello Mei, fresh news")
    await owner.press("Preview with a real customer")
    await owner.send("Sun")
    await owner.expect("Preview for Sun Li, who gets Weekly touchpoint · English · grade C.")
    await owner.expect("Hello Sun, fresh news from Wang's Tea House!")


async def test_editing_a_variant_warns_of_nothing(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    await crew.owner.send("/template weekly_touchpoint en C")
    shown = await crew.owner.expect("Weekly touchpoint · English · grade C · version 1")
    assert "this edit does not reach them" not in shown["text"]
    await crew.owner.press("✏️ Edit")
    await crew.owner.expect("Send the new text for Weekly touchpoint · English · grade C")
    assert "this edit does not reach them" not in " ".join(await crew.owner.quiet())


async def test_a_chinese_admin_reads_it_in_chinese(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    owner = person(OWNER, "Wang", "zh-CN")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect()
    seed_reachable(chat.db_path, "Zhao Min", "C", 5001, owner=None, locale="zh-CN")
    await owner.send("/template weekly_touchpoint zh-CN")
    await owner.expect(
        "各个版本，以及目前各自送达的客户数",
        "中文 · 等级 C：1 位",
        "等级 C 的客户有自己的版本，这次修改不会发给他们。",
    )
    await owner.press("✏️ 编辑")
    await owner.expect("等级 C 的客户有自己的版本")
    await owner.expect("请发送 每周问候 · 中文 的新文案", "变量：{{ 名字 }}, {{ 姓名 }}")
    # The variables have Chinese names too; the preview fills them in.
    await owner.send("{{ 名字 }}，您好！新茶到店。")
    await owner.expect("预览")
    await owner.expect("陈美玲，您好！新茶到店")
    await owner.press("👤 用真实客户预览")
    await owner.send("Zhao")
    await owner.expect("Zhao Min收到的是 每周问候 · 中文 · 等级 C", "不是您正在编辑的文案")
    await owner.expect("绿茶用八十度左右的水冲泡")


async def test_another_shops_variant_button_has_expired(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person], emu: Controls
) -> None:
    crew = await open_shop(chat, workspace)
    await crew.owner.send("/template weekly_touchpoint")
    await crew.owner.expect("Grade C customers get their own variant")
    [(grade_c,)] = query(
        chat.db_path,
        "SELECT id FROM message_template WHERE key = 'weekly_touchpoint' "
        "AND locale = 'en' AND variant = 'C'",
    )
    other = await chat.create_workspace("Li's Porcelain")
    stranger = person(OTHER_OWNER, "Sun")
    await stranger.send(f"/start {other.owner_payload}")
    await stranger.expect("Li's Porcelain")

    data = TemplateAction(action="e", template_id=grade_c).pack()
    pressed = await emu.post("callback", user_id=OTHER_OWNER, data=data, message_id=1)
    assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."
    assert "Send the new text" not in " ".join(await stranger.quiet())
