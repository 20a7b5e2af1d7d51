"""A Chinese shop in a real bot process, under both frameworks: Chinese help, Chinese words.

The owner's Telegram speaks Chinese. /help's usage lines, the stages, tag
dimensions, template names and plural-free counts come back in Chinese, and the
keywords /help shows (关闭, 重新计算, 分层:高, 阶段=…) are understood. Each reply
is checked by the same rule as the walk through every command: no English word,
no snake_case identifier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.harness import BotOptions, Person, Workspace, execute, query
from tests.e2e.test_pipeline import OWNER, seed_customer
from tests.handlers.test_zh_everywhere import offenders


async def said(owner: Person, *fragments: str) -> dict[str, Any]:
    """Wait for a reply holding ``fragments`` and check it is all Chinese."""
    reply = await owner.expect(*fragments)
    buttons = [b["text"] for row in (reply.get("reply_markup") or {}).get("inline_keyboard", [])
               for b in row]  # fmt: skip
    for text in (reply.get("text") or "", *buttons):
        assert offenders(text) == [], text
    return reply


async def test_a_chinese_owner_reads_and_types_chinese(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    owner = person(OWNER, "王", "zh-hans")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("欢迎")
    db = options.db_path
    customer = seed_customer(db, "老陈", OWNER)
    execute(db, "UPDATE workspace SET name = '王记茶庄'")

    await owner.send("/help")
    overview = await said(owner, "/help")
    await owner.press("👥 客户", overview)
    await said(owner, "/card <编号>", "/find <姓名、电话、公司或标签> [分层:高|中|低]")

    await owner.send("/stages")
    await said(owner, "• 新建", "• 已成交")
    await owner.send(f"/stage {customer} 已成交")
    await said(owner, "已成交")

    await owner.send("/tagdef 贵宾 兴趣 30")
    await said(owner, "贵宾", "兴趣")
    await owner.send(f"/tag {customer} +贵宾")
    await owner.send("/tags")
    await said(owner, "兴趣", "贵宾 (+30)")

    await owner.send("/templates")
    await said(owner, "每周问候", "中文")
    await owner.send("/template 生日祝福")
    await said(owner, "生日祝福 · 中文")

    await owner.send("/quiet 关闭")
    await said(owner, "免打扰已关闭")
    # A buyer of two months counts for the tiers (a first purchase today would not yet).
    for days_ago in (60, 30):
        execute(
            db,
            "INSERT INTO purchase (workspace_id, customer_id, amount_minor, currency, at)"
            " VALUES (1, ?, 50000, 'CNY', datetime('now', ?))",
            customer,
            f"-{days_ago} days",
        )
    await owner.send("/tiers 重新计算")
    await said(owner, "价值分层已重新计算：1 位购买客户")
    (tier,) = query(db, "SELECT value_tier FROM customer WHERE id = ?", customer)[0]
    await owner.send(f"/find 分层:{ {'high': '高', 'medium': '中', 'low': '低'}[tier] }")
    found = await said(owner, "找到 1 条结果")
    assert "老陈" in found["reply_markup"]["inline_keyboard"][0][0]["text"]
    await owner.send("/stats 月")
    await said(owner, "店铺指标")
    await owner.send("/export")
    await said(owner, "阶段=已成交")
