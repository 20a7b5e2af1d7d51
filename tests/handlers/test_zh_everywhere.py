"""A Chinese shop hears Chinese: every command /help names, for every role, and its buttons.

The demo shop is seeded, its data (names, companies, tags, regions, notes) renamed
to Chinese so that only the bot's own words are left in English, and every person
speaks zh-CN: the owner, an admin, a rep and a customer. Each opens /help, every
topic, then every command the topics name, bare and with a customer id where it
takes one, and presses every button of those replies once. No reply may hold an
English word (beyond a short list of names such as CSV or Telegram) or a snake_case
identifier.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.crm.store import unit_of_work
from bot.sandbox.demo import seed_demo
from tests.e2e.harness import execute
from tests.handlers.chat import ChatBot, Person
from tests.handlers.test_inbox_relay import labels

pytestmark = pytest.mark.timeout(240)

OWNER, LI, CHEN, ZHAO = 1001, 1002, 1003, 2001
# Words that are names, formats or units in Chinese text too.
ALLOWED = {
    "csv",
    "xlsx",
    "telegram",
    "sla",
    "vip",
    "rfm",
    "clv",
    "kpi",
    "id",
    "hh",
    "mm",
    "en",
    "zh",
    "cn",
    "ok",
    "am",
    "pm",
    "utc",
    "gmt",
    "asia",
    "shanghai",
    "cny",
    "json",
    "url",
}
WORD = re.compile(r"[A-Za-z]{2,}")
SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
COMMAND = re.compile(r"/[a-z_]+(?:@\w+)?")
SKIP = re.compile(
    r"https?://\S+|t\.me/\S+|\b[\w.-]+\.(?:csv|xlsx|json|png|zip)\b|\binv_\w+|\bc_\w+"
    # A template's own source: the variables an admin writes, as in the editor's list.
    r"|\{\{.*?\}\}|\{%.*?%\}"
    # Settings and files by name (config.toml, backup.dir).
    r"|\b[a-z_]+\.[a-z_]+\b"
    # Abbreviations (CST, SLA, VIP…) and the formats' names are the same in Chinese.
    r"|\b[A-Z]{2,5}\b|\bExcel\b"
)


def offenders(text: str) -> list[str]:
    """Return the English words and snake_case identifiers in a zh-CN reply."""
    plain = html.unescape(re.sub(r"<[^>]+>", " ", text))
    plain = SKIP.sub(" ", plain)
    snakes = SNAKE.findall(plain)
    plain = COMMAND.sub(" ", plain)
    words = [w for w in WORD.findall(plain) if w.lower() not in ALLOWED]
    return snakes + words


async def seed_chinese_demo(chat: ChatBot) -> None:
    """Seed the demo shop and give its data Chinese names; everyone speaks zh-CN."""
    async with unit_of_work(chat.sessions) as session:
        await seed_demo(session, now=datetime.now(UTC))
    db = chat.db_path
    execute(db, "UPDATE workspace SET name = '演示茶馆', locale = 'zh-CN'")
    for tg in (1001, 1002, 1003, 2001, 2002):
        execute(db, "INSERT INTO user_pref VALUES (?, 'zh-CN', CURRENT_TIMESTAMP)", tg)
    execute(db, "UPDATE member SET display_name = '王' WHERE tg_user_id = 1001")
    execute(db, "UPDATE member SET display_name = '李' WHERE tg_user_id = 1002")
    execute(db, "UPDATE member SET display_name = '陈', role = 'admin' WHERE tg_user_id = 1003")
    execute(db, "UPDATE customer SET name = '客户' || id, locale = 'zh-CN', notes = '喜欢乌龙'")
    execute(db, "UPDATE company SET name = '公司' || id")
    execute(db, "UPDATE tag SET name = '标签' || id")
    execute(db, "UPDATE customer SET region = '北区' WHERE region IS NOT NULL")
    execute(db, "UPDATE campaign SET name = '活动' || id")
    execute(db, "UPDATE field_option SET label = '选项' || id WHERE label IS NOT NULL")
    execute(db, "UPDATE purchase SET note = '茶叶' WHERE note IS NOT NULL")
    execute(db, "UPDATE reminder SET text = '送样品'")
    execute(db, "UPDATE follow_up SET summary = '聊了新茶', outcome = NULL, next_step = NULL")


def new_messages(chat: ChatBot, who: Person, since: int) -> list[dict[str, Any]]:
    return [m for m in chat.messenger.chats[who.id] if m["seq"] > since]


def last_seq(chat: ChatBot, who: Person) -> int:
    messages = chat.messenger.chats[who.id]
    return messages[-1]["seq"] if messages else 0


def words_of(message: dict[str, Any]) -> list[str]:
    text = message.get("text") or message.get("caption") or ""
    return [text, *labels(message)]


async def walk(chat: ChatBot, who: Person, found: dict[str, list[str]]) -> set[str]:
    """Open /help and its topics, then every command they name and their buttons."""

    async def run(step: str, action: Any) -> list[dict[str, Any]]:
        since = last_seq(chat, who)
        try:
            await action
        except Exception as exc:  # noqa: BLE001 - a reply Telegram refuses is a finding too
            found.setdefault(f"{who.first_name} {step}", []).append(f"failed: {exc}")
            return []
        replies = new_messages(chat, who, since)
        for reply in replies:
            for text in words_of(reply):
                bad = offenders(text)
                if bad:
                    found.setdefault(f"{who.first_name} {step}", []).append(
                        f"{bad[:6]} in {text[:160]!r}"
                    )
        return replies

    replies = await run("/help", who.send("/help"))
    commands: set[str] = set(COMMAND.findall(replies[-1]["text"]))
    for label in labels(replies[-1]):
        topic = await run(f"/help {label}", who.press(label, replies[-1]))
        for message in topic:
            commands |= set(COMMAND.findall(message.get("text") or ""))
    # /lang offers each language by its own name, and switching to English is English.
    for command in sorted(commands - {"/lang"}):
        for typed in (command, f"{command} 5"):
            got = await run(typed, who.send(typed))
            await who.send("/cancel")
            for message in got:
                for label in labels(message):
                    if message.get("reply_markup", {}).get("inline_keyboard") is None:
                        continue
                    try:
                        await run(f"{typed} ▸ {label}", who.press(label, message))
                    except AssertionError:
                        continue  # a link button
                    await who.send("/cancel")
    return commands


async def test_a_chinese_shop_hears_no_english(chat: ChatBot) -> None:
    await seed_chinese_demo(chat)
    found: dict[str, list[str]] = {}
    people = (
        chat.person(OWNER, "王", "zh-hans"),
        chat.person(CHEN, "陈", "zh-hans"),
        chat.person(LI, "李", "zh-hans"),
        chat.person(ZHAO, "客户", "zh-hans"),
    )
    walked = {who.first_name: await walk(chat, who, found) for who in people}
    report = "\n".join(f"{step}: {line}" for step, lines in found.items() for line in lines)
    assert not found, report
    # The walk reached every topic's commands, not just /help.
    assert len(walked["王"]) > 60, sorted(walked["王"])
    assert {"/fields", "/inbox", "/backup", "/quick"} <= walked["王"]
    assert "/privacy" in walked["客户"] and "/inbox" not in walked["客户"]
