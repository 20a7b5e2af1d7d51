"""End-to-end harness: the emulator and the bot as real processes, people as emulator users."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAsandbox-token-for-local-testing_only"
BOT_USERNAME = "ScrmSandboxBot"
START_TIMEOUT = 30.0
# A process asked to stop (SIGTERM) must be gone within this many seconds.
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a clean environment for a child process: no inherited SCRM_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRM_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["SCRM_CONFIG"] = str(ROOT / "tests" / "e2e" / "no-config.toml")
    env.update(extra or {})
    return env


class Forked:
    """A ``python -m bot ARGS`` forked by the launcher (tests/e2e/zygote.py), as asyncio's Process.

    Its stdout and stderr are pipes of this process; it is signalled by pid, and the
    launcher, whose child it is, reports its exit status over the connection, which
    sets ``returncode`` as soon as it arrives.
    """

    def __init__(self, pid: int, status: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.pid = pid
        self.returncode: int | None = None
        self.stdout: asyncio.StreamReader | None = None
        self.stderr: asyncio.StreamReader | None = None
        self._writer = writer
        self._ended = asyncio.create_task(self._watch(status))

    async def _watch(self, status: asyncio.StreamReader) -> None:
        try:
            line = (await status.readline()).decode()
        finally:
            self._writer.close()
        if not line.startswith("exit "):
            raise AssertionError(f"lost the launcher before the process ended: {line!r}")
        self.returncode = int(line.split()[1])

    @classmethod
    async def spawn(cls, launcher: Path, argv: Sequence[str], env: Mapping[str, str]) -> Forked:
        """Ask the launcher listening at ``launcher`` to fork ``python -m bot *argv``."""
        request = json.dumps({"argv": list(argv), "env": dict(env), "cwd": str(ROOT)}).encode()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(launcher))
            socket.send_fds(sock, [b"R"], [out_w, err_w])
            sock.sendall(len(request).to_bytes(4, "big") + request)
        except BaseException:
            sock.close()
            for fd in (out_r, err_r):
                os.close(fd)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        sock.setblocking(False)
        status, writer = await asyncio.open_unix_connection(sock=sock)
        answer = (await status.readline()).decode()
        if not answer.startswith("pid "):
            writer.close()
            for fd in (out_r, err_r):
                os.close(fd)
            raise AssertionError(f"the launcher did not start the process: {answer!r}")
        forked = cls(int(answer.split()[1]), status, writer)
        forked.stdout = await _pipe_reader(out_r)
        forked.stderr = await _pipe_reader(err_r)
        return forked

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the process unless it has already ended."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the process."""
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        """Wait until the launcher reports the exit; return the exit code."""
        await asyncio.shield(self._ended)
        assert self.returncode is not None
        return self.returncode


async def _pipe_reader(fd: int) -> asyncio.StreamReader:
    """Return a StreamReader reading the read end ``fd`` of a pipe (closed at EOF)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return reader


class Process:
    """A child process whose output is collected line by line in the background.

    With ``launcher`` (the socket of tests/e2e/zygote.py), ``args`` must be
    ``[python, "-m", "bot", ...]`` and the process is forked from the launcher,
    which has already imported the bot, instead of starting a new interpreter.
    """

    def __init__(
        self, args: Sequence[str], env: Mapping[str, str], launcher: Path | None = None
    ) -> None:
        self.args = list(args)
        self.env = dict(env)
        self.launcher = launcher
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | Forked | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()

    async def start(self) -> None:
        """Spawn the process and start collecting stdout and stderr."""
        if self.launcher is not None:
            assert self.args[1:3] == ["-m", "bot"], self.args
            self.proc = await Forked.spawn(self.launcher, self.args[3:], self.env)
        else:
            self.proc = await asyncio.create_subprocess_exec(
                *self.args,
                cwd=ROOT,
                env=self.env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(self.proc.stdout)),
            asyncio.create_task(self._read(self.proc.stderr)),
        ]

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode(errors="replace").rstrip())
            self._changed.set()

    async def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        """Wait until a line matches ``pattern``; fail with the output when it does not."""
        regex = re.compile(pattern)
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines[seen:]:
                    if match := regex.search(line):
                        return match
                seen = len(self.lines)
                assert self.proc is not None
                if self.proc.returncode is not None:
                    raise AssertionError(f"process exited:\n{self.output()}")
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._changed.wait()

    def output(self) -> str:
        """Return everything the process printed so far."""
        return "\n".join(self.lines[-200:])

    async def kill(self) -> None:
        """SIGKILL the process, as a crash would."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await self._drain()

    async def stop(self) -> float:
        """SIGTERM the process and return how long it took to exit.

        Fails (after a SIGKILL, so nothing is left running) when it did not exit
        cleanly within STOP_TIMEOUT seconds: a bot that needs SIGKILL is a bug.
        """
        if self.proc is None or self.proc.returncode is not None:
            await self._drain()
            return 0.0
        loop = asyncio.get_running_loop()
        began = loop.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            await self._drain()
            msg = (
                f"{self.args[1:]} did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM and was "
                f"killed; its last output:\n{self.output()}"
            )
            raise AssertionError(msg) from None
        took = loop.time() - began
        await self._drain()
        code = self.proc.returncode
        assert code == 0, f"{self.args[1:]} exited with {code} after SIGTERM:\n{self.output()}"
        return took

    async def _drain(self) -> None:
        for task in self._readers:
            with contextlib.suppress(Exception):
                await task
        self._readers = []


@dataclass
class BotOptions:
    """How a bot process is configured."""

    framework: str
    db_path: Path
    api_url: str
    # The socket of the launcher (tests/e2e/zygote.py) to fork the bot from, or None
    # to start a new interpreter.
    launcher: Path | None = None
    mode: str = "polling"
    webhook_port: int = 0
    webhook_secret: str = "s3cret-Webhook_token"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def webhook_url(self) -> str:
        """Return the URL the emulator pushes updates to."""
        return f"http://127.0.0.1:{self.webhook_port}/telegram/webhook"

    def env(self) -> dict[str, str]:
        """Return the SCRM_ variables that configure the bot."""
        env = {
            "SCRM_TELEGRAM__TOKEN": TOKEN,
            "SCRM_TELEGRAM__FRAMEWORK": self.framework,
            "SCRM_TELEGRAM__MODE": self.mode,
            "SCRM_TELEGRAM__API_BASE_URL": self.api_url,
            "SCRM_TELEGRAM__POLL_TIMEOUT": "2",
            "SCRM_DATABASE__URL": f"sqlite+aiosqlite:///{self.db_path}",
            # Bots run side by side: a test that looks at /metrics picks a free port.
            "SCRM_OPS__LISTEN": "",
        }
        if self.mode == "webhook":
            env["SCRM_TELEGRAM__WEBHOOK_URL"] = self.webhook_url
            env["SCRM_TELEGRAM__WEBHOOK_LISTEN"] = f"127.0.0.1:{self.webhook_port}"
            env["SCRM_TELEGRAM__WEBHOOK_SECRET"] = self.webhook_secret
        env.update(self.extra_env)
        return env


class BotProcess(Process):
    """The bot running in its own process against the emulator."""

    def __init__(self, options: BotOptions) -> None:
        super().__init__(
            [sys.executable, "-m", "bot", "run"], base_env(options.env()), options.launcher
        )
        self.options = options

    async def start(self) -> None:
        """Start the bot and wait until it reports that it is running."""
        await super().start()
        await self.wait_for(r"bot @\S+ is running")


async def cli(*args: str, env: Mapping[str, str]) -> str:
    """Run ``python -m bot ARGS`` to completion and return its stdout."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env=base_env(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


@dataclass(frozen=True)
class Workspace:
    """A workspace created with the CLI, with its owner's invite payload."""

    slug: str
    owner_payload: str


async def create_workspace(options: BotOptions, name: str = "Wang's Tea House") -> Workspace:
    """Create a workspace through ``scrm-bot workspace create`` and parse its links."""
    out = await cli(
        "workspace",
        "create",
        name,
        "--timezone",
        "Asia/Shanghai",
        "--region",
        "CN",
        env=options.env(),
    )
    slug = re.search(r"Slug: (\S+)", out)
    invite = re.search(r"start=(inv_[\w-]+)", out)
    assert slug and invite, out
    assert f"https://t.me/{BOT_USERNAME}?start=w_{slug.group(1)}" in out
    return Workspace(slug.group(1), invite.group(1))


class Emulator:
    """A client for the emulator's control API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.AsyncClient(base_url=url, timeout=30)

    async def reset(self) -> None:
        """Forget everything from the previous test."""
        (await self.http.post("/_emulator/reset")).raise_for_status()

    async def post(self, path: str, **body: Any) -> dict[str, Any]:
        """POST JSON to a control endpoint and return the JSON answer."""
        response = await self.http.post(f"/_emulator/{path}", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def upload(self, kind: str, user_id: int, filename: str, content: bytes) -> None:
        """Send a file from a user as a document or photo."""
        response = await self.http.post(
            f"/_emulator/{kind}",
            data={"user_id": str(user_id)},
            files={"file": (filename, content)},
        )
        assert response.status_code == 200, response.text

    async def messages(
        self, chat_id: int, *, after: int = 0, wait: float = 0, min_count: int = 1
    ) -> list[dict[str, Any]]:
        """Return the chat's messages with seq > after, long-polling up to ``wait`` s."""
        params = {"after": after, "wait": wait, "min": min_count}
        response = await self.http.get(f"/_emulator/chats/{chat_id}/messages", params=params)
        if response.status_code == 404:
            return []  # nobody has written in this chat yet
        response.raise_for_status()
        data = response.json()
        messages: list[dict[str, Any]] = data["messages"] if isinstance(data, dict) else data
        return messages

    async def commands(self) -> Any:
        """Return every command menu the bot registered."""
        response = await self.http.get("/_emulator/commands")
        response.raise_for_status()
        return response.json()

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()


class Person:
    """A Telegram user talking to the bot in a private chat, seeing what they would see."""

    def __init__(
        self, emu: Emulator, user_id: int, first_name: str, language_code: str = "en"
    ) -> None:
        self.emu = emu
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.cursor = 0
        self.last: dict[str, Any] = {}

    async def send(self, text: str) -> None:
        """Type and send a message (a command when it starts with /)."""
        await self.emu.post(
            "send",
            user_id=self.id,
            text=text,
            first_name=self.first_name,
            language_code=self.language_code,
        )

    async def expect(self, *fragments: str, timeout: float = 15) -> dict[str, Any]:
        """Wait for a new bot message (or edit) containing every fragment; return it."""
        seen: list[str] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    batch = await self.emu.messages(self.id, after=self.cursor, wait=2)
                    for message in batch:
                        self.cursor = max(self.cursor, int(message["seq"]))
                        if not message.get("from_bot"):
                            continue
                        text = message.get("text") or message.get("caption") or ""
                        seen.append(text)
                        if all(f in text for f in fragments):
                            self.last = message
                            return message
        except TimeoutError as exc:
            msg = f"{self.first_name} never saw {fragments!r}; saw {seen!r}"
            raise AssertionError(msg) from exc

    async def press(self, label: str, message: dict[str, Any] | None = None) -> None:
        """Press the inline button whose text contains ``label`` on the last (or given) message."""
        message = message or self.last
        markup = message.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if label in button["text"] and "callback_data" in button:
                    await self.emu.post(
                        "callback",
                        user_id=self.id,
                        message_id=message["message_id"],
                        data=button["callback_data"],
                    )
                    return
        raise AssertionError(f"no button {label!r} on {message.get('text')!r}")

    async def quiet(self, seconds: float = 1.5) -> list[str]:
        """Return what the bot sent in the next ``seconds`` (expected to be nothing)."""
        await asyncio.sleep(seconds)
        batch = await self.emu.messages(self.id, after=self.cursor)
        return [m.get("text", "") for m in batch if m.get("from_bot")]


def query(db_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run a read-only query against the bot's SQLite file."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        return conn.execute(sql, params).fetchall()


def execute(db_path: Path, sql: str, *params: Any) -> None:
    """Change the bot's SQLite file directly (to simulate time passing)."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.execute(sql, params)
        conn.commit()


async def wait_for_row(
    db_path: Path, sql: str, expected: list[tuple[Any, ...]], timeout: float = 10
) -> None:
    """Wait until a query returns ``expected`` (for effects the user never sees)."""
    rows: list[tuple[Any, ...]] = []
    async with asyncio.timeout(timeout):
        while (rows := query(db_path, sql)) != expected:
            await asyncio.sleep(0.1)
    assert rows == expected
