"""Isolation: how long another shop waits for ``/help`` while one shop runs a heavy job.

Seeds a SQLite file (shop A: 100,000 customers with 500,000 purchases, as
``bench.tiers`` seeds them; shop B: one owner), then drives each heavy job through
the whole dispatcher as shop A's owner while shop B's owner sends ``/help`` every
``GAP`` seconds, one at a time, until the job has answered (the churn detection
job, which no command starts, runs as the scheduler runs it). Prints each job's
duration and the ``/help`` latency p50/p95/max (target: p95 ≤ 500 ms), and the
bot process's resident memory around the zip-bomb import. Run:
``python -m bench.isolation [customers]``.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import tiers
from bench.dispatch import CountingMessenger
from bot.chat.context import AppInfo
from bot.chat.dispatcher import Dispatcher
from bot.crm.models import utcnow
from bot.crm.store import create_engine, create_sessionmaker
from bot.handlers import ROUTERS
from bot.jobs import churn_alerts
from bot.messaging import FileRef, Incoming, Keyboard, Kind, User
from tests.spreadsheets import bomb_xlsx

CUSTOMERS = 100_000
GAP = 0.05
OWNER_A, OWNER_B = 1, 900_001
HOSTILE = "Hi {{ points|round(-99999999) }}"


class BenchMessenger(CountingMessenger):
    """Counts what is sent, keeps each chat's last buttons and serves uploaded files."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}
        self.buttons: dict[int, Keyboard] = {}
        self.texts: dict[int, list[str]] = {}

    def seen(self, chat_id: int, text: str, buttons: Keyboard) -> None:
        self.texts.setdefault(chat_id, []).append(text)
        if buttons:
            self.buttons[chat_id] = buttons

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()
    ) -> None:
        self.texts.setdefault(chat_id, []).append(text)
        await super().edit_text(chat_id, message_id, text, buttons)

    async def download(self, file_id: str) -> bytes:
        return self.files[file_id]


class Bench:
    """The dispatcher, a messenger and a counter of update ids."""

    def __init__(self, dispatcher: Dispatcher, messenger: BenchMessenger) -> None:
        self.dispatcher = dispatcher
        self.messenger = messenger
        self.update_id = 10_000_000

    async def send(self, user_id: int, text: str, file: FileRef | None = None) -> None:
        """Handle one message (a command when it starts with /, a document with ``file``)."""
        self.update_id += 1
        command, _, args = text[1:].partition(" ") if text.startswith("/") else ("", "", "")
        kind = Kind.DOCUMENT if file else Kind.COMMAND if command else Kind.TEXT
        incoming = Incoming(
            update_id=self.update_id,
            kind=kind,
            chat_id=user_id,
            user=User(id=user_id, first_name="Bench"),
            text=text,
            command=command or None,
            args=args,
            file=file,
        )
        await self.dispatcher(incoming, self.messenger)

    async def press(self, user_id: int, fragment: str) -> None:
        """Press the button of the chat's last keyboard whose data contains ``fragment``."""
        for row in self.messenger.buttons.get(user_id, ()):
            for button in row:
                if button.data and fragment in button.data:
                    self.update_id += 1
                    incoming = Incoming(
                        update_id=self.update_id,
                        kind=Kind.CALLBACK,
                        chat_id=user_id,
                        user=User(id=user_id, first_name="Bench"),
                        data=button.data,
                        callback_id=str(self.update_id),
                        message_id=1,
                    )
                    await self.dispatcher(incoming, self.messenger)
                    return
        raise AssertionError(f"no button {fragment!r} in {self.messenger.buttons.get(user_id)}")

    async def upload(self, user_id: int, name: str, content: bytes) -> None:
        """Send a document the way a user attaches a file."""
        file_id = f"file-{self.update_id}"
        self.messenger.files[file_id] = content
        await self.send(user_id, "", FileRef(file_id, name, None, len(content)))


async def measure(bench: Bench, label: str, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``job`` while shop B sends /help; print the job's time and /help's latency."""
    waits: list[float] = []
    seen = len(bench.messenger.texts.get(OWNER_A, []))
    task = asyncio.create_task(job())
    started = time.perf_counter()
    while not task.done():
        sent = time.perf_counter()
        await bench.send(OWNER_B, "/help")
        waits.append(time.perf_counter() - sent)
        await asyncio.sleep(GAP)
    await task
    took = time.perf_counter() - started
    print(
        f"{label:44s} {took:6.1f} s  /help {_figures(waits)}  → {_said(bench, seen)}", flush=True
    )


def _figures(waits: Sequence[float]) -> str:
    ms = sorted(w * 1000 for w in waits)
    if len(ms) < 2:
        return f"n={len(ms)} max {max(ms, default=0):.0f} ms"
    p95 = statistics.quantiles(ms, n=20)[-1]
    p50 = statistics.median(ms)
    return f"n={len(ms):4d} p50 {p50:5.0f} ms p95 {p95:5.0f} ms max {ms[-1]:5.0f} ms"


def _said(bench: Bench, seen: int) -> str:
    texts = bench.messenger.texts.get(OWNER_A, [])[seen:]
    warned = [t for t in texts if t.startswith("⚠️")]
    return (warned or texts or [""])[-1].split("\n")[0][:90]


def _rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _workbook(rows: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("customers")
    sheet.append(["姓名", "电话", "公司", "阶段", "等级", "标签", "地区"])
    for i in range(rows):
        sheet.append([f"客户 {i}", f"137{i:08d}", f"公司 {i % 300}", "new", "B", "", "east"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _add_shop_b(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TEMPORARY TABLE shop AS SELECT * FROM workspace WHERE id = 1")
        db.execute("UPDATE shop SET id = 2, name = 'Other Shop', slug = 'other-shop'")
        db.execute("INSERT INTO workspace SELECT * FROM shop")
        db.execute(
            "INSERT INTO member (workspace_id, tg_user_id, chat_id, role, display_name,"
            " referral_code, active, created_at) VALUES (2, ?, ?, 'owner', 'B', 'benchb', 1,"
            " '2024-01-01')",
            (OWNER_B, OWNER_B),
        )
        db.commit()


async def main(customers: int = CUSTOMERS) -> None:
    """Seed both shops, then measure /help of shop B during each heavy job of shop A."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "isolation.db"
        started = time.perf_counter()
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bench.tiers", "--seed", str(path), str(customers)]
            + [str(customers * 5)],
            check=True,
        )
        _add_shop_b(path)
        print(f"seed: {customers:,} customers in {time.perf_counter() - started:.1f} s")
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        bench = Bench(
            Dispatcher(create_sessionmaker(engine), AppInfo(), clock=utcnow, routers=ROUTERS),
            BenchMessenger(),
        )
        await bench.send(OWNER_B, "/help")  # warm up routing and the connection pool
        await measure(bench, "idle (no heavy job)", lambda: asyncio.sleep(2))
        await measure(bench, "hostile template preview", lambda: _template(bench))
        workbook = _workbook(5000)
        await measure(
            bench, "import 5,000-row XLSX: check the file", lambda: _upload(bench, workbook)
        )
        await measure(
            bench, "import 5,000-row XLSX: tap Import", lambda: bench.press(OWNER_A, "im:go")
        )
        bomb = bomb_xlsx()
        before = _rss_mb()
        await measure(
            bench, f"import zip-bomb XLSX ({len(bomb) // 1024} KB)", lambda: _upload(bench, bomb)
        )
        after = _rss_mb()
        print(
            f"  bot process RSS {before[0]:.0f} → {after[0]:.0f} MB"
            f" (peak {before[1]:.0f} → {after[1]:.0f} MB)"
        )
        await measure(
            bench,
            f"export {customers:,} customers as XLSX",
            lambda: bench.send(OWNER_A, "/export xlsx"),
        )
        await measure(bench, "/stats", lambda: bench.send(OWNER_A, "/stats"))
        await measure(
            bench,
            f"/tiers recompute ({customers:,} customers)",
            lambda: bench.send(OWNER_A, "/tiers recompute"),
        )
        await measure(
            bench,
            f"churn detection job ({customers:,} customers)",
            lambda: _churn_alerts(bench, create_sessionmaker(engine)),
        )
        await engine.dispose()


async def _template(bench: Bench) -> None:
    await bench.send(OWNER_A, "/template welcome")
    await bench.press(OWNER_A, "tp:e:")
    await bench.send(OWNER_A, HOSTILE)


async def _churn_alerts(bench: Bench, sessions: async_sessionmaker[AsyncSession]) -> None:
    # The scheduler's job as it runs hourly: detection is due for both shops, then the
    # reps are alerted; the seed's clock puts shop A outside its quiet hours.
    await churn_alerts.churn_alerts(sessions, bench.messenger, lambda: tiers.NOW, last_detect={})


async def _upload(bench: Bench, content: bytes) -> None:
    await bench.send(OWNER_A, "/import")
    await bench.upload(OWNER_A, "customers.xlsx", content)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else CUSTOMERS))
