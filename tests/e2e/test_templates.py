"""Message templates end to end: an admin edits one with previews, saves it and rolls it back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.harness import BotOptions, Person, Workspace, query
from tests.e2e.test_pipeline import LI, OWNER, join, seed_customer

NEW_TEXT = "<b>Hello {{ first_name }}</b>, tea time at {{ merchant }}!"
VERSIONS_SQL = (
    "SELECT v.version, v.origin, v.body FROM template_version v "
    "JOIN message_template t ON t.id = v.template_id "
    "WHERE t.key = 'welcome' AND t.locale = 'en' AND t.variant = '' ORDER BY v.version"
)


async def test_edit_with_previews_save_and_roll_back(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    owner, li = person(OWNER, "Wang"), person(LI, "Li")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await join(owner, li)
    seed_customer(options.db_path, "Zhao Min", OWNER)

    await li.send("/templates")
    await li.expect("Sorry, /templates isn't available to you.")

    await owner.send("/templates")
    await owner.expect("Message templates", "welcome: English v1", "weekly_touchpoint")
    await owner.press("welcome")
    await owner.expect("welcome · English · version 1", "Hi {{ first_name }}, welcome to")
    await owner.press("Edit")
    await owner.expect("Send the new text for welcome · English", "{{ first_name }}")

    await owner.send("Hi {{ phone }}")
    await owner.expect("{{ phone }} is not a variable you can use. You can use: {{ first_name }}")
    await owner.expect("Send the new text for welcome")
    await owner.send("<b>Hello {{ first_name }}</b> <i>oops")
    await owner.expect("<i> is opened but never closed.")
    await owner.send(NEW_TEXT)
    await owner.expect("Preview for a sample customer, Mei Chen")
    preview = await owner.expect("Hello Mei, tea time at Wang's Tea House!")
    assert "<b>Hello Mei</b>" in preview["html"]

    await owner.press("Preview with a real customer")
    await owner.expect("Send the name or phone number of a customer")
    await owner.send("Nobody")
    await owner.expect("No customer matches “Nobody”.")
    await owner.send("Zhao")
    await owner.expect("Preview for Zhao Min")
    await owner.expect("Hello Zhao, tea time at Wang's Tea House!")
    await owner.press("Save")
    await owner.expect("Saved. welcome · English is now at version 2.")

    await owner.press("Open it")
    await owner.expect("welcome · English · version 2", "edited", NEW_TEXT)
    await owner.press("History")
    await owner.expect("Versions of welcome · English", "v2", "v1", "default text")
    await owner.press("Roll back to v1")
    await owner.expect("Rolled back to the text of version 1", "now at version 3")
    await owner.expect("welcome · English · version 3", "rolled back to v1", "welcome to")

    await owner.send("/template birthday zh-CN A")
    await owner.expect("birthday · 简体中文 · grade A · version 1", "{{ owner }}")
    await owner.send("/template welcome fr")
    await owner.expect("“fr” is neither a language (en, zh-CN) nor one of your grades (A, B, C).")
    await owner.send("/template welcome en B")
    await owner.expect("There's no text for welcome · English · grade B yet.")
    await owner.press("Write it")
    await owner.expect("Send the new text for welcome · English · grade B")
    await owner.send("Dear {{ name }}, a treat awaits you at {{ merchant }}.")
    await owner.expect("Dear Mei Chen, a treat awaits you at Wang's Tea House.")
    await owner.press("Discard")
    await owner.expect("OK, discarded.")

    versions = query(options.db_path, VERSIONS_SQL)
    assert [(v, origin) for v, origin, _ in versions] == [
        (1, "default"),
        (2, "edit"),
        (3, "rollback:1"),
    ]
    assert versions[2][2] == versions[0][2]
    assert versions[1][2] == NEW_TEXT
    grade_b = "SELECT count(*) FROM message_template WHERE key = 'welcome' AND variant = 'B'"
    assert query(options.db_path, grade_b) == [(0,)]
