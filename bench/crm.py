"""CRM at scale: /find, /today and a 100,000-row export over a million customers on SQLite.

Seeds one shop with 1,000,000 customers (10,000 owned by the measured rep, the
rest spread over 40 other reps and the pool; companies; tags on every tenth;
reminders and follow-ups for the rep) with plain ``executemany`` in big
batches after ``alembic upgrade``, then times the services the commands call.
Run: ``python -m bench.crm [customers]``.
"""

from __future__ import annotations

import asyncio
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import export, followups, migrate, search, workspaces
from bot.crm.export import Format
from bot.crm.export_filter import ExportFilter
from bot.crm.models import Customer, Member, Role
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work

CUSTOMERS = 1_000_000
REP_CUSTOMERS = 10_000
OTHER_REPS = 40
COMPANIES = 20_000
TAGS = 20
BATCH = 50_000
QUERIES = 200
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁"
    + "谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红玉兰春梅海燕志强文斌晓东"
REGIONS = ("north", "south", "west", "central", "coast", "hills", "lake", "river", "old town")


async def main(total: int = CUSTOMERS) -> None:
    """Seed ``total`` customers in a temporary SQLite file and print the timings."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crm.db"
        url = f"sqlite+aiosqlite:///{path}"
        await migrate.upgrade_async(url)
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        async with unit_of_work(sessions) as session:
            shop = await workspaces.create_workspace(
                session, name="Bench Tea", timezone="Asia/Shanghai", locale="en", region="CN"
            )
        started = time.perf_counter()
        rep_id, owner_id = _seed(path, shop.id, total)
        seeded = time.perf_counter() - started
        print(f"seed: {total:,} customers in {seeded:.1f} s; peak RSS {_rss_mb():.0f} MB")
        async with sessions() as session:
            rep = await session.get(Member, rep_id)
            owner = await session.get(Member, owner_id)
        assert rep is not None
        assert owner is not None
        await _find(sessions, rep)
        await _today(sessions, rep)
        await _export(sessions, owner)
        print(f"peak RSS at the end: {_rss_mb():.0f} MB")
        await engine.dispose()


def _seed(path: Path, workspace_id: int, total: int) -> tuple[int, int]:
    rng = random.Random(7)
    stamp = _sql_time(NOW - timedelta(days=400))
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA journal_mode=WAL")
        members = [(1, Role.OWNER.value), (2, Role.STAFF.value)]
        members += [(3 + i, Role.STAFF.value) for i in range(OTHER_REPS)]
        db.executemany(
            "INSERT INTO member (id, workspace_id, tg_user_id, chat_id, role, display_name,"
            " referral_code, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
            [(i, workspace_id, i, i, role, f"Rep {i}", f"bench{i}", stamp) for i, role in members],
        )
        db.executemany(
            "INSERT INTO company (id, workspace_id, name, level, created_at)"
            " VALUES (?, ?, ?, 1, ?)",
            [(i, workspace_id, f"Company {i}", stamp) for i in range(1, COMPANIES + 1)],
        )
        db.executemany(
            "INSERT INTO tag (id, workspace_id, name, dimension, weight, created_at)"
            " VALUES (?, ?, ?, 'interest', ?, ?)",
            [(i, workspace_id, f"tag{i}", i, stamp) for i in range(1, TAGS + 1)],
        )
        for batch in _batches(_customers(rng, workspace_id, total)):
            db.executemany(
                "INSERT INTO customer (id, workspace_id, owner_member_id, company_id, name,"
                " phone, kind, consent, reachable, source, stage, grade, score, region,"
                " route_order, last_contact_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'lead', 'unknown', 1, 'staff',"
                " ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
        tagged = ((workspace_id, cid, 1 + cid % TAGS, stamp) for cid in range(1, total + 1, 10))
        for batch in _batches(tagged):
            db.executemany(
                "INSERT INTO customer_tag (workspace_id, customer_id, tag_id, created_at)"
                " VALUES (?, ?, ?, ?)",
                batch,
            )
        _seed_rep_work(db, rng, workspace_id)
        db.commit()
    return 2, 1


def _customers(rng: random.Random, workspace_id: int, total: int) -> Iterator[tuple[Any, ...]]:
    for cid in range(1, total + 1):
        if cid <= REP_CUSTOMERS:
            owner: int | None = 2
        elif cid % 50 == 0:
            owner = None
        else:
            owner = 3 + cid % OTHER_REPS
        contact = NOW - timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 1440))
        yield (
            cid,
            workspace_id,
            owner,
            rng.randint(1, COMPANIES) if cid % 3 == 0 else None,
            rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
            f"+86139{cid:08d}",
            rng.choice(("new", "contacted", "won", "lost")),
            rng.choice(("A", "B", "C")),
            rng.randint(0, 100),
            "east" if cid % 10 == 0 else rng.choice(REGIONS),
            rng.randint(1, 200),
            _sql_time(contact),
            _sql_time(NOW - timedelta(days=rng.randint(1, 900))),
            _sql_time(contact),
        )


def _seed_rep_work(db: sqlite3.Connection, rng: random.Random, workspace_id: int) -> None:
    reminders = []
    for i in range(400):
        due = NOW + timedelta(hours=rng.randint(-72, 72))
        reminders.append(
            (workspace_id, 2, rng.randint(1, REP_CUSTOMERS), f"call back {i}", _sql_time(due))
        )
    db.executemany(
        "INSERT INTO reminder (workspace_id, member_id, customer_id, text, due_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(*r, _sql_time(NOW - timedelta(days=5))) for r in reminders],
    )
    db.executemany(
        "INSERT INTO follow_up (workspace_id, customer_id, member_id, channel, summary, at)"
        " VALUES (?, ?, 2, 'call', 'talked about tea', ?)",
        [
            (workspace_id, rng.randint(1, REP_CUSTOMERS), _sql_time(NOW - timedelta(hours=i)))
            for i in range(5000)
        ],
    )


async def _find(sessions: async_sessionmaker[AsyncSession], rep: Member) -> None:
    find: Callable[..., Awaitable[Any]] | None = getattr(search, "find_customers", None)
    if find is None:
        print("/find: not available yet (bot.crm.search.find_customers does not exist)")
        return
    rng = random.Random(11)
    phones = [
        f"139 {n // 10_000:04d} {n % 10_000:04d}"
        for n in rng.sample(range(1, REP_CUSTOMERS + 1), QUERIES)
    ]
    async with sessions() as session:
        own = (await session.execute(_own_names(rep))).scalars().all()
    prefixes = [name[: rng.randint(1, 2)] for name in rng.sample(list(own), QUERIES)]
    for label, texts in (("/find by phone", phones), ("/find by name prefix", prefixes)):
        times = []
        for text in texts:
            async with sessions() as session:
                started = time.perf_counter()
                await find(session, actor=rep, text=text, limit=10)
                times.append(time.perf_counter() - started)
        _print_percentiles(label, times, target_ms=10)


def _own_names(rep: Member) -> Any:
    return select(Customer.name).where(Customer.owner_member_id == rep.id).limit(5000)


async def _today(sessions: async_sessionmaker[AsyncSession], rep: Member) -> None:
    times = []
    for _ in range(50):
        async with sessions() as session:
            started = time.perf_counter()
            await followups.today(session, actor=rep, now=NOW)
            times.append(time.perf_counter() - started)
    _print_percentiles("/today for a rep with 10,000 customers", times, target_ms=50)


async def _export(sessions: async_sessionmaker[AsyncSession], owner: Member) -> None:
    filters = ExportFilter(region="east")
    async with sessions() as session:
        started = time.perf_counter()
        file = await export.export_customers(
            session, actor=owner, fmt=Format.XLSX, filters=filters, now=NOW
        )
        elapsed = time.perf_counter() - started
        await session.rollback()
    print(
        f"export xlsx, owner, region=east: {file.rows:,} rows, {len(file.content) / 1e6:.1f} MB"
        f" in {elapsed:.1f} s (target ≤ 20 s); peak RSS {_rss_mb():.0f} MB"
    )


def _print_percentiles(label: str, times: list[float], *, target_ms: float) -> None:
    cuts = statistics.quantiles(times, n=100)
    print(
        f"{label}: p50 {cuts[49] * 1000:.2f} ms, p95 {cuts[94] * 1000:.2f} ms"
        f" over {len(times)} calls (target p95 ≤ {target_ms:g} ms)"
    )


def _batches(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _sql_time(value: datetime) -> str:
    """Return a UTC time the way SQLAlchemy stores it in SQLite."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else CUSTOMERS))
