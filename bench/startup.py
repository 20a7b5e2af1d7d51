"""Start-up: time from ``python -m bot run`` to its first reply, and its memory when idle.

A real bot process (polling, SQLite file already migrated, token configured)
against the Bot API emulator, each in its own process. ``/help`` is queued in
the emulator before the bot starts, so the first reply is timed from the moment
the process is spawned until the answer is in the user's chat: interpreter,
imports, the database's revision check, ``getMe``, the command menus and the
first ``getUpdates``. Then, after ``QUIET`` seconds with nothing to do, the
process's resident memory (``VmRSS`` in ``/proc/<pid>/status``). Each framework
``ROUNDS`` times; prints every figure, the median and the targets (first reply
≤ 2 s, idle RSS ≤ 120 MB). Traffic stays on 127.0.0.1 and every wait has a
bound. Run: ``python -m bench.startup [ROUNDS] [ptb|aiogram ...]``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from bench.broadcast import TOKEN, emulator, post
from bot.crm import migrate, workspaces
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work

FRAMEWORKS = ("ptb", "aiogram")
ROUNDS = 3
USER = 4_000_001
# The longest a start-up may take before the run is declared broken, in seconds.
DEADLINE = 60.0
# Seconds of nothing to do before the idle memory is read.
QUIET = 5.0
FIRST_REPLY_TARGET = 2.0
IDLE_RSS_TARGET_MB = 120


async def main(rounds: int = ROUNDS, frameworks: Sequence[str] = FRAMEWORKS) -> None:
    """Start each framework's bot ``rounds`` times against one emulator; print the figures."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"startup: polling, SQLite already migrated, {cores} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp, emulator() as api:
        db = Path(tmp) / "startup.db"
        await _seed(db)
        for framework in frameworks:
            replies: list[float] = []
            memory: list[float] = []
            for _ in range(rounds):
                first, rss = await _one_start(api, db, framework, Path(tmp))
                replies.append(first)
                memory.append(rss)
            print(
                f"  {framework:8s} first reply {_spread(replies, 's', 2)}"
                f" (target ≤ {FIRST_REPLY_TARGET:.0f} s); idle RSS {_spread(memory, 'MB', 0)}"
                f" (target ≤ {IDLE_RSS_TARGET_MB} MB)",
                flush=True,
            )


async def _one_start(api: str, db: Path, framework: str, tmp: Path) -> tuple[float, float]:
    """Start the bot with ``/help`` waiting; return seconds to its reply and idle RSS in MB."""
    timeout = aiohttp.ClientTimeout(total=DEADLINE)
    async with aiohttp.ClientSession(api, timeout=timeout) as http:
        await post(http, "reset")
        await post(http, "users", id=USER, first_name="Owner")
        await post(http, "send", user_id=USER, text="/help")
        log = tmp / f"bot-{framework}.log"
        with log.open("wb") as sink:
            began = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run",
                env=bot_environment(api, db, framework, tmp), stdout=sink,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            try:
                first = await _first_reply(http) - began
            except TimeoutError:
                msg = (
                    f"no reply within {DEADLINE:.0f} s: {log.read_text(errors='replace')[-3000:]}"
                )
                raise RuntimeError(msg) from None
            await asyncio.sleep(QUIET)
            rss = idle_rss_mb(proc.pid)
        finally:
            await stop(proc)
    return first, rss


def bot_environment(api: str, db: Path, framework: str, tmp: Path, **extra: str) -> dict[str, str]:
    """Return the environment of a ``python -m bot run`` on ``db`` against ``api``."""
    config = tmp / "empty.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRM_")}
    env.update(
        {
            "SCRM_CONFIG": str(config),
            "SCRM_TELEGRAM__TOKEN": TOKEN,
            "SCRM_TELEGRAM__FRAMEWORK": framework,
            "SCRM_TELEGRAM__MODE": "polling",
            "SCRM_TELEGRAM__API_BASE_URL": api,
            "SCRM_TELEGRAM__POLL_TIMEOUT": "2",
            "SCRM_DATABASE__URL": f"sqlite+aiosqlite:///{db}",
            **extra,
        }
    )
    return env


async def _first_reply(http: aiohttp.ClientSession) -> float:
    """Long-poll the user's chat until the bot has answered; return when it was seen."""
    async with asyncio.timeout(DEADLINE):
        while True:
            params = {"after": 0, "wait": 10, "from_bot": 1}
            async with http.get(f"/_emulator/chats/{USER}/messages", params=params) as got:
                seen = time.perf_counter()
                body = await got.json()
            if body["messages"]:
                return seen


def idle_rss_mb(pid: int) -> float:
    """Return a process's resident memory in MB, read from ``/proc/<pid>/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - every Linux process has VmRSS


async def stop(proc: asyncio.subprocess.Process) -> None:
    """Stop a bot process with SIGTERM, or SIGKILL after 15 s."""
    if proc.returncode is None:
        proc.terminate()
    try:
        async with asyncio.timeout(15):
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def _seed(db: Path) -> None:
    """Make a migrated SQLite file with one shop whose owner is ``USER``."""
    url = f"sqlite+aiosqlite:///{db}"
    await migrate.upgrade_async(url)
    engine = create_engine(url)
    async with unit_of_work(create_sessionmaker(engine)) as session:
        await workspaces.create_workspace(
            session, name="Bench Tea", timezone="Asia/Shanghai", locale="en", region="CN"
        )
    await engine.dispose()


def _spread(values: Sequence[float], unit: str, digits: int) -> str:
    each = ", ".join(f"{v:.{digits}f}" for v in values)
    return f"median {statistics.median(values):.{digits}f} {unit} ({each})"


def _arguments(argv: Sequence[str]) -> tuple[int, tuple[str, ...]]:
    numbers = [int(a) for a in argv if a.isdigit()]
    frameworks = tuple(a for a in argv if a in FRAMEWORKS) or FRAMEWORKS
    return (numbers[0] if numbers else ROUNDS), frameworks


if __name__ == "__main__":
    asyncio.run(main(*_arguments(sys.argv[1:])))
