"""Fixtures for in-process chat tests: the dispatcher on a copy of the migrated SQLite file."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.crm.store import create_engine, create_sessionmaker
from tests.e2e.harness import Workspace
from tests.handlers.chat import ChatBot, Controls, Person


@pytest.fixture
async def chat(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[ChatBot]:
    """Return the bot's dispatcher on a fresh migrated SQLite file, with nobody in it yet."""
    db_path = tmp_path / "chat.db"
    shutil.copyfile(sqlite_template, db_path)
    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    yield ChatBot(db_path, create_sessionmaker(engine))
    await engine.dispose()


@pytest.fixture
async def workspace(chat: ChatBot) -> Workspace:
    """Create a workspace and its owner invite, as the command line does."""
    return await chat.create_workspace()


@pytest.fixture
def person(chat: ChatBot) -> Callable[..., Person]:
    """Return a factory of people who chat with the bot."""
    return chat.person


@pytest.fixture
def emu(chat: ChatBot) -> Controls:
    """Return forged button presses, under the emulator fixture's name."""
    return Controls(chat)
