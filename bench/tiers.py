"""Value tiers at scale: recompute RFM/CLV tiers and detect churn over a million customers.

A child process seeds a temporary SQLite file (``alembic upgrade``, then
``INSERT … SELECT`` over recursive CTEs with the secondary indexes built after
the rows) with 1,000,000 customers, 5,000,000 purchases over three years (half
spread over 800,000 buyers, half over 100,000 regulars, so one-time and frequent
buyers both occur) and 1,000,000 follow-ups. The parent process then times
``tiers.recompute`` and churn detection as its job runs it (``detect_apart``),
twice: the second run finds no new episode. During detection another connection
takes SQLite's write lock every 10 ms and a task ticks on the event loop; the
longest wait of each is printed. The peak RSS printed is the parent's own, so
seeding memory does not count. Run: ``python -m bench.tiers [customers
[purchases]]`` (target: recompute ≤ 30 s and ≤ 500 MB for the full size).
"""

from __future__ import annotations

import asyncio
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.crm import at_risk, churn, migrate, tiers, workspaces
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work

CUSTOMERS = 1_000_000
PURCHASES = 5_000_000
REPS = 40
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
YEARS = 3
PROBE_GAP = 0.01


async def main(customers: int = CUSTOMERS, purchases: int = PURCHASES) -> None:
    """Seed in a child process, then time the recompute and churn detection here."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiers.db"
        started = time.perf_counter()
        # The seed runs in its own process so its memory is not in this process's peak RSS.
        await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "bench.tiers",
                "--seed",
                str(path),
                str(customers),
                str(purchases),
            ],
            check=True,
        )
        print(
            f"seed: {customers:,} customers, {purchases:,} purchases in"
            f" {time.perf_counter() - started:.1f} s (child process)"
        )
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        sessions = create_sessionmaker(engine)
        before = _rss_mb()
        async with unit_of_work(sessions) as session:
            started = time.perf_counter()
            summary = await tiers.recompute(session, 1, now=NOW)
            scored = time.perf_counter() - started
        committed = time.perf_counter() - started
        print(
            f"tiers.recompute: {summary.buyers:,} buyers scored in {scored:.1f} s"
            f" ({committed:.1f} s with the commit; target ≤ 30 s);"
            f" peak RSS {_rss_mb():.0f} MB (target ≤ 500 MB; {before:.0f} MB before)"
        )
        print(
            f"  segments {dict(sorted(summary.segments.items()))}\n"
            f"  tiers {dict(sorted(summary.tiers.items()))}"
            f" classes {dict(sorted(summary.classes.items()))}\n"
            f"  churn rate {summary.churn_rate or 0:.3f}, lifetime {summary.lifetime_years:.2f}"
            f" years{' (fallback)' if summary.lifetime_fallback else ''}"
        )
        found: list[churn.AtRisk] = []

        async def detect() -> None:
            found[:] = await at_risk.detect_apart(engine, 1, now=NOW)

        for run in ("churn detection", "churn detection again"):
            started = time.perf_counter()
            waits = await while_probed(path, detect)
            print(
                f"{run}: {len(found):,} newly at risk in {time.perf_counter() - started:.1f} s;"
                f" {waits}; peak RSS {_rss_mb():.0f} MB"
            )
        await engine.dispose()


def seed(path: Path, customers: int, purchases: int) -> None:
    """Create the schema and the bench workspace (id 1) and fill it with rows."""
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(migrate.upgrade_async(url))
    asyncio.run(_create_workspace(url))
    now = int(NOW.timestamp())
    span = YEARS * 365 * 86400
    stamp = "strftime('%Y-%m-%d %H:%M:%S', {}, 'unixepoch') || '.000000'"
    buyers = min(customers, max(customers * 4 // 5, 1))
    regulars = max(buyers // 8, 1)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.executemany(
            "INSERT INTO member (id, workspace_id, tg_user_id, chat_id, role, display_name,"
            " referral_code, active, created_at) VALUES (?, 1, ?, ?, ?, ?, ?, 1, ?)",
            [
                (i, i, i, "owner" if i == 1 else "staff", f"Rep {i}", f"bench{i}", "2024-01-01")
                for i in range(1, REPS + 2)
            ],
        )
        for index in ("ix_purchase_customer_id_workspace_id_at", "ix_purchase_workspace_id"):
            db.execute(f"DROP INDEX {index}")
        for index in ("ix_follow_up_customer_id_at", "ix_follow_up_workspace_id"):
            db.execute(f"DROP INDEX {index}")
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"  # noqa: S608 - bench constants
            " INSERT INTO customer (id, workspace_id, owner_member_id, name, phone, kind,"
            " consent, reachable, source, stage, score, created_at, updated_at)"
            f" SELECT i, 1, 2 + i % {REPS}, 'Customer ' || i, '+86139' || printf('%08d', i),"
            " 'customer', 'opted_in', 1, 'staff', 'won', 0,"
            f" {stamp.format(f'{now - span - 86400} + i')}, {stamp.format(now)} FROM n",
            (customers,),
        )
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"  # noqa: S608 - bench constants
            " INSERT INTO purchase (workspace_id, customer_id, amount_minor, currency, at)"
            f" SELECT 1, 1 + abs(random()) % (CASE WHEN i % 2 = 0 THEN {buyers} ELSE {regulars}"
            " END), 500 + abs(random()) % 100000, 'CNY',"
            f" {stamp.format(f'{now} - abs(random()) % {span}')} FROM n",
            (purchases,),
        )
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"  # noqa: S608 - bench constants
            " INSERT INTO follow_up (workspace_id, customer_id, member_id, channel, summary, at)"
            f" SELECT 1, 1 + abs(random()) % {buyers}, 2, 'call', 'checked in',"
            f" {stamp.format(f'{now} - abs(random()) % {span}')} FROM n",
            (customers,),
        )
        db.execute(
            "CREATE INDEX ix_purchase_customer_id_workspace_id_at"
            " ON purchase (customer_id, workspace_id, at)"
        )
        db.execute("CREATE INDEX ix_purchase_workspace_id ON purchase (workspace_id)")
        db.execute("CREATE INDEX ix_follow_up_customer_id_at ON follow_up (customer_id, at)")
        db.execute("CREATE INDEX ix_follow_up_workspace_id ON follow_up (workspace_id)")
        db.commit()


async def _create_workspace(url: str) -> None:
    engine = create_engine(url)
    async with unit_of_work(create_sessionmaker(engine)) as session:
        await workspaces.create_workspace(
            session, name="Bench Tea", timezone="Asia/Shanghai", locale="en", region="CN"
        )
    await engine.dispose()


@dataclass
class Waits:
    """The longest waits seen by another writer and by the event loop during a job."""

    lock: list[float] = field(default_factory=list)
    loop: list[float] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"another writer waited at most {max(self.lock, default=0) * 1000:.0f} ms"
            f" ({len(self.lock)} probes), the event loop stalled at most"
            f" {max(self.loop, default=0) * 1000:.0f} ms"
        )


async def while_probed(path: Path, job: Callable[[], Awaitable[object]]) -> Waits:
    """Run ``job`` while another connection takes the write lock every ``PROBE_GAP`` s."""
    waits = Waits()
    done = threading.Event()

    def writer() -> None:
        # BEGIN IMMEDIATE takes the write lock, exactly what another shop's update waits for.
        with closing(sqlite3.connect(path, timeout=120, isolation_level=None)) as db:
            while not done.is_set():
                started = time.perf_counter()
                db.execute("BEGIN IMMEDIATE")
                db.execute("COMMIT")
                waits.lock.append(time.perf_counter() - started)
                time.sleep(PROBE_GAP)

    async def ticker() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(PROBE_GAP)
            waits.loop.append(time.perf_counter() - started - PROBE_GAP)

    probe = threading.Thread(target=writer, daemon=True)
    probe.start()
    ticking = asyncio.create_task(ticker())
    try:
        await job()
    finally:
        done.set()
        await ticking
        await asyncio.to_thread(probe.join)
    return waits


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--seed":
        seed(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        args = [int(arg) for arg in sys.argv[1:3]]
        asyncio.run(main(*args))
