"""/export and /import: files limited to the sender's scope, a round trip, broken files."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from tests.e2e.harness import (
    BotOptions,
    Emulator,
    Person,
    Workspace,
    create_workspace,
    execute,
    query,
)

OWNER, REP, RIVAL = 1001, 1002, 1101
CREATED = "2026-11-20 08:00:00.000000"


def add_customer(db: Path, slug: str, name: str, phone: str | None, owner_tg: int | None) -> None:
    """Insert a customer straight into the bot's database."""
    (workspace_id,) = query(db, "SELECT id FROM workspace WHERE slug = ?", slug)[0]
    owner = query(db, "SELECT id FROM member WHERE tg_user_id = ?", owner_tg) if owner_tg else []
    execute(
        db,
        "INSERT INTO customer (workspace_id, owner_member_id, name, phone, kind, consent,"
        " reachable, source, stage, score, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, 'lead', 'unknown', 1, 'staff', 'new', 0, ?, ?)",
        workspace_id,
        owner[0][0] if owner else None,
        name,
        phone,
        CREATED,
        CREATED,
    )


async def download(message: dict[str, Any]) -> bytes:
    """Fetch the document a bot message carries, as the user's client would."""
    async with httpx.AsyncClient() as http:
        response = await http.get(message["document"]["url"])
    response.raise_for_status()
    return response.content


async def answer_of(emu: Emulator, callback_query_id: str) -> str:
    """Wait until the bot answers a button press and return the toast text."""
    async with asyncio.timeout(15):
        while True:
            response = await emu.http.get(f"/_emulator/callbacks/{callback_query_id}")
            body = response.json()
            if body.get("answered"):
                return str(body["answer"]["text"] or "")
            await asyncio.sleep(0.2)


async def join_team(owner: Person, rep: Person, workspace: Workspace) -> None:
    """Make ``owner`` the owner of ``workspace`` and ``rep`` one of its staff."""
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/invite staff")
    invite = await owner.expect("Invite for a new")
    await rep.send("/start " + invite["text"].split("?start=")[1].split()[0])
    await rep.expect("You joined as staff")


async def test_export_scope_and_xlsx_round_trip(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    rival_shop = await create_workspace(options, name="Li's Porcelain")
    await start_bot(options)
    owner, rep, rival = person(OWNER, "Wang"), person(REP, "Li"), person(RIVAL, "Zhao")
    await join_team(owner, rep, workspace)
    await rival.send(f"/start {rival_shop.owner_payload}")
    await rival.expect("Welcome to")
    db = options.db_path
    add_customer(db, workspace.slug, "张三", "+8613800138001", REP)
    add_customer(db, workspace.slug, "Rep's second", None, REP)
    add_customer(db, workspace.slug, "Owner's own", "+8613800138002", OWNER)
    add_customer(db, workspace.slug, "In the pool", None, None)
    add_customer(db, rival_shop.slug, "Rival's customer", "+8613800138003", RIVAL)

    await rep.send("/export csv")
    sent = await rep.expect("📤 Customers exported: 2")
    assert sent["document"]["file_name"].endswith(".csv")
    content = await download(sent)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [(r["Name"], r["Owner"]) for r in rows] == [("张三", "Li"), ("Rep's second", "Li")]

    await owner.send("/export")
    await owner.expect("Which format?")
    await owner.press("XLSX")
    sent = await owner.expect("📤 Customers exported: 4")
    workbook = await download(sent)
    sheet = load_workbook(io.BytesIO(workbook), read_only=True).worksheets[0]
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["张三", "Rep's second", "Owner's own", "In the pool"]
    assert query(db, "SELECT details FROM audit_log WHERE action = 'customer.export'") == [
        ('{"format": "csv", "filter": {}, "rows": 2}',),
        ('{"format": "xlsx", "filter": {}, "rows": 4}',),
    ]

    # Sending the same file back creates nothing: every row is already in the shop.
    await owner.send("/import")
    await owner.expect("Send me a CSV or XLSX file")
    await emu.upload("document", OWNER, "customers.xlsx", workbook)
    await owner.expect(
        "new customers to import: 0", "4 already in the shop", "Nothing new to import"
    )

    # After two customers are lost, the file brings exactly those two back.
    execute(db, "DELETE FROM customer WHERE name IN ('张三', 'In the pool')")
    await owner.send("/import")
    await owner.expect("Send me a CSV or XLSX file")
    await emu.upload("document", OWNER, "customers.xlsx", workbook)
    await owner.expect("new customers to import: 2", "2 already in the shop")
    await owner.press("Import 2")
    await owner.expect("Imported customers: 2", "Skipped duplicates: 2")
    assert query(
        db,
        "SELECT c.name, c.phone, m.tg_user_id FROM customer c JOIN member m"
        " ON m.id = c.owner_member_id WHERE c.source = 'import' ORDER BY c.name",
    ) == [("In the pool", None, OWNER), ("张三", "+8613800138001", OWNER)]
    assert query(db, "SELECT count(*) FROM customer") == [(5,)]

    await rival.send("/export xlsx stage=new")
    sent = await rival.expect("📤 Customers exported: 1", "stage=new")
    sheet = load_workbook(io.BytesIO(await download(sent)), read_only=True).worksheets[0]
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Rival's customer"]


# Uploads and downloads under both frameworks are the round trip above.
@pytest.mark.parametrize("framework", ["aiogram"])
async def test_broken_file_reports_rows_and_imports_nothing(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    await start_bot(options)
    owner, rep = person(OWNER, "Wang"), person(REP, "Li")
    await join_team(owner, rep, workspace)

    await rep.send("/import")
    await rep.expect("Send me a CSV or XLSX file")
    await rep.send("here you go")
    await rep.expect("Please send the customers as a file")
    await emu.upload("document", REP, "notes.txt", b"hello")
    await rep.expect("Please send a .csv or .xlsx file")
    broken = (
        "姓名,电话,阶段,colour\n"
        "Good One,13800138010,new,red\n"
        ",13800138011,,\n"
        "Bad <Phone>,12345,,\n"
        "Bad Stage,,sold,\n"
    ).encode("utf-8-sig")
    await emu.upload("document", REP, "customers.csv", broken)
    report = await rep.expect("3 of 4 rows have problems", "nothing was imported")
    assert "Row 3: the name is missing" in report["text"]
    assert "Row 4: “12345” isn't a valid phone number" in report["text"]
    assert (
        "Row 5: Stage “sold” isn't one of New, Contacted, Qualified, Won, Lost" in report["text"]
    )
    await rep.expect("Send the corrected file")
    assert query(options.db_path, "SELECT count(*) FROM customer") == [(0,)]

    fixed = "姓名,电话,阶段,colour\nGood One,13800138010,new,red\nBad <Phone>,,won,\n"
    await emu.upload("document", REP, "customers.csv", fixed.encode())
    await rep.expect("new customers to import: 2", "Ignored columns I don't know: colour")
    await rep.send("maybe")
    await rep.expect("Tap “Import”")
    await rep.expect("new customers to import: 2")
    await rep.press("Import 2")
    await rep.expect("Imported customers: 2")
    assert query(
        options.db_path,
        "SELECT c.name, c.phone, c.stage, m.tg_user_id FROM customer c"
        " JOIN member m ON m.id = c.owner_member_id ORDER BY c.id",
    ) == [("Good One", "+8613800138010", "new", REP), ("Bad <Phone>", None, "won", REP)]
    assert query(options.db_path, "SELECT count(*) FROM conversation_state") == [(0,)]


async def test_cancel_button_imports_nothing(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/import")
    await owner.expect("Send me a CSV or XLSX file")
    await emu.upload("document", OWNER, "one.csv", b"name\nSolo\n")
    confirm = await owner.expect("new customers to import: 1")
    await owner.press("Cancel")
    await owner.expect("Nothing was imported")
    pressed = await emu.post(
        "callback",
        user_id=OWNER,
        message_id=confirm["message_id"],
        data=confirm["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        force=True,
    )
    assert await answer_of(emu, pressed["callback_query_id"]) == "This button has expired."
    await owner.send("/export pdf")
    await owner.expect("Please say csv or xlsx")
    await owner.send("/export csv colour=red")
    await owner.expect("I don't understand the filter")
    await owner.send("/export csv")
    await owner.expect("You have no customers to export yet")
    await owner.send("/export xlsx stage=won owner=none")
    await owner.expect("No customers match stage=won owner=none")
    assert query(options.db_path, "SELECT count(*) FROM customer") == [(0,)]
