"""Inbound: how many updates a second one bot process answers, beside a bot that only answers "ok".

``N`` members of one shop (1,000 by default) each send the same command, all
queued in the Bot API emulator before the bot starts, as after a restart in a
busy hour: ``/help``, then ``/today`` (each member owns ``CUSTOMERS_EACH``
customers, some not contacted for two weeks, and has reminders overdue, due
today and due tomorrow) and ``/find`` by a name prefix their customers share.
Then a real bot process (``python -m bot run``, SQLite file already migrated
and seeded) starts against the emulator, in polling or in webhook mode (the
emulator posts the updates to the bot's endpoint, up to ``max_connections`` at
once and one per chat at a time, as Telegram does). The emulator's count of sent
messages is read every ``STEP`` seconds; the rate is the replies sent between the first read that
finds some and the read that finds them all, over the time between those two
reads, so start-up is left out. Every member's chat is checked for its answer
at the end.

Then the same ``N`` updates go to the floor (``bench.answer_floor``): a bot of
the same framework that answers every message "ok", with no database and no
logic, in the same run against the same emulator. Prints updates/s for both
and their ratio, per framework and mode (targets: ≥ 1,000 updates/s, ≥ 0.5× the
floor). Traffic stays on 127.0.0.1 and every wait has a bound. Run:
``python -m bench.inbound [N] [ptb|aiogram ...] [polling|webhook ...] [help|today|find ...]
[--profile=DIR]``;
``--profile`` runs each real bot under ``py-spy record`` and writes its samples
(``py-spy``'s raw format, one stack a line) to ``DIR``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import aiohttp

from bench import startup
from bench.answer_floor import PATH
from bench.broadcast import count_sent, emulator, gather_bounded, post
from bot.crm import migrate, workspaces
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work

COUNT = 1000
FRAMEWORKS = ("ptb", "aiogram")
MODES = ("polling", "webhook")
# Each command as a member types it (the /find prefix is every seeded customer's surname).
COMMANDS = {"help": "/help", "today": "/today", "find": "/find 王"}
CUSTOMERS_EACH = 10
FIRST_USER = 8_000_000
# The longest one run may take before it is declared broken, in seconds.
DEADLINE = 180.0
# How often the emulator's count of sent messages is read, in seconds.
STEP = 0.01
SECRET = "bench-inbound-secret"  # noqa: S105 - a local bench's webhook secret
RATE_TARGET = 1000
RATIO_TARGET = 0.5
CREATED = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class Result:
    """One run: updates answered, replies timed, their span in seconds, and spawn to last."""

    answered: int
    timed: int
    span: float
    total: float

    @property
    def rate(self) -> float:
        """Return replies per second from the first count read to the last."""
        return self.timed / self.span if self.span > 0 else float("nan")


async def main(
    count: int = COUNT,
    frameworks: Sequence[str] = FRAMEWORKS,
    modes: Sequence[str] = MODES,
    profile: Path | None = None,
    commands: Sequence[str] = tuple(COMMANDS),
) -> None:
    """Measure each framework, mode and command against one emulator; print the figures."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"inbound: one command from each of {count} members queued at once, SQLite, {cores} cores",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp, emulator() as api:
        seeded = Path(tmp) / "seeded.db"
        await _seed(seeded, count)
        for command in commands:
            text = COMMANDS[command]
            for framework in frameworks:
                for mode in modes:
                    run = f"{framework}-{mode}-{command}"
                    db = Path(tmp) / f"{run}.db"
                    # A fresh copy each run: the emulator numbers updates from 1 after a
                    # reset, and the bot would take them for updates it has already handled.
                    shutil.copyfile(seeded, db)
                    trace = profile / f"{run}.txt" if profile else None
                    real = await _measure(
                        api,
                        count,
                        text,
                        partial(_real_bot, api, db, framework, mode, Path(tmp), trace),
                    )
                    floor = await _measure(
                        api, count, text, partial(_floor_bot, api, framework, mode)
                    )
                    print(
                        f"  {text:8s} {framework:8s} {mode:8s} bot {real.rate:6.0f} updates/s"
                        f" ({real.answered} in {real.span:.2f} s, {real.total:.2f} s from spawn);"
                        f" floor {floor.rate:6.0f} updates/s ({floor.span:.2f} s);"
                        f" ratio {real.rate / floor.rate:.2f}"
                        f" (targets ≥ {RATE_TARGET}/s, ≥ {RATIO_TARGET})",
                        flush=True,
                    )


Launch = Callable[[], contextlib.AbstractAsyncContextManager[Path]]


async def _measure(api: str, count: int, text: str, launch: Launch) -> Result:
    """Queue ``text`` from every member, start the bot, time its answers; return the run."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=DEADLINE)
    async with aiohttp.ClientSession(api, connector=connector, timeout=timeout) as http:
        await post(http, "reset")
        users = range(FIRST_USER, FIRST_USER + count)
        await gather_bounded([partial(post, http, "users", id=u, first_name="M") for u in users])
        await gather_bounded([partial(post, http, "send", user_id=u, text=text) for u in users])
        began = time.perf_counter()
        async with launch() as log:
            try:
                timed, first, last = await count_sent(http, count, deadline=DEADLINE, step=STEP)
            except TimeoutError:
                tail = log.read_text(errors="replace")[-3000:]
                msg = f"not every update was answered within {DEADLINE:.0f} s:\n{tail}"
                raise RuntimeError(msg) from None
        async with http.get("/_emulator/state") as got:
            chats = (await got.json())["users"]
    answered = sum(1 for chat in chats if chat["message_count"] >= 2)  # the /help and a reply
    return Result(answered, timed, last - first, last - began)


@contextlib.asynccontextmanager
async def _real_bot(
    api: str, db: Path, framework: str, mode: str, tmp: Path, trace: Path | None
) -> AsyncIterator[Path]:
    """Run ``python -m bot run`` on ``db`` (optionally under py-spy) until the block ends."""
    port = _free_port()
    webhook = {
        "SCRM_TELEGRAM__MODE": "webhook",
        "SCRM_TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{port}{PATH}",
        "SCRM_TELEGRAM__WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "SCRM_TELEGRAM__WEBHOOK_SECRET": SECRET,
    }
    env = startup.bot_environment(
        api, db, framework, tmp, **(webhook if mode == "webhook" else {})
    )
    argv = [sys.executable, "-m", "bot", "run"]
    if trace is not None:
        argv = [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "-r",
            "250",
            "-f",
            "raw",
            "-o",
            str(trace),
            "--",
            *argv,
        ]
    log = tmp / f"bot-{framework}-{mode}.log"
    async with _process(argv, log, env, wrapped=trace is not None) as ran:
        yield ran
    failed = log.read_text(errors="replace").count(" failed")
    if failed:
        print(f"  {framework:8s} {mode:8s} lines with 'failed' in the bot's log: {failed}")


@contextlib.asynccontextmanager
async def _floor_bot(api: str, framework: str, mode: str) -> AsyncIterator[Path]:
    """Run ``python -m bench.answer_floor`` until the block ends."""
    port = str(_free_port()) if mode == "webhook" else ""
    argv = [sys.executable, "-m", "bench.answer_floor", framework, api, mode, port, SECRET]
    with tempfile.TemporaryDirectory() as tmp:
        async with _process(argv, Path(tmp) / "floor.log", None) as log:
            yield log


@contextlib.asynccontextmanager
async def _process(
    argv: list[str], log: Path, env: dict[str, str] | None, *, wrapped: bool = False
) -> AsyncIterator[Path]:
    """Run ``argv`` with its output in ``log``; SIGTERM it (SIGKILL after 15 s) at the end.

    A ``wrapped`` process (py-spy) is stopped by stopping its children: py-spy then
    writes its samples and exits, where a SIGTERM would leave the bot running.
    """
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        yield log
    finally:
        if wrapped and proc.returncode is None:
            for child in _children(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30):
                    await proc.wait()
        await startup.stop(proc)


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found = (task / "children" for task in tasks.iterdir()) if tasks.exists() else ()
    return [int(child) for path in found for child in path.read_text().split()]


async def _seed(db: Path, count: int) -> None:
    """Make a migrated SQLite file: one shop, its owner, ``count`` staff and their customers."""
    url = f"sqlite+aiosqlite:///{db}"
    await migrate.upgrade_async(url)
    engine = create_engine(url)
    async with unit_of_work(create_sessionmaker(engine)) as session:
        await workspaces.create_workspace(
            session, name="Bench Tea", timezone="Asia/Shanghai", locale="en", region="CN"
        )
    await engine.dispose()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = [(1, 1, "owner", "Owner", "bench0")] + [
            (FIRST_USER + i, FIRST_USER + i, "staff", f"Rep {i}", f"bench{i + 1}")
            for i in range(count)
        ]
        conn.executemany(
            "INSERT INTO member (workspace_id, tg_user_id, chat_id, role, display_name,"
            " referral_code, active, created_at) VALUES (1, ?, ?, ?, ?, ?, 1, ?)",
            [(*row, CREATED) for row in rows],
        )
        staff = conn.execute("SELECT id FROM member WHERE role = 'staff' ORDER BY id").fetchall()
        _seed_books(conn, [member_id for (member_id,) in staff])
        conn.commit()


def _seed_books(conn: sqlite3.Connection, staff: Sequence[int]) -> None:
    """Give each member ``CUSTOMERS_EACH`` customers and three reminders, as /today reads."""
    now = datetime.now(UTC)
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    customers = [
        (
            member_id,
            f"王{member_id}-{i}",
            f"+86137{member_id:05d}{i:03d}",
            (now - timedelta(days=14 if i % 2 else 1)).strftime(stamp),
        )
        for member_id in staff
        for i in range(CUSTOMERS_EACH)
    ]
    conn.executemany(
        "INSERT INTO customer (workspace_id, owner_member_id, name, phone, kind, consent,"
        " reachable, source, stage, score, last_contact_at, created_at, updated_at)"
        " VALUES (1, ?, ?, ?, 'customer', 'opted_in', 1, 'staff', 'won', 0, ?, ?, ?)",
        [(*row, CREATED, CREATED) for row in customers],
    )
    owned = conn.execute("SELECT owner_member_id, min(id) FROM customer GROUP BY 1").fetchall()
    conn.executemany(
        "INSERT INTO reminder (workspace_id, member_id, customer_id, text, due_at, created_at)"
        " VALUES (1, ?, ?, ?, ?, ?)",
        [
            (member_id, customer_id, f"call back {hours}", when.strftime(stamp), CREATED)
            for member_id, customer_id in owned
            for hours in (-3, 1, 30)
            for when in (now + timedelta(hours=hours),)
        ],
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _arguments(
    argv: Sequence[str],
) -> tuple[int, tuple[str, ...], tuple[str, ...], Path | None, tuple[str, ...]]:
    numbers = [int(a) for a in argv if a.isdigit()]
    frameworks = tuple(a for a in argv if a in FRAMEWORKS) or FRAMEWORKS
    modes = tuple(a for a in argv if a in MODES) or MODES
    commands = tuple(a for a in argv if a in COMMANDS) or tuple(COMMANDS)
    profiles = [Path(a.split("=", 1)[1]) for a in argv if a.startswith("--profile=")]
    profile = profiles[0] if profiles else None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    return (numbers[0] if numbers else COUNT), frameworks, modes, profile, commands


if __name__ == "__main__":
    asyncio.run(main(*_arguments(sys.argv[1:])))
