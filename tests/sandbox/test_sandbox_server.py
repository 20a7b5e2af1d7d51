"""Running the emulator: ``serve`` on port 0 and the ``run`` entry point in a subprocess."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp

from bot.sandbox.server import EmulatorConfig, serve

from .helpers import TOKEN

REPO_ROOT = Path(__file__).resolve().parents[2]


async def test_serve_on_a_free_port_until_cancelled() -> None:
    ready: asyncio.Queue[str] = asyncio.Queue()
    config = EmulatorConfig(bot_username="OtherBot")
    task = asyncio.create_task(serve(config, "127.0.0.1", 0, on_ready=ready.put_nowait))
    try:
        url = await asyncio.wait_for(ready.get(), 10)
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{url}/bot{TOKEN}/getMe") as resp,
        ):
            body = await resp.json()
        assert body["result"]["username"] == "OtherBot"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_run_prints_the_address_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox",
        "--port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line.startswith("Bot API emulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{url}/bot{TOKEN}/getMe") as resp,
        ):
            assert (await resp.json())["ok"] is True
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await process.communicate()
