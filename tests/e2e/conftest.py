"""Fixtures for end-to-end tests: one emulator process per session, one bot per test.

Bots are forked from a launcher (``tests/e2e/zygote.py``) that imported the bot
once per session, so a bot starts in a fraction of a second instead of the
seconds of CPU a new interpreter spends importing both frameworks; tests marked
``new_interpreter`` start ``python -m bot run`` as an operator would.

Which framework a test runs under. The ``framework`` fixture runs a test under
both python-telegram-bot and aiogram; keep that only for tests about the adapters:
webhook and polling, restart, SIGKILL and SIGTERM, files (uploads, downloads,
photos), message kinds, long replies split in parts, callbacks and their answers,
``my_chat_member``, and the browser chat. Every other chat flow runs under one
framework, chosen per file (``pytestmark``) or per test with
``pytest.mark.parametrize("framework", ["ptb"])``, alternating files between
``ptb`` and ``aiogram`` so that both stay exercised; its replies go through the
same dispatcher whichever adapter carries them. A chat that needs no process at
all (no adapter, restart, file, scheduler job or campaign delivery) belongs in
``tests/handlers`` instead, on the in-process harness of ``tests/handlers/chat.py``.

Each bot starts on a copy of the session's migrated SQLite file, so neither
``scrm-bot workspace create`` nor ``scrm-bot run`` migrates a fresh database. The
``workspace`` fixture copies a file in which ``scrm-bot workspace create`` made the
shop once per session (its output checked there): every test still gets a database
of its own, with the same slug and a still unused owner invite.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import run_apart
from tests.e2e.harness import (
    ROOT,
    STOP_TIMEOUT,
    TOKEN,
    BotOptions,
    BotProcess,
    Emulator,
    Person,
    Workspace,
    base_env,
    create_workspace,
    free_port,
)

FRAMEWORKS = ["ptb", "aiogram"]


@pytest.fixture(scope="session")
def emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run the Bot API emulator in its own process for the whole session."""
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "emulator", "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT,
            env=base_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    match = None
    while match is None and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
        match = re.search(r"listening on (http://\S+)", log.read_text(errors="replace"))
    if match is None:
        proc.kill()
        pytest.fail(f"emulator did not start: {log.read_text(errors='replace')}")
    yield match.group(1)
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(
            f"the emulator needed SIGKILL after SIGTERM: {log.read_text(errors='replace')}"
        )


@pytest.fixture(scope="session")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Run tests/e2e/zygote.py for the session: bots are forked from it, already imported."""
    # A short path: a Unix socket's path has room for about 100 characters.
    folder = Path(tempfile.mkdtemp(prefix="scrm-e2e-"))
    path = folder / "launcher.sock"
    log = tmp_path_factory.mktemp("launcher") / "launcher.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.zygote", str(path)],
            cwd=ROOT,
            env=base_env(),
            stdin=subprocess.PIPE,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready" not in log.read_text(errors="replace"):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"the launcher did not start: {log.read_text(errors='replace')}")
        time.sleep(0.1)
    yield path
    assert proc.stdin is not None
    proc.stdin.close()  # end of input: the launcher exits
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def emu(emulator_url: str) -> AsyncIterator[Emulator]:
    """Return a control-API client on an emulator reset to a blank state."""
    client = Emulator(emulator_url)
    await client.reset()
    yield client
    await client.close()


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    """Run the test once under python-telegram-bot and once under aiogram (see above)."""
    return str(request.param)


@pytest.fixture
def options(
    request: pytest.FixtureRequest,
    framework: str,
    tmp_path: Path,
    emulator_url: str,
    sqlite_template: Path,
) -> BotOptions:
    """Return polling-mode options with a fresh SQLite file, already migrated.

    Bots are forked from the session's launcher; a test marked ``new_interpreter``
    starts each bot as a new ``python -m bot run`` process instead.
    """
    db_path = tmp_path / "scrm.db"
    shutil.copyfile(sqlite_template, db_path)
    fresh = request.node.get_closest_marker("new_interpreter") is not None
    launcher = None if fresh else request.getfixturevalue("launcher")
    return BotOptions(
        framework=framework, db_path=db_path, api_url=emulator_url, launcher=launcher
    )


@pytest.fixture
async def bots() -> AsyncIterator[list[BotProcess]]:
    """Collect the bot processes a test starts and stop them afterwards."""
    started: list[BotProcess] = []
    yield started
    failures = []
    for bot in started:
        try:
            await bot.stop()
        except AssertionError as exc:  # stop the others first, then fail
            failures.append(str(exc))
        failures.extend(leaks(bot.lines))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


# What a log line must never carry: the bot token, or a phone number in international form.
LEAKS = (re.compile(re.escape(TOKEN.split(":")[1])), re.compile(r"\+\d{10,14}\b"))


def leaks(lines: list[str]) -> list[str]:
    """Return a failure for each log line of a bot that carries a token or a phone number."""
    return [
        f"a bot's log carries private data: {line}"
        for line in lines
        if any(pattern.search(line) for pattern in LEAKS)
    ]


@pytest.fixture
def start_bot(bots: list[BotProcess]) -> Callable[[BotOptions], object]:
    """Return a coroutine function that starts a bot process and waits until it runs."""

    async def start(options: BotOptions) -> BotProcess:
        bot = BotProcess(options)
        bots.append(bot)
        await bot.start()
        return bot

    return start


@pytest.fixture(scope="session")
def workspace_template(
    tmp_path_factory: pytest.TempPathFactory, emulator_url: str, sqlite_template: Path
) -> tuple[Path, Workspace]:
    """Return a migrated SQLite file holding one shop made by ``scrm-bot workspace create``."""
    path = tmp_path_factory.mktemp("workspace") / "shop.db"
    shutil.copyfile(sqlite_template, path)
    made = BotOptions(framework=FRAMEWORKS[0], db_path=path, api_url=emulator_url)
    shop = run_apart(lambda: asyncio.run(create_workspace(made)))
    # The file runs in WAL mode: fold the log into the file so a plain copy is complete.
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path, shop


@pytest.fixture
def workspace(
    options: BotOptions, emu: Emulator, workspace_template: tuple[Path, Workspace]
) -> Workspace:
    """Return the shop the command line created, in this test's own database."""
    path, shop = workspace_template
    shutil.copyfile(path, options.db_path)
    return shop


@pytest.fixture
def person(emu: Emulator) -> Callable[..., Person]:
    """Return a factory of people who chat with the bot."""

    def make(user_id: int, first_name: str, language_code: str = "en") -> Person:
        return Person(emu, user_id, first_name, language_code)

    return make


def webhook_options(options: BotOptions) -> BotOptions:
    """Return the same options in webhook mode on a free port."""
    options.mode = "webhook"
    options.webhook_port = free_port()
    return options
