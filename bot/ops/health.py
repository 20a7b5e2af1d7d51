"""Health and metrics over HTTP: /healthz, /readyz and Prometheus /metrics on ``ops.listen``.

Meant for a service manager, a load balancer or Prometheus on the same machine
or a private network; it shows counts and states only, never shop data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.crm import backup
from bot.metrics import METRICS

logger = logging.getLogger(__name__)
# Every probe has a bound: a stuck database answers "not ready", never a hung request.
PROBE_TIMEOUT = 2.0


@dataclass(slots=True)
class Readiness:
    """What /readyz reports; the composition root keeps ``receiving`` up to date."""

    engine: AsyncEngine
    scheduler_running: Callable[[], bool]
    is_leader: Callable[[], Awaitable[bool]]
    receiving: bool = False
    database_file: Path | None = field(default=None)

    async def check(self) -> dict[str, bool]:
        """Return each check's verdict and ``ready``, their conjunction (leading is not one)."""
        database = await self._database()
        leader = False
        if database:
            with contextlib.suppress(TimeoutError, SQLAlchemyError, OSError):
                async with asyncio.timeout(PROBE_TIMEOUT):
                    leader = await self.is_leader()
        result = {
            "database": database,
            "receiving": self.receiving,
            "scheduler": self.scheduler_running(),
            "leader": leader,
        }
        result["ready"] = database and result["receiving"] and result["scheduler"]
        return result

    async def _database(self) -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                if self.database_file is not None:
                    # A fresh connection to the file: pooled ones keep answering from a
                    # file that was deleted or moved away.
                    return await asyncio.to_thread(_sqlite_answers, self.database_file)
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                return True
        except (TimeoutError, SQLAlchemyError, OSError):
            return False


def _sqlite_answers(path: Path) -> bool:
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=PROBE_TIMEOUT)
        ) as conn:
            conn.execute("SELECT count(*) FROM alembic_version").fetchone()
    except sqlite3.Error:
        return False
    return True


async def _refresh_gauges(engine: AsyncEngine) -> None:
    pool = engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out):
        METRICS.db_pool_in_use.set(checked_out())
    if callable(size):
        METRICS.db_pool_size.set(size())
    try:
        async with asyncio.timeout(PROBE_TIMEOUT), engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT status, count(*) FROM outbox_message GROUP BY status")
                )
            ).all()
    except (TimeoutError, SQLAlchemyError, OSError):
        return  # the last values stay; /readyz tells that the database is gone
    METRICS.outbox_rows.clear()
    for status, count in rows:
        METRICS.outbox_rows.labels(str(status)).set(count)


def build_app(readiness: Readiness) -> web.Application:
    """Return the aiohttp application serving the three endpoints."""

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        result = await readiness.check()
        return web.Response(
            text=json.dumps(result) + "\n",
            status=200 if result["ready"] else 503,
            content_type="application/json",
        )

    async def metrics(_: web.Request) -> web.Response:
        await _refresh_gauges(readiness.engine)
        body = generate_latest(METRICS.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


class OpsServer:
    """The endpoints' HTTP server, started and stopped by the composition root."""

    def __init__(self, listen: str, readiness: Readiness) -> None:
        self._host, _, port = listen.rpartition(":")
        self._port = int(port)
        self._runner = web.AppRunner(build_app(readiness), access_log=None)
        self.port: int | None = None

    async def start(self) -> None:
        """Listen; a busy port is logged as an error and the bot runs on without endpoints."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            logger.error(  # noqa: TRY400 - the reason is the message
                "health and metrics endpoints off: cannot listen on %s:%d (%s)",
                self._host,
                self._port,
                exc.strerror,
            )
            return
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port nowhere else
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        logger.info("health and metrics on http://%s:%d/", self._host, self.port)

    async def stop(self) -> None:
        """Stop listening (bounded: a scrape in progress is cut after a second)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self._runner.cleanup()


def database_file(url: str) -> Path | None:
    """Return the SQLite file /readyz opens afresh, or None for PostgreSQL."""
    return backup.sqlite_file(url)
