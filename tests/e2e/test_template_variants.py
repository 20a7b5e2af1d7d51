"""Editing a template's base text while a grade variant exists: the editor says who it misses.

The preview with a grade-C customer shows the grade-C variant they actually
get, named, not the base text being edited; a campaign then delivers exactly
what each preview showed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, cli, execute
from tests.e2e.test_pipeline import OWNER

ZHAO_TG, QIAN_TG = 3001, 3002
GRADE_C = "Hi Zhao, a little tea tip from Wang's Tea House"
NEW_BASE = "Hello {{ first_name }}, fresh news from {{ merchant }}!"


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_base_edit_warns_and_previews_the_grade_c_variant(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")
    zhao, qian = person(ZHAO_TG, "Zhao"), person(QIAN_TG, "Qian")
    for who in (zhao, qian):
        await who.send(f"/start w_{workspace.slug}")
        await who.expect("May we send you messages")
        await who.press("Yes")
        await who.expect("You're subscribed")
    execute(options.db_path, "UPDATE customer SET grade = 'C' WHERE tg_user_id = ?", ZHAO_TG)

    await owner.send("/template weekly_touchpoint")
    await owner.expect(
        "Weekly touchpoint · English · version 1",
        "English: 1 ← this one",
        "English · grade C: 1",
        "Grade C customers get their own variant; this edit does not reach them.",
    )
    await owner.press("✏️ Edit")
    await owner.expect("Grade C customers get their own variant; this edit does not reach them.")
    await owner.expect("Send the new text for Weekly touchpoint · English")
    await owner.send(NEW_BASE)
    await owner.expect("Hello Mei, fresh news from Wang's Tea House!")
    await owner.press("Preview with a real customer")
    await owner.expect("Send the name or phone number of a customer")
    await owner.send("Zhao")
    await owner.expect(
        "Zhao gets Weekly touchpoint · English · grade C, not the text you are editing."
    )
    got = await owner.expect(GRADE_C)
    assert "fresh news" not in got["text"]
    await owner.press("Preview with a real customer")
    await owner.send("Qian")
    await owner.expect("Preview for Qian, who gets Weekly touchpoint · English.")
    await owner.expect("Hello Qian, fresh news from Wang's Tea House!")
    await owner.press("Save")
    await owner.expect("Saved. Weekly touchpoint · English is now at version 2.")

    # What the previews showed is what each of them receives.
    await cli(
        "campaign", "send", "--workspace", workspace.slug, "--template", "weekly_touchpoint",
        env=options.env(),
    )  # fmt: skip
    await zhao.expect(GRADE_C)
    await qian.expect("Hello Qian, fresh news from Wang's Tea House!")

    await owner.send("/template weekly_touchpoint")
    await owner.expect("Weekly touchpoint · English · version 2")
    await owner.press("Edit the grade C variant")
    await owner.expect("Send the new text for Weekly touchpoint · English · grade C")
