"""Bad button data at every button of every router gets the one "expired" answer.

For each button prefix the routers handle, the person who could see the button
(a customer for the routers open to anyone, else the shop's owner) presses its
prefix alone, empty, missing, extra and mangled fields, non-numbers, negative and
huge numbers, unicode, its longest data cut short at every byte, and data pointing
at another shop's rows; then data no prefix starts with. Each press must be
answered with exactly the translated "This button has expired.", with nothing
else sent (no apology) and nothing changed in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.callbacks import EXPIRED, Field, Id, lookup
from bot.campaigns import campaigns, template_store
from bot.chat.dispatcher import button_table
from bot.crm import complaints, invites, reminders, workspaces
from bot.crm.inbox import quick, threads
from bot.crm.models import (
    CampaignKind,
    CampaignRun,
    Consent,
    Customer,
    Member,
    MessageKind,
    Role,
    SurveyAnswer,
    utcnow,
)
from bot.crm.store import unit_of_work
from bot.handlers import ROUTERS
from bot.i18n import translate
from tests.e2e.harness import Workspace, query
from tests.handlers.button_cases import UNKNOWN, foreign, malformed, truncated
from tests.handlers.chat import ChatBot, Controls, Person

OWNER, CUSTOMER = 1001, 2001
# Tables whose rows change on every update, whatever it does.
BOOKKEEPING = {"processed_update", "alembic_version", "sqlite_sequence"}
TABLE = button_table(ROUTERS)


@pytest.mark.parametrize(
    ("locale", "expired"), [("en", "This button has expired."), ("zh-CN", "这个按钮已失效。")]
)
async def test_bad_button_data_is_answered_as_expired_and_changes_nothing(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
    locale: str,
    expired: str,
) -> None:
    assert translate(locale, EXPIRED) == expired
    owner, customer = await _open_shop(workspace, person, locale)
    home = _workspace_id(chat.db_path)
    rows = await _other_shop(chat)
    tables = {
        str(slot.kind.ref)
        for _, spec in TABLE.values()
        for slot in spec.kind.layout
        if isinstance(slot.kind, Id)
    }
    assert tables <= rows.keys(), f"give the other shop rows of {sorted(tables - rows.keys())}"

    controls, failures, pressed = Controls(chat), [], 0
    for prefix, (router, spec) in sorted(TABLE.items()):
        presser = customer if router.roles is None else owner
        cases = [*malformed(spec.kind), *truncated(spec.kind)]
        other = foreign(spec.kind, rows)
        cases += [other] if other is not None else []
        before = _snapshot(chat.db_path)
        for data in dict.fromkeys(cases):
            if not _is_bad(chat.db_path, home, data):
                continue
            pressed += 1
            answer, sent = await _press(chat, controls, presser.id, data)
            if answer != expired or sent:
                failures.append(f"{router.name} {data!r}: answered {answer!r}, sent {sent!r}")
        if _snapshot(chat.db_path) != before:
            failures.append(f"{router.name} {prefix!r}: the database changed")
    for data in UNKNOWN:
        for presser in (owner, customer):
            pressed += 1
            answer, sent = await _press(chat, controls, presser.id, data)
            if answer != expired or sent:
                failures.append(f"unknown {data!r}: answered {answer!r}, sent {sent!r}")

    assert pressed > 40 * len(TABLE)
    assert not failures, "\n".join(failures[:30])


async def _open_shop(
    workspace: Workspace, person: Callable[..., Person], locale: str
) -> tuple[Person, Person]:
    """The owner joins; a customer joins and says yes; both speak ``locale``."""
    owner, customer = person(OWNER, "Wang"), person(CUSTOMER, "Zhao")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await customer.send(f"/start w_{workspace.slug}")
    await customer.expect("May we send you messages")
    await customer.press("Yes")
    await customer.expect("You're subscribed")
    for someone in (owner, customer):
        await someone.send(f"/lang {locale}")
    return owner, customer


async def _other_shop(chat: ChatBot) -> dict[str, int]:
    """Create another shop with one row of each kind a button points at; return their ids."""
    now = utcnow()
    async with unit_of_work(chat.sessions) as session:
        ws = await workspaces.create_workspace(
            session, name="Li's Porcelain", timezone="Asia/Shanghai", locale="en", region="CN"
        )
        owner = Member(
            workspace_id=ws.id,
            tg_user_id=1101,
            chat_id=1101,
            role=Role.OWNER,
            display_name="Li",
            referral_code="other-shop",
        )
        buyer = Customer(
            workspace_id=ws.id,
            name="Qian",
            tg_user_id=2101,
            chat_id=2101,
            consent=Consent.OPTED_IN,
        )
        session.add_all([owner, buyer])
        await session.flush()
        ttl = timedelta(hours=1)
        await invites.issue_invite(
            session, workspace_id=ws.id, role=Role.STAFF, now=now, ttl=ttl, actor=owner
        )
        await complaints.open_complaint(
            session,
            workspace_id=ws.id,
            customer_id=buyer.id,
            text="A cracked cup",
            photo_file_id=None,
            source="customer",
            now=now,
        )
        await template_store.ensure_defaults(session, workspace_id=ws.id)
        survey = await campaigns.create_campaign(
            session,
            actor=owner,
            name="How did we do?",
            kind=CampaignKind.SURVEY,
            template_key="survey_invitation",
            audience={},
            now=now,
        )
        # A survey sent right away has its run at once.
        run = await session.scalar(select(CampaignRun).where(CampaignRun.campaign_id == survey.id))
        assert run is not None
        session.add(
            SurveyAnswer(workspace_id=ws.id, customer_id=buyer.id, run_id=run.id, score=4, at=now)
        )
        await reminders.create_reminder(
            session, actor=owner, customer_id=buyer.id, text="Call", due_at=now + ttl, now=now
        )
        await threads.record_inbound(
            session,
            customer=buyer,
            kind=MessageKind.TEXT,
            text="Do you have aged pu'er?",
            file_id=None,
            tg_chat_id=buyer.tg_user_id or 0,
            tg_message_id=1,
            now=now,
        )
        await quick.add_quick(session, actor=owner, key="price", locale="en", text="Hi", now=now)
        other = ws.id
    rows = {"workspace": other}
    for table in _tables(chat.db_path):
        columns = {c[1] for c in query(chat.db_path, f'PRAGMA table_info("{table}")')}
        if "workspace_id" in columns and "id" in columns:
            sql = f'SELECT min(id) FROM "{table}" WHERE workspace_id = ?'  # noqa: S608
            first = query(chat.db_path, sql, other)[0][0]
            if first is not None:
                rows[table] = int(first)
    return rows


def _is_bad(db_path: Path, home: int, data: str) -> bool:
    """Return whether ``data`` must be answered as expired.

    Data no button reads is bad; so is a button whose references (ids, or names such
    as a region) point at nothing of the presser's shop. Data of a real button that
    points at nothing (a page number, a shape of another button) is not bad data.
    """
    found = lookup(TABLE, data)
    pressed = found[1].kind.parse(data) if found is not None else None
    if pressed is None:
        return True
    refs = [
        (slot.kind, getattr(pressed, slot.name))
        for slot in pressed.layout
        if slot.kind.ref and getattr(pressed, slot.name) != slot.default
    ]
    return bool(refs) and not any(_at_home(db_path, home, kind, value) for kind, value in refs)


def _at_home(db_path: Path, home: int, kind: Field, value: Any) -> bool:
    """Return whether an id is a row of the presser's shop (names made up here never are)."""
    if not isinstance(kind, Id):
        return False
    if kind.ref == "workspace":
        return bool(value == home)
    sql = f'SELECT 1 FROM "{kind.ref}" WHERE id = ? AND workspace_id = ?'  # noqa: S608
    return bool(query(db_path, sql, value, home))


async def _press(
    chat: ChatBot, controls: Controls, user_id: int, data: str
) -> tuple[str | None, list[str]]:
    """Press a button with ``data``; return the answer and what else the bot sent."""
    sent = {chat_id: len(messages) for chat_id, messages in chat.messenger.chats.items()}
    pressed = await controls.post("callback", user_id=user_id, message_id=1, data=data)
    query_id = pressed["callback_query_id"]
    answers = [text for cid, text, _ in chat.messenger.answers if cid == query_id]
    new = [
        str(m.get("text") or m.get("caption") or m)
        for chat_id, messages in chat.messenger.chats.items()
        for m in messages[sent.get(chat_id, 0) :]
    ]
    return (answers[0] if len(answers) == 1 else repr(answers)), new


def _workspace_id(db_path: Path) -> int:
    return int(query(db_path, "SELECT id FROM workspace ORDER BY id LIMIT 1")[0][0])


def _tables(db_path: Path) -> list[str]:
    found = query(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return [str(name) for (name,) in found if name not in BOOKKEEPING]


def _snapshot(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table but the bookkeeping ones."""
    return {
        table: query(db_path, f'SELECT * FROM "{table}" ORDER BY rowid')  # noqa: S608
        for table in _tables(db_path)
    }
