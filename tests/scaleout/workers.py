"""Start several bot workers (forked from the launcher) behind nginx on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bench import cluster
from tests.e2e.harness import BotOptions, BotProcess


@contextlib.asynccontextmanager
async def workers(
    *,
    api: str,
    url: str,
    launcher: Path,
    tmp: Path,
    count: int,
    framework: str = "ptb",
    **extra: str,
) -> AsyncIterator[list[BotProcess]]:
    """Run ``count`` workers behind nginx; stop (or, if already killed, reap) them after."""
    ports = [cluster.free_port() for _ in range(count)]
    async with cluster.nginx(tmp / "nginx", ports) as hook:
        procs = [
            BotProcess(
                BotOptions(
                    framework,
                    tmp / "unused.db",
                    api,
                    launcher,
                    mode="webhook",
                    webhook_port=port,
                    extra_env=cluster.worker_env(api, url, port, hook, framework, **extra),
                )
            )
            for port in ports
        ]
        try:
            await asyncio.gather(*(proc.start() for proc in procs))
            yield procs
        finally:
            await asyncio.gather(*(proc.stop() for proc in procs), return_exceptions=True)
