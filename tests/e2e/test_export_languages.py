"""/export in the requester's language, and /import of that file by someone reading another."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Emulator, Person, Workspace, execute, query
from tests.e2e.test_transfer import OWNER, add_customer, download

pytestmark = pytest.mark.parametrize("framework", ["ptb"])


async def test_a_chinese_export_reads_in_chinese_and_imports_back(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    await start_bot(options)
    db = options.db_path
    owner = person(OWNER, "Wang", "zh-hans")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("欢迎")
    add_customer(db, workspace.slug, "孙梅", "+8613800138001", OWNER)
    execute(
        db,
        "UPDATE customer SET stage = 'won', kind = 'customer', gender = 'female',"
        " age_band = '35_44', preferences = '[\"gift_sets\", \"premium\"]',"
        " birthday_date = '1988-03-08', notes = '喜欢乌龙'",
    )

    await owner.send("/export csv")
    sent = await owner.expect("📤")
    content = await download(sent)
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [(r["姓名"], r["阶段"], r["客户类型"], r["性别"], r["年龄段"]) for r in rows] == [
        ("孙梅", "已成交", "客户", "女", "35–44 岁")
    ]
    assert (rows[0]["偏好"], rows[0]["生日"], rows[0]["消息订阅"]) == (
        "礼盒, 高端",
        "1988-03-08",
        "尚未询问",
    )

    # The customer is lost; an English-reading owner brings her back from the Chinese file.
    execute(db, "DELETE FROM customer")
    await owner.send("/lang en")
    await owner.expect("English")
    await owner.send("/import")
    await owner.expect("Send me a CSV or XLSX file")
    await emu.upload("document", OWNER, "客户.csv", content)
    await owner.expect("new customers to import: 1")
    await owner.press("Import 1")
    await owner.expect("Imported customers: 1")
    assert query(
        db,
        "SELECT name, stage, kind, gender, age_band, preferences, birthday_date, notes"
        " FROM customer",
    ) == [
        (
            "孙梅",
            "won",
            "customer",
            "female",
            "35_44",
            '["gift_sets", "premium"]',
            "1988-03-08",
            "喜欢乌龙",
        )
    ]
