"""Heavy uploads: a zip bomb is refused with its limit while other shops are answered at once.

Also the spreadsheets merchants really send: Excel's "Unicode text" (UTF-16) and
a CSV saved on a Chinese system (GBK) import like any other file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, BotProcess, Emulator, Person, Workspace, query
from tests.e2e.harness import create_workspace as create_shop
from tests.e2e.test_transfer import join_team
from tests.spreadsheets import bomb_xlsx, encoded_csv, unicode_text

OWNER, REP, OTHER = 1001, 1002, 1101


def peak_rss_mb(bot: BotProcess) -> float:
    """Return the bot process's peak resident memory so far, in MB."""
    assert bot.proc is not None
    status = Path(f"/proc/{bot.proc.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


@pytest.mark.timeout(120)
async def test_a_zip_bomb_is_refused_while_another_shop_is_answered(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    other_shop = await create_shop(options, name="Li's Porcelain")
    bot = await start_bot(options)
    owner, rep, other = person(OWNER, "Wang"), person(REP, "Li"), person(OTHER, "Zhao")
    await join_team(owner, rep, workspace)
    await other.send(f"/start {other_shop.owner_payload}")
    await other.expect("Welcome to")
    await rep.send("/import")
    await rep.expect("Send me a CSV or XLSX file")
    bomb = bomb_xlsx()
    before = peak_rss_mb(bot)

    await emu.upload("document", REP, "customers.xlsx", bomb)
    asked = time.monotonic()
    await other.send("/help")
    await other.expect("/stats", timeout=2)
    assert time.monotonic() - asked < 2

    refused = await rep.expect("That workbook unpacks to more than 30 MB")
    assert "send a CSV" in refused["text"]
    await rep.expect("Send me a CSV or XLSX file")
    assert query(options.db_path, "SELECT count(*) FROM customer") == [(0,)]
    # The report: memory went from ~300 MB to ~585 MB while the bomb was parsed.
    assert peak_rss_mb(bot) - before < 50


# Reading the files is the bot's own; uploads under both frameworks are the test above.
@pytest.mark.timeout(120)
@pytest.mark.parametrize("framework", ["ptb"])
async def test_unicode_text_and_gbk_csv_import(
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
    rows = [["姓名", "电话", "公司"], ["张三", "13800138001", "绿叶茶行"], ["李四", "", ""]]
    await emu.upload("document", OWNER, "客户.csv", unicode_text(rows))
    await owner.expect("new customers to import: 2")
    await owner.press("Import 2")
    await owner.expect("Imported customers: 2")

    await owner.send("/import")
    await owner.expect("Send me a CSV or XLSX file")
    rows = [["姓名", "手机", "标签"], ["王五", "13800138002", ""], ["赵六", "13800138003", ""]]
    await emu.upload("document", OWNER, "客户-GBK.csv", encoded_csv(rows, "gbk"))
    await owner.expect("new customers to import: 2")
    await owner.press("Import 2")
    await owner.expect("Imported customers: 2")

    assert query(
        options.db_path,
        "SELECT c.name, c.phone, co.name FROM customer c"
        " LEFT JOIN company co ON co.id = c.company_id ORDER BY c.id",
    ) == [
        ("张三", "+8613800138001", "绿叶茶行"),
        ("李四", None, None),
        ("王五", "+8613800138002", None),
        ("赵六", "+8613800138003", None),
    ]
