"""`scrm-bot doctor` against the emulator: all good, then a stale schema and a bad token."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, BotOptions, Workspace, base_env, execute

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("framework", ["ptb"])]


async def doctor(env: dict[str, str]) -> tuple[int, str]:
    """Run ``python -m bot doctor``; return its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", cwd=ROOT, env=base_env(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_doctor_says_what_is_fine_and_what_to_fix(
    options: BotOptions, workspace: Workspace, tmp_path: Path
) -> None:
    env = options.env()
    code, out = await doctor(env)
    assert code == 0, out
    assert "[ok ] token: @ScrmSandboxBot" in out
    assert "[ok ] webhook: none (polling)" in out
    assert "[ok ] database: schema up to date" in out
    assert "[ok ] time zones:" in out and "[ok ] database disk:" in out

    execute(options.db_path, "UPDATE alembic_version SET version_num = '0009'")
    env["SCRM_TELEGRAM__TOKEN"] = "123456789:AAwrong-token-for-local-testing_only00"
    env["SCRM_BACKUP__DIR"] = str(tmp_path / "backups")
    code, out = await doctor(env)
    assert code == 1, out
    assert "[FIX] token: Telegram refused the token" in out
    assert "[FIX] database: schema at revision 0009" in out
    assert "→ run `scrm-bot migrate`" in out
    assert "[FIX] backups: no backup in" in out
    assert "AAwrong-token" not in out
