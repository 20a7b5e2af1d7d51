"""What the failover tests share: who leads, killing a worker, and reading the database."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import text

from bot.crm.store import create_engine
from tests.e2e.harness import BotProcess

LEADER_LINE = "this process is now the leader"
# The bound: another worker leads within this many seconds of the leader's death.
TAKEOVER_SECONDS = 10.0


def leaders(procs: list[BotProcess]) -> list[BotProcess]:
    """Return the live workers that have said they lead (the last one leads now)."""
    return [
        p
        for p in procs
        if p.proc is not None
        and p.proc.returncode is None
        and any(LEADER_LINE in line for line in p.lines)
    ]


async def wait_leader(procs: list[BotProcess], timeout: float = 30) -> BotProcess:
    """Return the live worker that leads, once one has said so."""
    async with asyncio.timeout(timeout):
        while not (found := leaders(procs)):
            await asyncio.sleep(0.05)
    return found[0]


async def kill_leader(procs: list[BotProcess]) -> float:
    """SIGKILL the leader; return the seconds until another live worker leads."""
    leader = await wait_leader(procs)
    others = [p for p in procs if p is not leader]
    await leader.kill()
    began = time.monotonic()
    await wait_leader(others, timeout=TAKEOVER_SECONDS * 3)
    return time.monotonic() - began


async def rows(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Return the rows of one query on the workers' database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql), params)).all()]
    finally:
        await engine.dispose()


async def execute(url: str, sql: str, params: list[dict[str, Any]] | dict[str, Any]) -> None:
    """Run one statement (or one per parameter set) on the workers' database and commit."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql), params)
    finally:
        await engine.dispose()
