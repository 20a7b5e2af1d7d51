"""A rep's daily screens at a million customers: /today, /card, /inbox, /atrisk, /tiers.

Seeds one shop as ``bench.crm`` does (1,000,000 customers, 10,000 of them the
measured rep's, with reminders and follow-ups), then what the other screens
read, in the same proportions a shop of that size would have: 2,000,000
purchases over three years for 800,000 buyers with the value tiers recomputed
from them (``tiers.recompute``), one customer in 29 in an open churn episode,
and 20,000 conversations (one customer in 50) of three messages each, one in
ten of them still open and assigned to the customer's rep. Each screen is then
sent as the rep's command through the dispatcher the chat uses (one update at a
time, replies to an in-memory port) and timed from the update to its reply,
transaction and commit included. Run: ``python -m bench.screens [customers]``
(target: p95 ≤ 50 ms for each of the rep's screens).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from bench import crm
from bench.dispatch import CountingMessenger
from bot.chat.context import AppInfo
from bot.chat.dispatcher import Dispatcher
from bot.crm import migrate, tiers, workspaces
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work
from bot.handlers import ROUTERS
from bot.messaging import Incoming, Keyboard, Kind, User

NOW = crm.NOW
REP = 2
PURCHASES_PER_CUSTOMER = 2
AT_RISK_EVERY = 29
THREAD_EVERY = 50
OPEN_EVERY = 10
UPDATES = 200
SPAN_DAYS = 3 * 365
STAMP = "strftime('%Y-%m-%d %H:%M:%S', {}, 'unixepoch') || '.000000'"


class KeepingMessenger(CountingMessenger):
    """A Messenger that counts what it sends and keeps the last text, to show what was seen."""

    def __init__(self) -> None:
        super().__init__()
        self.last = ""

    def seen(self, chat_id: int, text: str, buttons: Keyboard) -> None:
        self.last = text


async def main(total: int = crm.CUSTOMERS) -> None:
    """Seed ``total`` customers and their history, then time each screen of the rep."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "screens.db"
        url = f"sqlite+aiosqlite:///{path}"
        await migrate.upgrade_async(url)
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        async with unit_of_work(sessions) as session:
            shop = await workspaces.create_workspace(
                session, name="Bench Tea", timezone="Asia/Shanghai", locale="en", region="CN"
            )
        started = time.perf_counter()
        crm._seed(path, shop.id, total)
        _seed_history(path, shop.id, total)
        async with unit_of_work(sessions) as session:
            summary = await tiers.recompute(session, shop.id, now=NOW)
        print(
            f"seed: {total:,} customers, {total * PURCHASES_PER_CUSTOMER:,} purchases"
            f" ({summary.buyers:,} buyers, tiers recomputed), {total // AT_RISK_EVERY:,} at risk,"
            f" {total // THREAD_EVERY:,} conversations in {time.perf_counter() - started:.1f} s"
        )
        dispatcher = Dispatcher(sessions, AppInfo(), clock=lambda: NOW, routers=ROUTERS)
        rng = random.Random(5)
        cards = [rng.randint(1, min(total, crm.REP_CUSTOMERS)) for _ in range(UPDATES)]
        screens: list[tuple[str, Callable[[int], str]]] = [
            ("/today", lambda i: ""),
            ("/card", lambda i: str(cards[i])),
            ("/inbox", lambda i: ""),
            ("/atrisk", lambda i: ""),
            ("/tiers", lambda i: ""),
        ]
        update_id = 0
        for command, args in screens:
            messenger = KeepingMessenger()
            times = []
            for i in range(UPDATES):
                update_id += 1
                incoming = _command(update_id, command[1:], args(i))
                begun = time.perf_counter()
                await dispatcher(incoming, messenger)
                times.append(time.perf_counter() - begun)
            label = f"{command} for a rep with 10,000 customers"
            crm._print_percentiles(label, times, target_ms=50)
            first_line = messenger.last.splitlines()[0] if messenger.last else "(no reply)"
            print(f"  it shows: {first_line[:90]}")
        await engine.dispose()


def _seed_history(path: Path, workspace_id: int, total: int) -> None:
    """Add purchases, churn episodes and conversations with plain SQL, indexes built after."""
    now = int(NOW.timestamp())
    span = SPAN_DAYS * 86400
    buyers = max(total * 4 // 5, 1)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        for index in ("ix_purchase_customer_id_workspace_id_at", "ix_purchase_workspace_id"):
            db.execute(f"DROP INDEX {index}")
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"  # noqa: S608 - bench constants
            " INSERT INTO purchase (workspace_id, customer_id, amount_minor, currency, at)"
            f" SELECT ?, 1 + abs(random()) % {buyers}, 500 + abs(random()) % 100000, 'CNY',"
            f" {STAMP.format(f'{now} - abs(random()) % {span}')} FROM n",
            (total * PURCHASES_PER_CUSTOMER, workspace_id),
        )
        db.execute(
            "CREATE INDEX ix_purchase_customer_id_workspace_id_at"
            " ON purchase (customer_id, workspace_id, at)"
        )
        db.execute("CREATE INDEX ix_purchase_workspace_id ON purchase (workspace_id)")
        db.execute(
            "UPDATE customer SET at_risk_since = "  # noqa: S608 - bench constants
            f"{STAMP.format(f'{now} - (id % 20) * 86400')},"
            " at_risk_reason = CASE WHEN id % 3 = 0 THEN 'tier_drop' ELSE 'quiet' END,"
            f" usual_interval_days = 14 + id % 30 WHERE id % {AT_RISK_EVERY} = 0"
        )
        _seed_conversations(db, workspace_id, total, now)
        db.commit()


def _seed_conversations(db: sqlite3.Connection, workspace_id: int, total: int, now: int) -> None:
    opened = f"{now} - (c.id % 500) * 3600"
    db.execute(
        "INSERT INTO chat_thread (workspace_id, customer_id, assignee_member_id, status,"  # noqa: S608 - bench constants
        " opened_at, last_inbound_at, last_outbound_at, waiting_since, closed_at, close_reason)"
        " SELECT c.workspace_id, c.id, c.owner_member_id,"
        f" CASE WHEN c.id % {THREAD_EVERY * OPEN_EVERY} = 7 THEN 'open' ELSE 'closed' END,"
        f" {STAMP.format(opened)}, {STAMP.format(opened + ' + 60')},"
        f" CASE WHEN c.id % 3 = 0 THEN NULL ELSE {STAMP.format(opened + ' + 600')} END,"
        f" CASE WHEN c.id % 3 = 0 THEN {STAMP.format(opened)} END,"
        f" CASE WHEN c.id % {THREAD_EVERY * OPEN_EVERY} = 7 THEN NULL"
        f" ELSE {STAMP.format(opened + ' + 86400')} END,"
        f" CASE WHEN c.id % {THREAD_EVERY * OPEN_EVERY} = 7 THEN NULL ELSE 'quiet' END"
        f" FROM customer c WHERE c.workspace_id = ? AND c.id % {THREAD_EVERY} = 7",
        (workspace_id,),
    )
    for step, direction in enumerate(("in", "out", "in")):
        db.execute(
            "INSERT INTO chat_message (workspace_id, thread_id, customer_id, direction, kind,"  # noqa: S608 - bench constants
            " text, tg_chat_id, tg_message_id, created_at)"
            f" SELECT t.workspace_id, t.id, t.customer_id, '{direction}', 'text',"
            f" 'about the spring tea order, message {step}', t.customer_id, t.id * 3 + {step},"
            f" {STAMP.format(f'{now} - 3600 + {step} * 60')} FROM chat_thread t",
        )


def _command(update_id: int, command: str, args: str) -> Incoming:
    return Incoming(
        update_id=update_id,
        kind=Kind.COMMAND,
        chat_id=REP,
        user=User(id=REP, first_name="Rep"),
        text=f"/{command} {args}".strip(),
        command=command,
        args=args,
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else crm.CUSTOMERS))
