"""Fixtures for several workers on PostgreSQL behind nginx: a database and an emulator per test.

Skipped with the reason when PostgreSQL does not answer or nginx is not installed.
Workers are forked from the end-to-end tests' launcher (``tests/e2e/zygote.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from bench import cluster
from bench.broadcast import emulator as emulator_process
from tests.e2e.conftest import launcher
from tests.e2e.harness import Emulator

__all__ = ["emu", "launcher", "pg_url"]


@pytest.fixture
def nginx_installed() -> None:
    """Skip the test when nginx is not installed."""
    if cluster.nginx_binary() is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")


@pytest.fixture
async def pg_url(nginx_installed: None) -> AsyncIterator[str]:
    """Return the URL of a migrated PostgreSQL database of this test's own, dropped after."""
    database = cluster.pg_database()
    try:
        url = await database.__aenter__()
    except cluster.Unavailable as exc:
        pytest.skip(str(exc))
    try:
        yield url
    finally:
        await database.__aexit__(None, None, None)


@pytest.fixture
def emulator_url() -> Iterator[str]:
    """Run an emulator of this test's own (its strict mode and counters start clean)."""
    with emulator_process() as url:
        yield url


@pytest.fixture
async def emu(emulator_url: str) -> AsyncIterator[Emulator]:
    """Return a control client for the test's emulator."""
    client = Emulator(emulator_url)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.close()
