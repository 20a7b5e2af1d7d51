"""One meaning of "at risk", end to end: the slipping segment and /atrisk agree.

After /tiers recompute, regulars who stopped buying are "slipping" (下滑客户) on
/tiers and /find, and /atrisk counts them the same while it says nobody is at
risk; once churn detection opens their episodes, /atrisk lists them as at risk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, query
from tests.e2e.test_atrisk import buy_long_ago, detect
from tests.e2e.test_pipeline import LI, open_shop, seed_customer


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_slipping_and_at_risk_agree_in_english_and_chinese(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person)
    owner, li = crew.owner, crew.li
    db = options.db_path
    regulars = [seed_customer(db, name, LI, kind="customer") for name in ("Zhao", "Qian")]
    for customer in regulars:
        await buy_long_ago(li, db, customer)
    newcomer = seed_customer(db, "Sun", LI, kind="customer")
    await li.send(f"/buy {newcomer} 88")
    await li.expect("recorded for Sun")
    await owner.send("/tiers recompute")
    await owner.expect("Value tiers recomputed: 3 buyers")
    assert query(db, "SELECT count(*) FROM customer WHERE rfm_segment = 'at_risk'") == [(2,)]

    await owner.send("/tiers")
    tiers = await owner.expect("• slipping: 2", "/find segment:slipping")
    assert "at risk" not in tiers["text"]
    await owner.send("/find segment:slipping")
    await owner.expect("Found 2 for “segment:slipping”")
    await owner.send("/atrisk")
    await owner.expect(
        "Nobody is drifting away right now.",
        "Slipping (bought often, not lately; updated with the value tiers): 2.",
    )

    await li.send("/lang zh-CN")
    await li.expect()
    await li.send("/tiers")
    tiers = await li.expect("• 下滑客户：2", "/find 分群:下滑")
    assert "有流失风险" not in tiers["text"]
    await li.send("/find segment:下滑")
    await li.expect("“segment:下滑”找到 2 条结果")
    await li.send("/atrisk")
    await li.expect(
        "目前没有客户有流失风险", "下滑客户（以前常买、最近没买；随价值层级一起更新）：2 位"
    )

    # The daily churn detection opens their episodes: now they are at risk too.
    assert sorted(a.customer_id for a in await detect(db)) == regulars
    await owner.send("/atrisk")
    await owner.expect("At risk: 2 customers", "Zhao", "Qian", "Slipping (bought often")
    await li.send("/atrisk")
    await li.expect("流失风险：共 2 位客户", "下滑客户（以前常买")
