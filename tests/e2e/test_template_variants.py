"""Editing a template's base text while a grade variant exists: the editor says who it misses.

The preview with a grade-C customer shows the grade-C variant they actually
get, named, not the base text being edited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, execute
from tests.e2e.test_pipeline import OWNER, seed_customer

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
    zhao = seed_customer(options.db_path, "Zhao Min", None, kind="customer")
    execute(
        options.db_path,
        "UPDATE customer SET consent = 'opted_in', chat_id = 5001, grade = 'C' WHERE id = ?",
        zhao,
    )

    await owner.send("/template weekly_touchpoint")
    await owner.expect(
        "weekly_touchpoint · English · version 1",
        "English · grade C: 1",
        "Grade C customers get their own variant; this edit does not reach them.",
    )
    await owner.press("✏️ Edit")
    await owner.expect("Grade C customers get their own variant; this edit does not reach them.")
    await owner.expect("Send the new text for weekly_touchpoint · English")
    await owner.send(NEW_BASE)
    await owner.expect("Hello Mei, fresh news from Wang's Tea House!")
    await owner.press("Preview with a real customer")
    await owner.expect("Send the name or phone number of a customer")
    await owner.send("Zhao")
    await owner.expect(
        "Zhao Min gets weekly_touchpoint · English · grade C, not the text you are editing."
    )
    got = await owner.expect("Hi Zhao, a little tea tip from Wang's Tea House")
    assert "fresh news" not in got["text"]
    await owner.press("Edit English · grade C instead")
    await owner.expect("Send the new text for weekly_touchpoint · English · grade C")
