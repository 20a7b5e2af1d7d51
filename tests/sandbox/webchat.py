"""The sandbox's web chat in headless Chromium: start `python -m bot run`, open the page.

The sandbox starts the way a person starts it (a subprocess in an empty working
directory, settings from the environment); Playwright drives Debian's Chromium.
Importing this module skips the importing test module when Chromium or Playwright
is missing.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
# How long the page may take to show a bot reply, in milliseconds.
UI_TIMEOUT = 15_000
TOKEN = "123456789:AAsandbox-token-for-local-testing_only"

if not CHROMIUM.exists():
    pytest.skip(
        f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
)
expect = sync_api.expect


@dataclass
class RunningSandbox:
    """A `python -m bot run` process in sandbox mode and what it printed."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    url: str = ""
    owner_payload: str = ""

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        """Wait until a printed line matches ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := regex.search(line):
                    return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        output = "\n".join(self.lines[-60:])
        raise AssertionError(f"sandbox never printed {pattern!r}; output:\n{output}")

    def send_as_bot(self, chat_id: int, html: str) -> None:
        """Send an HTML message to a chat through the Bot API, as the bot would."""
        body = {"chat_id": chat_id, "text": html, "parse_mode": "HTML"}
        response = httpx.post(f"{self.url}/bot{TOKEN}/sendMessage", json=body, timeout=10)
        assert response.json()["ok"] is True, response.text

    def call(self, method: str, **params: Any) -> Any:
        """Call a Bot API method as the bot would; return its result."""
        response = httpx.post(f"{self.url}/bot{TOKEN}/{method}", json=params, timeout=10)
        body = response.json()
        assert body["ok"] is True, response.text
        return body["result"]

    def control(self, path: str, body: dict[str, Any]) -> Any:
        """POST to a control endpoint and return its answer."""
        response = httpx.post(f"{self.url}/_emulator/{path}", json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Return a chat's messages as the control API lists them."""
        response = httpx.get(f"{self.url}/_emulator/chats/{chat_id}/messages", timeout=10)
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def send_photo_as_user(self, user_id: int, png: bytes) -> None:
        """Send a photo to the bot as a user, through the control API."""
        body = {
            "user_id": user_id,
            "file_name": "dot.png",
            "content_base64": base64.b64encode(png).decode(),
        }
        response = httpx.post(f"{self.url}/_emulator/photo", json=body, timeout=10)
        assert response.status_code == 200, response.text


def png(width: int = 8, height: int = 8) -> bytes:
    """Return a small red PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        payload = kind + data
        return struct.pack(">I", len(data)) + payload + struct.pack(">I", zlib.crc32(payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _collect(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail("the sandbox did not exit within 15 s of SIGTERM", pytrace=False)


@contextmanager
def run_sandbox(workdir: Path, *args: str) -> Iterator[RunningSandbox]:
    """Start the sandbox as `scrm-bot run <args>` without a token; wait until it runs.

    With ``--no-demo`` it also waits for the owner invite it prints.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRM_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "SCRM_CONFIG": str(workdir / "absent-config.toml"),
            "SCRM_SANDBOX__PORT": str(free_port()),
            "SCRM_DATABASE__URL": f"sqlite+aiosqlite:///{workdir / 'sandbox.db'}",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", *args],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = RunningSandbox(proc)
    reader = threading.Thread(target=_collect, args=(proc, running.lines), daemon=True)
    reader.start()
    try:
        running.url = running.wait_for(r"Bot API emulator: (http://\S+)").group(1)
        if "--no-demo" in args:
            running.owner_payload = running.wait_for(r"\b(inv_[\w-]+)").group(1)
        running.wait_for(r"is running")
        yield running
    finally:
        _stop(proc)
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """Launch Debian's Chromium headless through Playwright."""
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def open_page(context: Any, url: str) -> Iterator[Any]:
    """Open the web chat at ``url`` in a browser context; fail on any script error."""
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(UI_TIMEOUT)
    opened.goto(url)
    opened.wait_for_selector("body[data-ready=true]")
    yield opened
    opened.close()
    assert errors == [], f"script errors on the page: {errors}"


def pane(page: Any) -> Any:
    """Return the pane that has the focus."""
    return page.locator(".pane.focused")


def send(page: Any, text: str) -> None:
    """Type ``text`` into the focused pane and send it."""
    box = pane(page).locator(".text-input")
    box.fill(text)
    box.press("Enter")
    expect(pane(page).locator(".message.user").last).to_contain_text(text)


def open_chat(page: Any, label: str) -> None:
    """Open a persona's chat from the list (on an English page)."""
    page.locator("#people .person", has_text=label).click()
    expect(pane(page).locator(".pane-persona")).to_contain_text(f"you are {label}")


def bot_message(page: Any, text: str) -> Any:
    """Wait for the bot's last message containing ``text`` in the focused pane."""
    message = pane(page).locator(".message.bot", has_text=text).last
    expect(message).to_be_visible()
    return message
