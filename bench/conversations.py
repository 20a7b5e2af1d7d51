"""Conversations: a customer's message reaching the rep, and the rep's answer coming back.

A real bot process (``python -m bot run``, polling) on SQLite against the Bot API
emulator, each in its own process as in production. The shop has ``N`` reps (200
by default), each the owner of one customer's record. In every round all ``N``
customers write at once; each message is timed from the moment the customer's
client sends it until its copy (``copyMessage``) is in the rep's chat in the
emulator. Then all ``N`` reps answer at once with Telegram's reply to that copy,
timed until the signed answer is in the customer's chat. The first round also
carries each conversation's acknowledgement to the customer. The same rounds
then run with the messages (and the answers) arriving evenly over ``SPREAD``
seconds instead of at once. Prints p50/p95/max with counts, per framework, and
the machine's core count (target: p95 ≤ 300 ms with 200 at once on 2 cores).

Then the same burst goes to the floor (``bench.relay_floor``): a bot of the same
framework that only copies each message across, with no database and no logic,
in the same run against the same emulator. Its p95 is what the framework, HTTP
and the emulator cost on this machine before the product does anything; the
real bot's p95 over the floor's is the product's own share.
Traffic stays on 127.0.0.1 and every wait has a bound. Run:
``python -m bench.conversations [N] [ROUNDS] [ptb|aiogram ...]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from bench import startup
from bench.broadcast import emulator, gather_bounded, post
from bench.relay_floor import READY
from bot.crm import migrate, workspaces
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work

CONVERSATIONS = 200
ROUNDS = 3
FRAMEWORKS = ("ptb", "aiogram")
FIRST_REP, FIRST_CUSTOMER = 6_000_000, 7_000_000
# The longest any one message may take before the run is declared broken, in seconds.
DEADLINE = 60.0
# The same conversations again, arriving evenly over this many seconds (for comparison).
SPREAD = 10.0
# Records are a day old whenever the bench runs, so no lead goes back to the pool at start.
CREATED = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")


async def main(
    count: int = CONVERSATIONS, rounds: int = ROUNDS, frameworks: Sequence[str] = FRAMEWORKS
) -> None:
    """Measure each framework in turn against one emulator; print the figures."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"conversations: {count} at once, {rounds} rounds, SQLite, {cores} cores"
        f" (os.cpu_count() = {os.cpu_count()})",
        flush=True,
    )
    with emulator() as api:
        for framework in frameworks:
            real = await _one_framework(api, framework, count, rounds)
            floor = await _floor(api, framework, count, rounds)
            print(
                f"  {framework:8s} at once: p95 {real:.0f} ms for the bot,"
                f" {floor:.0f} ms for a bot that only relays (ratio {real / floor:.1f}×)",
                flush=True,
            )


async def _one_framework(api: str, framework: str, count: int, rounds: int) -> float:
    """Run the real bot's rounds; return its p95 customer → rep at once, in ms."""
    at_once = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "conversations.db"
        await _seed(db, count)
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=DEADLINE + 30)
        async with (
            aiohttp.ClientSession(api, connector=connector, timeout=timeout) as http,
            _bot(api, db, framework, Path(tmp)),
        ):
            await post(http, "reset")
            await gather_bounded(
                [partial(post, http, "users", id=i, first_name=f"P{i}") for i in _people(count)]
            )
            for spread in (0.0, SPREAD):
                inbound: list[float] = []
                outbound: list[float] = []
                for round_no in range(rounds):
                    copies = await _customers_write(http, count, round_no, inbound, spread)
                    # A rep answers a copy the bot has recorded: each copy and its notice
                    # are recorded after Telegram returned them, as a person's swipe needs.
                    await _relays_recorded(db, 2 * count * (round_no + 1 + rounds * bool(spread)))
                    await _reps_answer(http, count, round_no, copies, outbound, spread)
                when = "at once" if not spread else f"over {spread:.0f} s"
                print(f"  {framework:8s} {when:9s} customer → rep copy   {_figures(inbound)}")
                print(f"  {framework:8s} {when:9s} rep reply → customer  {_figures(outbound)}")
                at_once = at_once or _p95(inbound)
    return at_once


async def _floor(api: str, framework: str, count: int, rounds: int) -> float:
    """Run the same burst against a bot that only relays; return its p95 customer → rep."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=DEADLINE + 30)
    inbound: list[float] = []
    outbound: list[float] = []
    async with aiohttp.ClientSession(api, connector=connector, timeout=timeout) as http:
        await post(http, "reset")
        await gather_bounded(
            [partial(post, http, "users", id=i, first_name=f"P{i}") for i in _people(count)]
        )
        async with _floor_bot(api, framework):
            for round_no in range(rounds):
                copies = await _customers_write(http, count, round_no, inbound, 0.0)
                await _reps_answer(http, count, round_no, copies, outbound, 0.0)
    print(f"  {framework:8s} floor     customer → rep copy   {_figures(inbound)}")
    print(f"  {framework:8s} floor     rep reply → customer  {_figures(outbound)}")
    return _p95(inbound)


@contextlib.asynccontextmanager
async def _floor_bot(api: str, framework: str) -> AsyncIterator[None]:
    """Run ``python -m bench.relay_floor`` until the block ends."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "floor.log"
        with log.open("wb") as sink:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.relay_floor", framework, api,
                stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while READY not in log.read_text(errors="replace"):
                if time.monotonic() > deadline or proc.returncode is not None:
                    msg = f"the floor bot did not start: {log.read_text(errors='replace')[-3000:]}"
                    raise RuntimeError(msg)
                await asyncio.sleep(0.1)
            yield
        finally:
            await startup.stop(proc)


async def _seed(db: Path, count: int) -> None:
    """Make a migrated SQLite file: one shop, ``count`` reps each owning one customer."""
    url = f"sqlite+aiosqlite:///{db}"
    await migrate.upgrade_async(url)
    engine = create_engine(url)
    async with unit_of_work(create_sessionmaker(engine)) as session:
        await workspaces.create_workspace(
            session, name="Bench Tea", timezone="Asia/Shanghai", locale="en", region="CN"
        )
    await engine.dispose()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute(
            "INSERT INTO member (workspace_id, tg_user_id, chat_id, role, display_name,"
            " referral_code, active, created_at) VALUES (1, 1, 1, 'owner', 'Owner', 'bench0',"
            " 1, ?)",
            (CREATED,),
        )
        for i in range(count):
            rep, customer = FIRST_REP + i, FIRST_CUSTOMER + i
            conn.execute(
                "INSERT INTO member (workspace_id, tg_user_id, chat_id, role, display_name,"
                " referral_code, active, created_at) VALUES (1, ?, ?, 'staff', ?, ?, 1, ?)",
                (rep, rep, f"Rep {i}", f"bench{i + 1}", CREATED),
            )
            conn.execute(
                "INSERT INTO customer (workspace_id, owner_member_id, name, kind, consent,"
                " reachable, source, stage, score, owner_assigned_at, created_at, updated_at,"
                " tg_user_id, chat_id) VALUES (1, (SELECT id FROM member WHERE tg_user_id = ?),"
                " ?, 'lead', 'opted_in', 1, 'link', 'new', 0, ?, ?, ?, ?, ?)",
                (rep, f"Customer {i}", CREATED, CREATED, CREATED, customer, customer),
            )
        conn.commit()


@contextlib.asynccontextmanager
async def _bot(
    api: str, db: Path, framework: str, tmp: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``python -m bot run`` on ``db`` until the block ends; fail if it does not start."""
    env = startup.bot_environment(api, db, framework, tmp)
    log = tmp / "bot.log"
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while not re.search(r"bot @\S+ is running", log.read_text(errors="replace")):
            if time.monotonic() > deadline or proc.returncode is not None:
                msg = f"the bot did not start: {log.read_text(errors='replace')[-3000:]}"
                raise RuntimeError(msg)
            await asyncio.sleep(0.1)
        try:
            yield proc
        except BaseException:
            print(f"the bot's last output:\n{log.read_text(errors='replace')[-5000:]}")
            raise
        output = log.read_text(errors="replace")
        failed = len(re.findall(r"update \d+ failed|work after commit failed", output))
        locked = output.count("database is locked")
        print(
            f"  {framework:8s} failed updates or relays in the bot's log: {failed}"
            f" ({locked} mentions of 'database is locked')"
        )
    finally:
        await startup.stop(proc)


async def _relays_recorded(db: Path, expected: int) -> None:
    async with asyncio.timeout(DEADLINE):
        while True:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                (recorded,) = conn.execute("SELECT count(*) FROM chat_relay").fetchone()
            if recorded >= expected:
                return
            await asyncio.sleep(0.05)


async def _customers_write(
    http: aiohttp.ClientSession, count: int, round_no: int, latencies: list[float], spread: float
) -> dict[int, int]:
    """All customers write (at once, or evenly over ``spread`` s); return each rep's copy."""
    after = await _seq(http)
    copies: dict[int, int] = {}

    async def one(i: int) -> None:
        rep, customer = FIRST_REP + i, FIRST_CUSTOMER + i
        await asyncio.sleep(spread * i / count)
        arrived = asyncio.get_running_loop().create_future()
        watcher = asyncio.create_task(_watch(http, rep, after, arrived, copy_of=customer))
        began = time.perf_counter()
        sent = await post(
            http, "send", user_id=customer, text=f"Do you have pu'er? ({round_no}/{i})"
        )
        arrived.set_result(int(sent["message_id"]))
        message = await watcher
        latencies.append(message["_at"] - began)
        copies[rep] = int(message["message_id"])

    await asyncio.gather(*(one(i) for i in range(count)))
    return copies


async def _reps_answer(
    http: aiohttp.ClientSession,
    count: int,
    round_no: int,
    copies: dict[int, int],
    latencies: list[float],
    spread: float,
) -> None:
    """All reps answer their copy with Telegram's reply (at once, or over ``spread`` s)."""
    after = await _seq(http)

    async def one(i: int) -> None:
        rep, customer = FIRST_REP + i, FIRST_CUSTOMER + i
        await asyncio.sleep(spread * i / count)
        text = f"Yes, 2015 vintage ({round_no}/{i})"
        wanted = asyncio.get_running_loop().create_future()
        wanted.set_result(None)
        watcher = asyncio.create_task(_watch(http, customer, after, wanted, starts=text))
        began = time.perf_counter()
        await post(http, "send", user_id=rep, text=text, reply_to_message_id=copies[rep])
        message = await watcher
        latencies.append(message["_at"] - began)

    await asyncio.gather(*(one(i) for i in range(count)))


async def _watch(
    http: aiohttp.ClientSession,
    chat_id: int,
    after: int,
    sent: asyncio.Future[Any],
    *,
    copy_of: int | None = None,
    starts: str | None = None,
) -> dict[str, Any]:
    """Long-poll a chat until the bot's wanted message is in it; stamp when it was seen."""
    async with asyncio.timeout(DEADLINE):
        while True:
            params = {"after": after, "wait": 10, "from_bot": 1}
            async with http.get(f"/_emulator/chats/{chat_id}/messages", params=params) as got:
                seen = time.perf_counter()
                body = await got.json() if got.status == 200 else {"messages": []}
            for message in body["messages"]:
                after = max(after, int(message["seq"]))
                if starts is not None and (message.get("text") or "").startswith(starts):
                    return {**message, "_at": seen}
                if copy_of is not None and message.get("copy_of"):
                    original = await sent
                    if message["copy_of"] == {"chat_id": copy_of, "message_id": original}:
                        return {**message, "_at": seen}
            if got.status != 200:
                await asyncio.sleep(0.01)  # nobody has written in this chat yet


async def _seq(http: aiohttp.ClientSession) -> int:
    async with http.get(f"/_emulator/chats/{FIRST_CUSTOMER}/messages") as got:
        if got.status == 404:
            return 0
        body = await got.json()
    return int(body["seq"])


def _people(count: int) -> list[int]:
    return [FIRST_REP + i for i in range(count)] + [FIRST_CUSTOMER + i for i in range(count)]


def _p95(latencies: Sequence[float]) -> float:
    ms = sorted(w * 1000 for w in latencies)
    return statistics.quantiles(ms, n=20, method="inclusive")[-1] if len(ms) > 1 else 0.0


def _figures(latencies: Sequence[float]) -> str:
    ms = sorted(w * 1000 for w in latencies)
    if len(ms) < 2:
        return f"n={len(ms)}"
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1]
    return (
        f"n={len(ms):4d}  p50 {statistics.median(ms):6.0f} ms  p95 {p95:6.0f} ms"
        f"  max {ms[-1]:6.0f} ms"
    )


def _arguments(argv: Sequence[str]) -> tuple[int, int, tuple[str, ...]]:
    numbers = [int(a) for a in argv if a.isdigit()]
    frameworks = tuple(a for a in argv if a in FRAMEWORKS) or FRAMEWORKS
    count = numbers[0] if numbers else CONVERSATIONS
    rounds = numbers[1] if len(numbers) > 1 else ROUNDS
    return count, rounds, frameworks


if __name__ == "__main__":
    asyncio.run(main(*_arguments(sys.argv[1:])))
