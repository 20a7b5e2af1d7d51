"""What the bot says is true: company paths through /find, /export and /import, the opt-out
and consent texts, the /mydata file's date and the lead pool's pages, under both frameworks."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.localtime import show_day
from tests.e2e.harness import (
    BotOptions,
    Emulator,
    Person,
    Workspace,
    create_workspace,
    execute,
    query,
)
from tests.e2e.test_pipeline import NOW_SQL, OWNER, SUN, seed_customer
from tests.e2e.test_transfer import download

FRESH_OWNER = 1101
MOON = 2003


def labels(message: dict[str, Any]) -> list[str]:
    """Return the texts of a message's inline buttons."""
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


def company_paths(db: Any, workspace_id: int) -> set[str]:
    """Return each customer's company of a shop as the path from the top."""
    rows = query(
        db,
        "SELECT c.name, p.name FROM company c LEFT JOIN company p ON p.id = c.parent_id "
        "WHERE c.workspace_id = ?",
        workspace_id,
    )
    return {f"{parent} / {name}" if parent else name for name, parent in rows}


async def test_the_bot_says_what_is_true(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    fresh_shop = await create_workspace(options, name="Fresh Leaf")
    await start_bot(options)
    db = options.db_path
    owner, fresh, sun = person(OWNER, "Wang"), person(FRESH_OWNER, "Zhao"), person(SUN, "Sun")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await fresh.send(f"/start {fresh_shop.owner_payload}")
    await fresh.expect("Welcome to")

    # Companies keep their parent: /find, /export and a round trip through /import.
    mei = seed_customer(db, "Mei", OWNER, kind="customer")
    execute(
        db,
        "INSERT INTO company (id, workspace_id, name, level, created_at) "
        "VALUES (1, 1, 'Jade Garden Tea', 1, ?)",
        NOW_SQL,
    )
    execute(
        db,
        "INSERT INTO company (id, workspace_id, name, parent_id, level, created_at) "
        "VALUES (2, 1, 'Hangzhou', 1, 2, ?)",
        NOW_SQL,
    )
    execute(db, "UPDATE customer SET company_id = 2 WHERE id = ?", mei)
    await owner.send("/find Jade")
    found = await owner.expect("Found 1 for “Jade”")
    assert any("Mei" in label for label in labels(found))
    await owner.send("/export csv")
    sent = await owner.expect("📤 Customers exported: 1")
    content = await download(sent)
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [(r["Name"], r["Company"]) for r in rows] == [("Mei", "Jade Garden Tea / Hangzhou")]
    await fresh.send("/import")
    await fresh.expect("Send me a CSV or XLSX file")
    await emu.upload("document", FRESH_OWNER, "customers.csv", content)
    await fresh.expect("new customers to import: 1")
    await fresh.press("Import 1")
    await fresh.expect("Imported customers: 1")
    (fresh_id,) = query(db, "SELECT id FROM workspace WHERE slug = ?", fresh_shop.slug)[0]
    assert company_paths(db, fresh_id) == {"Jade Garden Tea", "Jade Garden Tea / Hangzhou"}
    await fresh.send("/find jade")
    found = await fresh.expect("Found 1 for “jade”")
    assert any("Mei" in label for label in labels(found))

    # The consent question promises no welcome the shop does not send.
    await sun.send(f"/start w_{workspace.slug}")
    ask = await sun.expect("May we send you messages")
    assert "a welcome" not in ask["text"]
    await sun.press("Yes")
    await sun.expect("You're subscribed")

    # With a welcome campaign it does, and the welcome comes.
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")
    await owner.send("/campaign new")
    await owner.expect("What kind")
    await owner.press("Welcome on opt-in")
    await owner.expect("Which message template")
    await owner.press("Welcome message")
    await owner.expect("Who gets it")
    await owner.press("Done")
    await owner.expect("a name for this campaign")
    await owner.press("Welcome on opt-in")
    await owner.expect("Please check")
    await owner.press("Create")
    await owner.expect("Campaign Welcome on opt-in created")
    moon = person(MOON, "Moon")
    await moon.send(f"/start w_{workspace.slug}")
    ask = await moon.expect("May we send you messages")
    assert "That means a welcome" in ask["text"]
    await moon.press("Yes")
    await moon.expect("welcome to Wang's Tea House", "Stop these messages", timeout=30)

    # The opt-out confirmation points at the button under it.
    await moon.press("Stop these messages")
    done = await moon.expect("won't send you any more messages")
    assert "tap “🔔 Subscribe again” below" in done["text"]
    assert "ask us for the link" not in done["text"]
    assert labels(done) == ["🔔 Subscribe again"]
    await moon.press("Subscribe again")
    await moon.expect("You're subscribed to")

    # The copy of one's data is named by the shop's date, as exports are.
    await sun.send("/mydata")
    sent = await sun.expect("Everything the shops keep about you")
    today = show_day(datetime.now(UTC), ZoneInfo("Asia/Shanghai"))
    assert sent["document"]["file_name"] == f"my-data-{today}.json"

    # The lead pool shows every lead, a page at a time.
    for number in range(1, 13):
        seed_customer(db, f"Lead {number:02}", None)
    await owner.send("/pool")
    first = await owner.expect("14 waiting, oldest first (1–10)")
    await owner.press("Newer ▶️", first)
    second = await owner.expect("(11–14)", "Lead 12")
    assert "◀️ Older" in labels(second)
    await owner.press("◀️ Older", second)
    await owner.expect("(1–10)", "Lead 01", "Sun")
