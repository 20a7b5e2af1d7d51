"""Deploy recipes: the systemd unit passes systemd-analyze and the production config loads."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (no systemd on this machine)")
    unit = (DEPLOY / "scrm-bot.service").read_text()
    # verify checks that ExecStart's program exists: point it at this checkout's.
    program = Path(sys.executable).with_name("scrm-bot")
    if not program.exists():
        pytest.skip("the scrm-bot console script is not installed in this environment")
    copy = tmp_path / "scrm-bot.service"
    copy.write_text(unit.replace("/opt/scrm-bot/bin/scrm-bot", str(program)))
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    complaints = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        # Containers without a running systemd say so; that is no fault of the unit.
        if line and "System has not been booted with systemd" not in line
    ]
    assert done.returncode == 0 and complaints == [], "\n".join(complaints)


def test_the_production_config_loads_with_secrets_from_the_environment() -> None:
    environ = {"SCRM_TELEGRAM__TOKEN": "1:x", "SCRM_TELEGRAM__WEBHOOK_SECRET": "s3cret"}
    settings = load_settings(DEPLOY / "config.production.toml", environ)
    assert settings.telegram.mode == "webhook"
    assert settings.backup.dir == "/var/lib/scrm-bot/backups"
    assert settings.ops.listen == "127.0.0.1:9464"


def test_the_scaleout_config_loads_for_a_worker() -> None:
    environ = {
        "SCRM_TELEGRAM__TOKEN": "1:x",
        "SCRM_TELEGRAM__WEBHOOK_SECRET": "s3cret",
        "SCRM_TELEGRAM__WEBHOOK_LISTEN": "127.0.0.1:8442",
    }
    settings = load_settings(DEPLOY / "config.scaleout.toml", environ)
    assert settings.scaleout.enabled
    assert settings.database.url.startswith("postgresql+asyncpg://")
    assert settings.telegram.listen_port == 8442
    # The template unit gives each worker the ports nginx's upstream lists.
    unit = (DEPLOY / "scrm-bot@.service").read_text()
    nginx = (DEPLOY / "nginx-scaleout.conf").read_text()
    assert "SCRM_TELEGRAM__WEBHOOK_LISTEN=127.0.0.1:844%i" in unit
    assert all(f"server 127.0.0.1:844{n} " in nginx for n in (1, 2, 3))
    assert "include /etc/nginx/scrm-webhook.conf;" in nginx
