"""Backups: taken while a campaign sends, restored, resumed without messaging anyone twice.

The bot sends a broadcast to a few hundred customers at Telegram's 30 messages/s.
``scrm-bot backup`` copies the database while it sends; then the process is frozen
mid-send (SIGSTOP: requests are on the wire), backed up again and killed, as when a
server dies. The second backup is restored and a new bot finishes the run. The
emulator's chats are the truth about who received what.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.crm import migrate
from tests.e2e.harness import (
    ROOT,
    BotOptions,
    BotProcess,
    Emulator,
    Person,
    Workspace,
    base_env,
    cli,
    execute,
    query,
)
from tests.e2e.test_delivery_crash import (
    add_broadcast,
    bot_messages_per_chat,
    create_users,
    outbox_by_status,
    seed_customers,
    wait_reported,
)

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("framework", ["ptb"])]

CUSTOMERS = 300
FIRST_USER = 760_000
OWNER = 1001
# A release before the newest migration.
OLDER = "0009"


async def failing_cli(*args: str, env: dict[str, str]) -> str:
    """Run ``python -m bot ARGS``, expect it to fail, and return what it printed on stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=base_env(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    assert proc.returncode != 0
    return err.decode()


def integrity(path: Path) -> str:
    """Return SQLite's verdict on a database file."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def count_sent(db_path: Path, run_id: int) -> int:
    """Return how many of the run's rows are marked sent."""
    sql = "SELECT count(*) FROM outbox_message WHERE run_id = ? AND status = 'sent'"
    return int(query(db_path, sql, run_id)[0][0])


async def test_backup_while_sending_restores_and_resumes_without_doubles(
    options: BotOptions, emu: Emulator, workspace: Workspace, tmp_path: Path
) -> None:
    ids = range(FIRST_USER, FIRST_USER + CUSTOMERS)
    await create_users(emu, ids)
    seed_customers(options.db_path, ids)
    run_id = add_broadcast(options.db_path)
    env = options.env()
    bot = BotProcess(options)
    await bot.start()
    async with asyncio.timeout(30):
        while count_sent(options.db_path, run_id) < 30:
            await asyncio.sleep(0.1)

    # A restore refuses while the bot runs on the database.
    err = await failing_cli("restore", str(options.db_path), env=env)
    assert "a bot is running on" in err and "stop it first" in err, err

    live = tmp_path / "live.db"
    out = await cli("backup", str(live), env=env)
    assert f"Backup written: {live}" in out and "schema revision" in out
    assert integrity(live) == "ok"
    sent_later = count_sent(options.db_path, run_id)
    assert 30 <= count_sent(live, run_id) <= sent_later < CUSTOMERS, "not taken mid-run"
    # The copy is one moment: every row it counts as sent reached its chat.
    received = await bot_messages_per_chat(emu)
    assert all(received.get(chat, 0) == 1 for chat in outbox_by_status(live, run_id)["sent"])

    # The server dies mid-send: frozen with requests on the wire, backed up, killed.
    assert bot.proc is not None
    bot.proc.send_signal(signal.SIGSTOP)
    frozen = tmp_path / "frozen.db"
    await cli("backup", str(frozen), env=env)
    await bot.kill()
    before = outbox_by_status(frozen, run_id)
    assert before.get("pending"), "the backup was taken after the run had finished"

    # Restored into a fresh place (the old disk is gone), a new bot resumes the run.
    restored = tmp_path / "restored" / "scrm.db"
    options.db_path = restored
    out = await cli("restore", str(frozen), env=options.env())
    assert f"Restored {frozen}" in out
    assert integrity(restored) == "ok"
    bot = BotProcess(options)
    await bot.start()
    try:
        await wait_reported(restored, run_id, timeout=60)
    finally:
        await bot.stop()

    after = outbox_by_status(restored, run_id)
    received = await bot_messages_per_chat(emu)
    assert max(received.get(i, 0) for i in ids) == 1, "somebody got the campaign twice"
    assert after.get("unknown", set()) == before.get("sending", set())
    assert set(after) <= {"sent", "unknown"}
    assert all(received.get(i, 0) == 1 for i in after["sent"])
    assert len(after["sent"]) + len(after.get("unknown", set())) == CUSTOMERS


async def test_restore_refuses_a_backup_from_a_newer_release(
    options: BotOptions, workspace: Workspace, tmp_path: Path
) -> None:
    newer = tmp_path / "newer.db"
    await cli("backup", str(newer), env=options.env())
    execute(newer, "UPDATE alembic_version SET version_num = '9999'")
    err = await failing_cli("restore", str(newer), env=options.env())
    assert "The backup is at schema revision 9999, newer than this version" in err, err
    assert "Run that release" in err
    # The database is untouched.
    assert query(options.db_path, "SELECT version_num FROM alembic_version") != [("9999",)]


async def test_run_refuses_a_newer_database_and_upgrades_an_older_one(
    options: BotOptions, workspace: Workspace, tmp_path: Path
) -> None:
    execute(options.db_path, "UPDATE alembic_version SET version_num = '9999'")
    err = await failing_cli("run", env=options.env())
    assert "The database is at schema revision 9999, newer than this version" in err, err

    options.db_path = tmp_path / "older.db"
    await asyncio.to_thread(migrate.upgrade, f"sqlite+aiosqlite:///{options.db_path}", OLDER)
    bot = BotProcess(options)
    await bot.start()
    await bot.wait_for(f"database upgraded from revision {OLDER} to {migrate.head_revision()}")
    await bot.stop()


async def test_owner_gets_the_newest_backup_in_the_chat(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "backups"
    options.extra_env["SCRM_BACKUP__DIR"] = str(folder)
    bot = await start_bot(options)
    await bot.wait_for(r"backup written: scrm-\d{8}-\d{6}\.db")
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/backup")
    sent = await owner.expect("Backup of")
    assert sent["document"]["file_name"].startswith("scrm-")
    async with httpx.AsyncClient() as http:
        response = await http.get(sent["document"]["url"])
    copy = tmp_path / "received.db"
    copy.write_bytes(response.content)
    assert integrity(copy) == "ok"
    assert query(copy, "SELECT slug FROM workspace") == [(workspace.slug,)]
