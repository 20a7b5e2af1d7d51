"""Campaign delivery: paced rate against a strict emulator, uncapped throughput, materialising 1M.

(a) 10,000 recipients against the emulator in strict mode at the default cap
(30/s): the achieved rate as a share of the cap, and how many 429s came back.
(b) Uncapped (paid broadcast, a limit far above what the machine can do): the
engine's messages per second beside a plain python-telegram-bot
``send_message`` loop in the same process against the same emulator.
(c) 1,000,000 recipients: the time to materialise the run and the peak RSS.
Run: ``python -m bench.broadcast [a|b|c ...]`` (all three by default). It runs as
the bot does (``bot.telegram.runtime``): on uvloop where installed, with the heap
settled once start-up is done; the plain loop shares that process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import telegram
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import func, select

from bot.campaigns.delivery import DeliveryEngine, outbox
from bot.config import DeliverySettings
from bot.crm import migrate
from bot.crm.models import CampaignRun, OutboxMessage, OutboxStatus
from bot.crm.store import create_engine, create_sessionmaker
from bot.telegram import runtime
from bot.telegram.aiogram import AiogramMessenger

TOKEN = "123456789:AAsandbox-token-for-local-testing_only"  # noqa: S105 - emulator only
FIRST_USER = 5_000_000
PACED = 10_000
UNCAPPED = 20_000
LOOP = 2_000
MILLION = 1_000_000
BATCH = 50_000


async def main(parts: tuple[str, ...] = ("c", "a", "b")) -> None:
    """Run the chosen parts and print their figures."""
    runtime.settle_heap()
    try:
        if "c" in parts:
            await materialise_million()
        if "a" in parts or "b" in parts:
            with emulator() as api:
                if "a" in parts:
                    await paced(api)
                if "b" in parts:
                    await uncapped(api)
    finally:
        gc.unfreeze()  # for the benchmarks run after this one in the same process


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    """Run the Bot API emulator in its own process (its own core, like Telegram's servers)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "emulator.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(  # noqa: S603 - our own module, no shell
                [sys.executable, "-m", "bot", "emulator", "--host", "127.0.0.1", "--port", "0"],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                found = re.search(r"listening on (http://\S+)", log.read_text(errors="replace"))
                if found:
                    yield found.group(1)
                    break
                time.sleep(0.1)
            else:
                msg = f"emulator did not start: {log.read_text(errors='replace')}"
                raise RuntimeError(msg)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


async def post(http: aiohttp.ClientSession, path: str, **body: Any) -> dict[str, Any]:
    """POST to the emulator's control API; return its JSON answer."""
    async with http.post(f"/_emulator/{path}", json=body) as response:
        response.raise_for_status()
        result: dict[str, Any] = await response.json()
    return result


async def count_sent(
    http: aiohttp.ClientSession, count: int, *, deadline: float, step: float
) -> tuple[int, float, float]:
    """Read the emulator's sent-message count every ``step`` s until it reaches ``count``.

    Returns the messages sent between the first read that found some and the read
    that found them all, and the times (``perf_counter``) of those two reads.
    """
    first, already = 0.0, 0
    async with asyncio.timeout(deadline):
        while True:
            async with http.get("/_emulator/stats") as got:
                seen = time.perf_counter()
                sent = int((await got.json())["sent_messages"])
            if sent and not first:
                first, already = seen, sent
            if sent >= count:
                return sent - already, first, seen
            await asyncio.sleep(step)


async def gather_bounded(jobs: Sequence[Callable[[], Awaitable[object]]]) -> None:
    """Run the jobs, at most 64 at a time."""
    limit = asyncio.Semaphore(64)

    async def one(job: Callable[[], Awaitable[object]]) -> None:
        async with limit:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


async def paced(api: str) -> None:
    """(a) Send to PACED recipients at the default 30/s in strict mode; print rate/cap and 429s."""
    settings = DeliverySettings()
    async with httpx.AsyncClient(base_url=api, timeout=60) as control:
        await _control(control, "reset")
        await _control(control, "strict", enabled=True)
        await _users(control, PACED)
        sent, first, last = await _deliver(api, settings, PACED)
        stats = (await control.get("/_emulator/stats")).json()
        await _control(control, "strict", enabled=False)
    rate = (sent - 1) / (last - first)
    cap = settings.rate_per_second
    print(
        f"paced: {sent:,} messages at {rate:.2f}/s against a cap of {cap:.0f}/s"
        f" = {rate / cap:.3f} of the cap; 429s: {stats['too_many_requests_sent']}"
    )


async def uncapped(api: str) -> None:
    """(b) The engine flat out (paid broadcast) beside a plain PTB send_message loop."""
    # A limit far above what one process can do, so the engine itself is measured;
    # model_construct skips the 1000/s ceiling that real Telegram imposes. Concurrency is
    # the largest the settings allow: claims and recorded outcomes then come in large
    # groups, and a crash can still leave at most that many rows "unknown".
    settings = DeliverySettings.model_construct(
        **{
            **DeliverySettings().model_dump(),
            "rate_per_second": 1_000_000.0,
            "paid_broadcast": True,
            "concurrency": 256,
            "batch_size": 1000,
        }
    )
    async with httpx.AsyncClient(base_url=api, timeout=60) as control:
        await _control(control, "reset")
        await _users(control, UNCAPPED)
        sent, first, last = await _deliver(api, settings, UNCAPPED)
        engine_rate = (sent - 1) / (last - first)
        loop_rate = await _plain_loop(api, LOOP)
    loop = type(asyncio.get_running_loop()).__module__.partition(".")[0]
    print(
        f"uncapped: engine {engine_rate:,.0f} msg/s ({sent:,} messages);"
        f" plain PTB send_message loop {loop_rate:,.0f} msg/s;"
        f" ratio {engine_rate / loop_rate:.1f}x (on {loop})"
    )


async def _plain_loop(api: str, count: int) -> float:
    bot = telegram.Bot(TOKEN, base_url=f"{api}/bot")
    await bot.initialize()
    try:
        started = time.perf_counter()
        for n in range(count):
            await bot.send_message(FIRST_USER + n, "Hello from the loop")
        return count / (time.perf_counter() - started)
    finally:
        await bot.shutdown()


async def _deliver(api: str, settings: DeliverySettings, count: int) -> tuple[int, float, float]:
    """Seed ``count`` customers and a run, deliver it, return (sent, first, last) send times."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "broadcast.db"
        url = f"sqlite+aiosqlite:///{path}"
        await migrate.upgrade_async(url)
        run_id = _seed(path, count)
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        # The engine sends through the aiogram adapter's broadcaster (an aiohttp session with
        # its own keep-alive connections, see bot/telegram/_lean.py); the plain loop is PTB.
        session_http = AiohttpSession(
            api=TelegramAPIServer.from_base(api), limit=max(settings.concurrency, 8)
        )
        bot = Bot(TOKEN, session=session_http)
        me = await bot.me()
        delivery = DeliveryEngine(sessions, AiogramMessenger(bot, me.username or ""), settings)
        await delivery.start()
        try:
            while True:
                async with sessions() as session:
                    run = await session.get(CampaignRun, run_id, populate_existing=True)
                    if run is not None and run.finished_at is not None:
                        break
                await asyncio.sleep(0.25)
        finally:
            await delivery.stop()
            await bot.session.close()
        async with sessions() as session:
            first, last, sent = (
                await session.execute(
                    select(
                        func.min(OutboxMessage.sent_at),
                        func.max(OutboxMessage.sent_at),
                        func.count(),
                    ).where(OutboxMessage.status == OutboxStatus.SENT)
                )
            ).one()
        await engine.dispose()
    return int(sent), first.timestamp(), last.timestamp()


async def materialise_million() -> None:
    """(c) Seed a million opted-in customers, then time materialising one run over them."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "million.db"
        url = f"sqlite+aiosqlite:///{path}"
        await migrate.upgrade_async(url)
        started = time.perf_counter()
        run_id = _seed(path, MILLION, running=False)
        print(
            f"materialise: seeded {MILLION:,} customers in {time.perf_counter() - started:.1f} s"
        )
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        batch = DeliverySettings().batch_size * 40  # what the engine's leader uses
        before = _rss_mb()
        started = time.perf_counter()
        async with sessions() as session:
            run = await session.get(CampaignRun, run_id)
        assert run is not None
        total = 0
        while True:
            async with sessions() as session, session.begin():
                added = await outbox.materialise_batch(
                    session, run, {}, birthday=None, limit=batch
                )
            total += added
            if added < batch:
                break
        took = time.perf_counter() - started
        await engine.dispose()
    print(
        f"materialise: {total:,} outbox rows in {took:.1f} s"
        f" ({total / took:,.0f} rows/s); peak RSS {_rss_mb():.0f} MB"
        f" ({before:.0f} MB before materialising)"
    )


def _seed(path: Path, count: int, *, running: bool = True) -> int:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(
            "INSERT INTO workspace (id, name, slug, timezone, locale, kind, currency,"
            " lead_return_days, grade_thresholds, stage_labels, quiet_start, quiet_end,"
            " campaign_cap_messages, campaign_cap_days, created_at) VALUES (1, 'Bench Tea',"
            " 'bench', 'Asia/Shanghai', 'en', 'retail', 'CNY', 14, '{}', '{}', '00:00',"
            " '00:00', 2, 7, ?)",
            (now,),
        )
        rows = ((f"Guest{n} Tan", FIRST_USER + n, FIRST_USER + n, now, now) for n in range(count))
        while chunk := [row for _, row in zip(range(BATCH), rows, strict=False)]:
            db.executemany(
                "INSERT INTO customer (workspace_id, name, tg_user_id, chat_id, kind, consent,"
                " reachable, source, stage, score, created_at, updated_at) VALUES"
                " (1, ?, ?, ?, 'customer', 'opted_in', 1, 'staff', 'new', 0, ?, ?)",
                chunk,
            )
        db.execute(
            "INSERT INTO campaign (id, workspace_id, name, kind, template_key, audience,"
            " send_time, status, created_at) VALUES (1, 1, 'Bench', 'broadcast', 'holiday',"
            " '{}', '10:00', 'active', ?)",
            (now,),
        )
        db.execute(
            "INSERT INTO campaign_run (id, workspace_id, campaign_id, occurrence, template_key,"
            " status, paid_broadcast, scheduled_for, total, error_streak, created_at)"
            " VALUES (1, 1, 1, 'once', 'holiday', ?, 0, ?, 0, 0, ?)",
            ("running" if running else "paused", now, now),
        )
        db.commit()
    return 1


async def _users(control: httpx.AsyncClient, count: int) -> None:
    limit = asyncio.Semaphore(64)

    async def one(n: int) -> None:
        async with limit:
            response = await control.post("/_emulator/users", json={"id": FIRST_USER + n})
            response.raise_for_status()

    await asyncio.gather(*(one(n) for n in range(count)))


async def _control(control: httpx.AsyncClient, path: str, **body: Any) -> None:
    response = await control.post(f"/_emulator/{path}", json=body)
    response.raise_for_status()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    runtime.run(main(tuple(sys.argv[1:]) or ("c", "a", "b")))
