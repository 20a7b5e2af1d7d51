"""The emulator's HTTP server: configuration, the aiohttp application and how to run it.

Routes: ``/bot<token>/<method>`` (Bot API), ``/file/bot<token>/<path>`` (file
downloads), ``/_emulator/...`` (control API, see ``bot.sandbox.control``) and,
when the directory ``bot/sandbox/static/`` exists, its files at ``/``.

Where the emulator knowingly differs from Telegram:

- one bot, private chats only (no groups, channels, inline mode or payments);
  methods that are not implemented answer 404 ``Not Found``;
- webhooks may use ``http://`` on loopback hosts (any port), certificates are not
  checked, and a failed delivery is first retried after 0.1 s (Telegram: about 1 s);
- files are not fetched from HTTP URLs, photos are kept as sent (not re-encoded),
  voice, audio and video files are not probed (durations and sizes are what the
  sender says), and file contents live in memory (the oldest are dropped beyond
  256 MB);
- polls, dice, venues and paid media are not emulated; the only service message
  is a user's pin (which copyMessage refuses, as Telegram does);
- automatic entity detection is best effort (URLs need a scheme), MarkdownV2 has
  no expandable block quotes, and an inline button with several action fields is
  rejected with the emulator's own wording;
- callback queries never expire; getUpdates long polls are capped at 600 s;
- each chat keeps its last 1000 messages; older ones can no longer be edited.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot.sandbox import botapi, control, persist
from bot.sandbox.emulator import EMULATOR_KEY, Emulator
from bot.sandbox.params import MAX_BODY_BYTES, Params
from bot.sandbox.webhook import WebhookPusher

# The web chat page's files, served at "/" when the directory exists.
STATIC_DIR = Path(__file__).resolve().parent / "static"
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - only compared against


@dataclass(frozen=True)
class EmulatorConfig:
    """Settings of one emulated bot."""

    token: str = "123456789:AAsandbox-token-for-local-testing_only"  # noqa: S105 - a dummy
    bot_username: str = "ScrmSandboxBot"
    bot_first_name: str = "SCRM Sandbox"
    # Base URL used for file links; by default computed from the listening host and port.
    public_url: str | None = None
    # Where people, chats and messages are kept over restarts; None keeps them in memory only.
    state_file: Path | None = None


def create_app(config: EmulatorConfig, static_dir: Path | None = STATIC_DIR) -> web.Application:
    """Build the aiohttp application serving one emulated bot.

    Raises:
        ValueError: when the token does not look like ``<bot id>:<secret>``.
    """
    app = web.Application(client_max_size=MAX_BODY_BYTES + 1024 * 1024)
    app[EMULATOR_KEY] = Emulator(config)
    botapi.add_routes(app)
    control.add_routes(app)
    if static_dir is not None and static_dir.is_dir():
        _add_static_routes(app, static_dir.resolve())
    app.cleanup_ctx.append(_run_webhook_pusher)
    if config.state_file is not None:
        persist.restore(app[EMULATOR_KEY].world, config.state_file)
        app.cleanup_ctx.append(_keep_saved(config.state_file))
    return app


def _keep_saved(path: Path) -> Callable[[web.Application], AsyncIterator[None]]:
    async def keep(app: web.Application) -> AsyncIterator[None]:
        """Save the world to ``path`` while the server runs."""
        task = asyncio.create_task(persist.keep_saved(app[EMULATOR_KEY].world, path))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return keep


def _add_static_routes(app: web.Application, root: Path) -> None:
    async def serve_static(request: web.Request) -> web.StreamResponse:
        """Serve a file below the static root (index.html for directories)."""
        relative = request.match_info.get("path", "") or "index.html"
        target = (root / relative).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(root) or not target.is_file():
            raise web.HTTPNotFound
        return web.FileResponse(target)

    app.router.add_get("/{path:.*}", serve_static)


async def _run_webhook_pusher(app: web.Application) -> AsyncIterator[None]:
    emu = app[EMULATOR_KEY]

    async def execute(name: str, params: Params) -> object:
        """Run a method named in a webhook answer."""
        return await botapi.execute_by_name(emu, name, params)

    task = asyncio.create_task(WebhookPusher(emu, execute).run(), name="webhook-pusher")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def serve(
    config: EmulatorConfig,
    host: str = "127.0.0.1",
    port: int = 8081,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the emulator on ``host:port`` until cancelled (port 0 picks a free port).

    ``on_ready`` is called with the base URL (``http://host:port``) once listening.
    """
    app = create_app(config)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = int(runner.addresses[0][1]) if runner.addresses else port
        emu = app[EMULATOR_KEY]
        local_host = "127.0.0.1" if host in _WILDCARD_HOSTS else host
        if emu.public_url is None:
            emu.public_url = f"http://{_url_host(local_host)}:{bound_port}"
        if on_ready is not None:
            on_ready(f"http://{_url_host(host)}:{bound_port}")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _announce(url: str) -> None:
    sys.stdout.write(f"Bot API emulator listening on {url}\n")
    sys.stdout.flush()


def run(config: EmulatorConfig, host: str = "127.0.0.1", port: int = 8081) -> None:
    """Serve the emulator until SIGINT or SIGTERM, printing one line once listening."""

    async def main() -> None:
        """Serve until a stop signal arrives or the server fails."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        server = asyncio.create_task(serve(config, host, port, on_ready=_announce))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({server, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not server.done():
            server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server

    asyncio.run(main())
