"""Purchases in chat: amounts as typed, conversion, history and repurchases."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.harness import Workspace, query
from tests.e2e.test_pipeline import CHEN, LI, seed_customer
from tests.handlers.chat import ChatBot, Person, open_shop


async def test_buy_and_purchase_history(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(chat, workspace)
    db = chat.db_path
    zhao = seed_customer(db, "Zhao", LI)
    qian = seed_customer(db, "Qian", CHEN)
    li = crew.li

    await li.send(f"/purchases {zhao}")
    await li.expect(f"Zhao (#{zhao}) hasn't bought anything yet.")
    await li.send(f"/buy {zhao} 128.50 Longjing 250g")
    await li.expect(
        f"¥128.50 recorded for Zhao (#{zhao})",
        "Purchases: 1 · total ¥128.50",
        "Converted: this lead is now a customer",
    )
    await li.send(f"/buy {zhao} ¥1,280")
    bought = await li.expect("¥1,280.00 recorded", "Purchases: 2 · total ¥1,408.50")
    assert "Converted" not in bought["text"]

    await li.send(f"/buy {zhao} -5")
    await li.expect("The amount must be more than zero, like 128 or 128.50.")
    await li.send(f"/buy {zhao} 0")
    await li.expect("The amount must be more than zero")
    await li.send(f"/buy {zhao} lots")
    await li.expect("“lots” isn't an amount I understand. Try 128, 128.50 or 1,280.")
    await li.send(f"/buy {zhao}")
    await li.expect("Send it like this: /buy 12 128.50 Longjing 250g")
    await li.send(f"/buy {qian} 10")
    await li.expect(f"I can't find customer #{qian} among yours.")

    await li.send(f"/purchases {zhao}")
    await li.expect(
        f"Purchases of Zhao (#{zhao})",
        "¥128.50 — Longjing 250g",
        "¥1,280.00",
        "Total ¥1,408.50 in 2 purchases · repurchases: 1",
    )
    await li.send(f"/purchases {qian}")
    await li.expect(f"I can't find customer #{qian} among yours.")
    await crew.chen.send(f"/purchases {zhao}")
    await crew.chen.expect(f"I can't find customer #{zhao} among yours.")

    assert query(db, "SELECT amount_minor, currency, note FROM purchase ORDER BY id") == [
        (12850, "CNY", "Longjing 250g"),
        (128000, "CNY", None),
    ]
    assert query(db, "SELECT kind, stage FROM customer WHERE id = ?", zhao) == [
        ("customer", "won")
    ]
    assert query(db, "SELECT count(*) FROM purchase WHERE customer_id = ?", qian) == [(0,)]
