"""Message templates end to end: an admin edits one with previews, saves it and rolls it back.

And the bug report "a template freezes the whole bot": a hostile text is
refused while another shop keeps getting answers, and a guarded one that
passes the preview skips only the customers it fails for at send time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import (
    BotOptions,
    Person,
    Workspace,
    cli,
    create_workspace,
    execute,
    query,
)
from tests.e2e.test_pipeline import LI, OWNER, join, seed_customer

NEW_TEXT = "<b>Hello {{ first_name }}</b>, tea time at {{ merchant }}!"
VERSIONS_SQL = (
    "SELECT v.version, v.origin, v.body FROM template_version v "
    "JOIN message_template t ON t.id = v.template_id "
    "WHERE t.key = 'welcome' AND t.locale = 'en' AND t.variant = '' ORDER BY v.version"
)


@pytest.mark.parametrize("framework", ["ptb"])  # a chat flow: one framework
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
    await owner.expect("Message templates", "Welcome message: English v1", "Weekly touchpoint")
    await owner.press("Welcome message")
    await owner.expect("Welcome message · English · version 1", "Hi {{ first_name }}, welcome to")
    await owner.press("Edit")
    await owner.expect("Send the new text for Welcome message · English", "{{ first_name }}")

    await owner.send("Hi {{ phone }}")
    await owner.expect("{{ phone }} is not a variable you can use. You can use: {{ first_name }}")
    await owner.expect("Send the new text for Welcome message")
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
    await owner.expect("Saved. Welcome message · English is now at version 2.")

    await owner.press("Open it")
    await owner.expect("Welcome message · English · version 2", "edited", NEW_TEXT)
    await owner.press("History")
    await owner.expect("Versions of Welcome message · English", "v2", "v1", "default text")
    await owner.press("Roll back to v1")
    await owner.expect("Rolled back to the text of version 1", "now at version 3")
    await owner.expect("Welcome message · English · version 3", "rolled back to v1", "welcome to")

    await owner.send("/template birthday zh-CN A")
    await owner.expect("Birthday greeting · Chinese · grade A · version 1", "{{ owner }}")
    await owner.send("/template welcome fr")
    await owner.expect("“fr” is neither a language (en, zh-CN) nor one of your grades (A, B, C).")
    await owner.send("/template welcome en B")
    await owner.expect("There's no text for Welcome message · English · grade B yet.")
    await owner.press("Write it")
    await owner.expect("Send the new text for Welcome message · English · grade B")
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


OTHER_OWNER = 2001
HOSTILE = "{{ points|round(-99999999) }}"
GUARDED = (
    "{% if points > 100000 %}{{ points|round(-99999999) }}{% else %}Hello {{ name }}{% endif %}"
)
# The same trap with the precision computed: no rule can see it before a big balance.
GUARDED_COMPUTED = (
    "{% if points > 100000 %}{{ points|round(0 - points * 100) }}"
    "{% else %}Hello {{ name }}{% endif %}"
)
CUSTOMERS = {3001: ("Alice", 50), 3002: ("Bob", 500_000), 3003: ("Carol", 70)}
ANSWERED_WITHIN = 2.0


async def answered_quickly(other: Person) -> None:
    """Another shop's owner asks for /help and gets it within two seconds."""
    asked = time.monotonic()
    await other.send("/help")
    await other.expect("/templates", timeout=ANSWERED_WITHIN)
    assert time.monotonic() - asked < ANSWERED_WITHIN


@pytest.mark.timeout(180)
@pytest.mark.parametrize("framework", ["aiogram"])
async def test_a_hostile_template_never_freezes_the_bot(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    other_shop = await create_workspace(options, name="Li's Porcelain")
    await start_bot(options)
    owner, other = person(OWNER, "Wang"), person(OTHER_OWNER, "Zhao")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await other.send(f"/start {other_shop.owner_payload}")
    await other.expect("Welcome to")
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")

    await owner.send("/template welcome")
    await owner.expect("Welcome message · English · version 1")
    await owner.press("Edit")
    await owner.expect("Send the new text for Welcome message · English")
    for hostile in (HOSTILE, GUARDED):
        await owner.send(hostile)
        await answered_quickly(other)  # while the bot checks the text
        await owner.expect("|round can keep at most 20 digits before or after the point.")
        await answered_quickly(other)  # and afterwards

    # The computed form is fine for the sample customer: previewed and saved.
    await owner.send(GUARDED_COMPUTED)
    await answered_quickly(other)
    await owner.expect("Preview for a sample customer, Mei Chen")
    await owner.expect("Hello Mei Chen")
    await owner.press("Save")
    await owner.expect("Saved. Welcome message · English is now at version 2.")

    # At send time it fails for the big balance only: Bob is skipped, the owner told once.
    people = {uid: person(uid, name) for uid, (name, _) in CUSTOMERS.items()}
    for who in people.values():
        await who.send(f"/start w_{workspace.slug}")
        await who.expect("May we send you messages")
        await who.press("Yes")
        await who.expect("You're subscribed")
    for uid, (_, points) in CUSTOMERS.items():
        execute(
            options.db_path,
            "INSERT INTO points_entry (workspace_id, customer_id, delta, reason, at) "
            "SELECT workspace_id, id, ?, 'adjust', CURRENT_TIMESTAMP FROM customer "
            "WHERE tg_user_id = ?",
            points,
            uid,
        )
    env = options.env()
    run_id = int((await cli("campaign", "send", "--workspace", workspace.slug,
                            "--template", "welcome", env=env)).strip())  # fmt: skip
    await people[3001].expect("Hello Alice")
    await people[3003].expect("Hello Carol")
    await answered_quickly(other)
    counts: dict[str, Any] = {}
    async with asyncio.timeout(30):
        while counts.get("status") != "finished":
            counts = json.loads(await cli("campaign", "status", str(run_id), env=env))
            await asyncio.sleep(0.3)
    assert (counts["sent"], counts["skipped"]) == (2, {"template_error": 1})
    assert await people[3002].quiet(0.5) == []
    await owner.expect("the template welcome can't be filled in for some customers")
    report = await owner.expect("✅ Sent: 2")
    assert "the template could not be filled in: 1" in report["text"]
    notices = query(
        options.db_path,
        "SELECT count(*) FROM outbox_message WHERE run_id = ? AND reason = 'template_error'",
        run_id,
    )
    assert notices == [(1,)]
    assert not [t for t in await owner.quiet(1.0) if "can't be filled in" in t]
    await answered_quickly(other)
