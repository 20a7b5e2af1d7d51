"""One meaning of "at risk": the value segment is "slipping", /atrisk lists churn episodes.

Regulars who bought three times long ago land in the RFM segment stored as
``at_risk`` when the tiers are recomputed, while churn detection has not run yet.
Every screen that counts them (/tiers, /find segment:…, /atrisk and the card)
names them "slipping" (下滑客户) and gives the same number; "at risk" is only
what /atrisk lists, and its count follows the churn episodes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.crm import churn
from bot.crm.store import unit_of_work
from tests.e2e.harness import Person, Workspace, execute, query
from tests.e2e.test_campaigns import stamp
from tests.e2e.test_pipeline import LI, seed_customer
from tests.handlers.chat import ChatBot, open_shop

REGULARS = ("Zhao", "Qian", "Sun", "Zhou")
NEWCOMERS = ("Wu", "Zheng", "Feng", "Chen", "Chu", "Wei")

# What each screen says, per language: the words that must be there (with the
# count in a group), and the words the segment must no longer be called.
SCREENS = {
    "en": {
        "tiers": r"• slipping: (\d+)",
        "find": r"Found (\d+) for “segment:slipping”",
        "find_command": "/find segment:slipping",
        "atrisk_slipping": r"Slipping \(bought often, not lately; [^)]*\): (\d+)\.",
        "atrisk_none": "Nobody is drifting away right now.",
        "atrisk_list": r"At risk: (\d+) customers",
        "card": "slipping",
        "old_name": "at risk:",
    },
    "zh-CN": {
        "tiers": r"• 下滑客户：(\d+)",
        "find": r"“segment:下滑”找到 (\d+) 条结果",
        "find_command": "/find segment:下滑",
        "atrisk_slipping": r"下滑客户（以前常买、最近没买；[^）]*）：(\d+) 位",
        "atrisk_none": "目前没有客户有流失风险",
        "atrisk_list": r"流失风险：共 (\d+) 位客户",
        "card": "下滑客户",
        "old_name": "有流失风险：",
    },
}


async def buy(person: Person, db: Path, customer: int, days_ago: tuple[int, ...]) -> None:
    """Record one purchase per entry of ``days_ago`` and move each that many days back."""
    for _ in days_ago:
        await person.send(f"/buy {customer} 88")
        await person.expect("recorded for")
    ids = [r[0] for r in query(db, "SELECT id FROM purchase WHERE customer_id = ?", customer)]
    now = datetime.now(UTC)
    for purchase, days in zip(ids, days_ago, strict=True):
        execute(
            db,
            "UPDATE purchase SET at = ? WHERE id = ?",
            stamp(now - timedelta(days=days)),
            purchase,
        )
    execute(db, "UPDATE customer SET last_contact_at = NULL WHERE id = ?", customer)


def count(pattern: str, text: str) -> int:
    """Return the number a screen shows in the group of ``pattern``."""
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return int(found.group(1))


async def seen(person: Person, command: str) -> str:
    """Send a command and return the text of the reply."""
    await person.send(command)
    reply = await person.expect()
    return str(reply["text"])


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_every_screen_counts_the_slipping_and_the_at_risk_alike(
    chat: ChatBot, workspace: Workspace, locale: str
) -> None:
    words = SCREENS[locale]
    crew = await open_shop(chat, workspace)
    db = chat.db_path
    regulars = [seed_customer(db, name, LI) for name in REGULARS]
    for customer in regulars:
        await buy(crew.li, db, customer, (100, 86, 72))
    for name in NEWCOMERS:
        await buy(crew.li, db, seed_customer(db, name, LI), (1,))
    if locale == "zh-CN":
        for person in (crew.owner, crew.li):
            await person.send("/lang zh-CN")
            await person.expect()
    await crew.owner.send("/tiers recompute")
    await crew.owner.expect("10")
    stored = query(db, "SELECT count(*) FROM customer WHERE rfm_segment = 'at_risk'")
    assert stored == [(4,)]
    assert query(db, "SELECT count(*) FROM customer WHERE at_risk_since IS NOT NULL") == [(0,)]

    async def screens(person: Person) -> tuple[int, int, str]:
        """Return the slipping count of /tiers and /find, and the /atrisk reply."""
        tiers = await seen(person, "/tiers")
        assert words["old_name"] not in tiers
        found = await seen(person, words["find_command"])
        atrisk = await seen(person, "/atrisk")
        assert count(words["atrisk_slipping"], atrisk) == count(words["tiers"], tiers)
        return count(words["tiers"], tiers), count(words["find"], found), atrisk

    # Before churn detection: four slipping everywhere, nobody drifting away yet.
    for person in (crew.owner, crew.li):
        in_tiers, in_find, atrisk = await screens(person)
        assert in_tiers == in_find == 4
        assert words["atrisk_none"] in atrisk
    await crew.owner.send(f"/card {regulars[0]}")
    await crew.owner.expect(words["card"])

    # The daily detection opens their churn episodes: /atrisk lists them as at risk,
    # and the slipping count stays the one /tiers and /find show.
    async with unit_of_work(chat.sessions) as session:
        opened = await churn.detect(session, 1, now=datetime.now(UTC))
    assert sorted(r.customer_id for r in opened) == regulars
    for person in (crew.owner, crew.li):
        in_tiers, in_find, atrisk = await screens(person)
        assert in_tiers == in_find == 4
        assert count(words["atrisk_list"], atrisk) == len(opened)


async def test_old_segment_word_and_a_wrong_one(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    await crew.owner.send("/find segment:vip")
    hint = await crew.owner.expect(
        "The segment is champions", "slipping", "/find segment:slipping"
    )
    assert "at_risk" not in hint["text"]
    # Shops used to typing the stored key still get the same customers.
    await crew.owner.send("/find segment:at_risk")
    await crew.owner.expect("segment:at_risk")


async def test_find_without_words_suggests_the_slipping_segment(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    await crew.owner.send("/find")
    await crew.owner.expect("segment:slipping to narrow it")
    await crew.li.send("/lang zh-CN")
    await crew.li.expect()
    await crew.li.send("/find")
    await crew.li.expect("或 分群:下滑 可缩小范围")
