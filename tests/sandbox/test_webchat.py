"""The sandbox's web chat in headless Chromium: `python -m bot run` without a token, then the page.

The sandbox starts the way a person starts it (a subprocess in an empty working
directory, settings from the environment); Playwright drives Debian's Chromium.
The tests skip when Chromium or Playwright is missing.
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


def _png(width: int = 8, height: int = 8) -> bytes:
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


def _free_port() -> int:
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


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """Start the sandbox as `scrm-bot run` without a token and wait for its URL and invite."""
    workdir = tmp_path_factory.mktemp("sandbox")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRM_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "SCRM_CONFIG": str(workdir / "absent-config.toml"),
            "SCRM_SANDBOX__PORT": str(_free_port()),
            "SCRM_DATABASE__URL": f"sqlite+aiosqlite:///{workdir / 'sandbox.db'}",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--no-demo"],
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
        running.owner_payload = running.wait_for(r"\b(inv_[\w-]+)").group(1)
        running.wait_for(r"is running")
        yield running
    finally:
        _stop(proc)
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Launch Debian's Chromium headless through Playwright."""
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, sandbox: RunningSandbox) -> Iterator[Any]:
    """Open the web chat on a desktop-sized screen; fail on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(UI_TIMEOUT)
    opened.goto(sandbox.url + "/")
    opened.wait_for_selector("body[data-ready=true]")
    yield opened
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


def _pane(page: Any) -> Any:
    return page.locator(".pane.focused")


def _send(page: Any, text: str) -> None:
    box = _pane(page).locator(".text-input")
    box.fill(text)
    box.press("Enter")
    expect(_pane(page).locator(".message.user").last).to_contain_text(text)


def _open(page: Any, label: str) -> None:
    page.locator("#people .person", has_text=label).click()
    expect(_pane(page).locator(".pane-persona")).to_contain_text(f"you are {label}")


def _bot_message(page: Any, text: str) -> Any:
    message = _pane(page).locator(".message.bot", has_text=text).last
    expect(message).to_be_visible()
    return message


def test_owner_invites_a_rep_who_joins_and_adds_a_customer(
    page: Any, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    people = page.locator("#people .person .person-name")
    expect(people).to_have_text(["Owner", "Rep Li", "Rep Chen", "Customer Zhao", "Customer Sun"])
    expect(_pane(page).locator(".pane-persona")).to_contain_text("you are Owner (1001)")
    expect(_pane(page).locator(".empty-hint")).to_contain_text("/start inv_")

    # The owner opens the invite printed on start and is welcomed with HTML formatting.
    _send(page, f"/start {sandbox.owner_payload}")
    welcome = _bot_message(page, "Welcome to Demo Tea House")
    expect(welcome).to_contain_text("You joined as owner")
    expect(welcome.locator(".text b").first).to_have_text("Demo Tea House")
    expect(welcome.locator("a.command", has_text="/invite")).to_be_visible()
    expect(_pane(page).locator(".empty-hint")).to_be_hidden()

    # /invite staff: a single-use link shown as a t.me deep link, with a Withdraw button.
    _send(page, "/invite staff")
    invite = _bot_message(page, "Invite for a new staff")
    link = invite.locator("a.deep-link")
    expect(link).to_have_attribute("href", re.compile(r"^https://t\.me/\w+\?start=inv_"))
    expect(invite.locator("button.kb-button")).to_have_text(re.compile("Withdraw invite"))
    staff_payload = re.search(r"start=(inv_[\w-]+)", link.get_attribute("href")).group(1)

    # An admin invite withdrawn with its inline button: the same message is edited in place.
    _send(page, "/invite admin")
    admin_invite = _bot_message(page, "Invite for a new admin")
    message_id = admin_invite.get_attribute("data-message-id")
    admin_invite.locator("button.kb-button", has_text="Withdraw invite").click()
    edited = _pane(page).locator(f'.message[data-message-id="{message_id}"]')
    expect(edited).to_contain_text("This invite was withdrawn")
    expect(edited.locator(".meta")).to_contain_text("edited")
    expect(edited.locator("button.kb-button")).to_have_count(0)
    expect(_pane(page).locator(".message.bot", has_text="Invite for a new admin")).to_have_count(0)

    # Rep Li has an empty chat of their own and joins with the owner's staff invite.
    _open(page, "Rep Li")
    expect(_pane(page).locator(".message")).to_have_count(0)
    _send(page, f"/start {staff_payload}")
    joined = _bot_message(page, "Welcome to Demo Tea House")
    expect(joined).to_contain_text("You joined as staff")
    expect(_pane(page).locator(".message.bot", has_text="Invite for a new")).to_have_count(0)

    # Li adds a customer with the guided /add dialog, typing some answers, pressing buttons.
    _send(page, "/add")
    _bot_message(page, "New contact. What's their name?")
    _send(page, "Zhao Lei")
    _bot_message(page, "Zhao Lei's phone number?")
    _send(page, "138 0013 8000")
    _bot_message(page, "Company?")
    _send(page, "/skip")
    ownership = _bot_message(page, "Classify Zhao Lei? Ownership:")
    expect(ownership.locator("button.kb-button")).to_have_count(6)
    ownership.locator("button.kb-button", has_text="Private").click()
    business = _bot_message(page, "Type of business?")
    business.locator("button.kb-button", has_text="Retailer").click()
    location = _bot_message(page, "Where are they located?")
    location.locator("button.kb-button", has_text="Skip").click()
    _bot_message(page, "Sales region and visiting order")
    _send(page, "north 3")
    check = _bot_message(page, "Please check:")
    expect(check.locator(".text b")).to_have_text("Zhao Lei")
    expect(check).to_contain_text("+8613800138000")
    expect(check).to_contain_text("Private · Retailer")
    expect(check).to_contain_text("north #3")
    check.locator("button.kb-button", has_text="Save").click()
    saved = _bot_message(page, "Saved Zhao Lei")
    expect(saved.locator(".text b")).to_have_text("Zhao Lei")
    saved.locator("button.kb-button", has_text="Open card").click()
    card = _pane(page).locator(".message.bot").last
    expect(card).not_to_contain_text("Saved")
    expect(card).to_contain_text("Zhao Lei")
    expect(card).to_contain_text("+8613800138000")

    # The card's own link is forwarded to Zhao ("open as…"), who opens it and says yes.
    expect(card.locator("a.deep-link")).to_have_attribute("href", re.compile(r"start=c_"))
    card.locator("button.open-as").click()
    page.locator("#open-as button", has_text="Customer Zhao").click()
    expect(_pane(page).locator(".pane-persona")).to_contain_text("you are Customer Zhao (2001)")
    expect(_pane(page).locator(".message.user").last).to_contain_text("/start c_")
    consent = _bot_message(page, "Welcome to Demo Tea House")
    consent.locator("button.kb-button", has_text="Yes").click()
    _bot_message(page, "subscribed")

    # The "/" menu lists the commands the bot set for this chat; a tap sends one.
    _pane(page).locator(".menu-button").click()
    menu = _pane(page).locator(".command-menu")
    expect(menu.locator("button", has_text="/stop")).to_be_visible()
    expect(menu.locator("button", has_text="/add")).to_have_count(0)
    menu.locator("button", has_text="/help").click()
    expect(menu).to_be_hidden()
    expect(_pane(page).locator(".message.user").last).to_have_text(re.compile(r"^/help"))
    expect(_pane(page).locator(".message.bot").last).to_contain_text("/stop")

    # The owner imports a CSV through the file picker, then exports: a document to download.
    _open(page, "Owner")
    _send(page, "/import")
    _bot_message(page, "Send me a CSV or XLSX file")
    upload = tmp_path / "customers.csv"
    upload.write_text("name,phone\nSun Mei,13900139000\n", encoding="utf-8")
    _pane(page).locator(".file-input").set_input_files(str(upload))
    expect(_pane(page).locator(".message.user .document-name").last).to_have_text("customers.csv")
    plan = _bot_message(page, "new customers to import: 1")
    plan.locator("button.kb-button", has_text="Import 1").click()
    expect(_pane(page).locator(".message.bot").last).not_to_contain_text("to import: 1")
    _send(page, "/export csv")
    exported = _pane(page).locator(".message.bot", has_text="Customers exported").last
    document = exported.locator("a.document")
    expect(document).to_have_attribute("download", re.compile(r"\.csv$"))
    with page.expect_download() as download_info:
        document.click()
    content = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert "Zhao Lei" in content
    assert "Sun Mei" in content

    # Two chats side by side: the owner's and, next to it, Li's.
    page.locator("#split-toggle").click()
    panes = page.locator(".pane")
    expect(panes).to_have_count(2)
    expect(panes.nth(0).locator(".pane-persona")).to_contain_text("you are Owner")
    expect(panes.nth(1).locator(".pane-persona")).to_contain_text("you are Rep Li")
    expect(panes.nth(0).locator(".message.bot", has_text="Invite for a new staff")).to_be_visible()
    expect(panes.nth(1).locator(".message.bot", has_text="Saved Zhao Lei")).to_be_visible()
    expect(page.locator("#toast")).to_be_hidden()
    desktop = tmp_path / "webchat-desktop.png"
    page.screenshot(path=str(desktop))
    page.locator("#split-toggle").click()
    expect(panes).to_have_count(1)

    # On a phone-sized screen one pane shows at a time: the chat, the list, another chat.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(_pane(page).locator(".message").last).to_contain_text("Customers exported")
    expect(_pane(page).locator(".message").last).to_be_in_viewport()
    _pane(page).locator("button.back").click()
    expect(page.locator("#sidebar")).to_be_visible()
    expect(page.locator("#panes")).to_be_hidden()
    page.screenshot(path=str(tmp_path / "webchat-phone-list.png"))
    _open(page, "Rep Li")
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(_pane(page).locator(".message").last).to_contain_text("Zhao Lei")
    expect(_pane(page).locator(".message").last).to_be_in_viewport()
    expect(page.locator("#toast")).to_be_hidden()
    phone = tmp_path / "webchat-phone.png"
    page.screenshot(path=str(phone))
    assert desktop.stat().st_size > 10_000
    assert phone.stat().st_size > 10_000


def test_bot_html_is_rendered_from_a_whitelist(page: Any, sandbox: RunningSandbox) -> None:
    sandbox.send_as_bot(
        2002,
        "<b>Bold</b> &lt;script&gt;window.pwned = 1&lt;/script&gt; "
        '&lt;img src=x onerror="window.pwned = 2"&gt; '
        '<a href="https://example.com/x">site</a> <tg-spoiler>secret</tg-spoiler> '
        "<code>&lt;i&gt;</code>",
    )
    badge = page.locator('#people .person[data-user-id="2002"] .badge')
    expect(badge).to_have_text("1")
    _open(page, "Customer Sun")
    expect(badge).to_have_count(0)
    message = _bot_message(page, "Bold")
    text = message.locator(".text")
    expect(text).to_contain_text("<script>window.pwned = 1</script>")
    expect(text).to_contain_text('<img src=x onerror="window.pwned = 2">')
    expect(text.locator("b")).to_have_text("Bold")
    expect(text.locator("a")).to_have_attribute("href", "https://example.com/x")
    expect(text.locator("a")).to_have_attribute("rel", "noopener noreferrer")
    expect(text.locator(".spoiler")).to_have_text("secret")
    expect(text.locator("code")).to_have_text("<i>")
    assert text.locator("script, img, i, [onerror]").count() == 0
    assert page.evaluate("document.querySelectorAll('.messages script').length") == 0
    assert page.evaluate("window.pwned") is None

    # A photo shows inline, loaded from the emulator's file download URL.
    sandbox.send_photo_as_user(2002, _png())
    photo = _pane(page).locator(".message.user img.photo").last
    expect(photo).to_be_visible()
    assert photo.evaluate("image => image.complete && image.naturalWidth") == 8


def test_relayed_media_and_a_swipe_reply(page: Any, sandbox: RunningSandbox) -> None:
    sun, chen = 2002, 1003
    # Sun sends a voice message and a photo; the bot relays both to Chen with copyMessage.
    voice = sandbox.control("voice", {"user_id": sun, "duration": 7})
    photo = sandbox.control(
        "photo",
        {
            "user_id": sun,
            "file_name": "tea.png",
            "content_base64": base64.b64encode(_png(12, 10)).decode(),
        },
    )
    buttons = {"inline_keyboard": [[{"text": "📇 Card", "callback_data": "noop"}]]}
    relayed_voice = sandbox.call(
        "copyMessage",
        chat_id=chen,
        from_chat_id=sun,
        message_id=voice["message_id"],
        caption="<b>Sun</b> #7",
        parse_mode="HTML",
        reply_markup=buttons,
    )
    sandbox.call("copyMessage", chat_id=chen, from_chat_id=sun, message_id=photo["message_id"])

    _open(page, "Rep Chen")
    copy = _pane(page).locator(f'.message.bot[data-message-id="{relayed_voice["message_id"]}"]')
    expect(copy.locator(".media-file")).to_contain_text("Voice message")
    expect(copy.locator(".media-file")).to_contain_text("0:07")
    expect(copy.locator(".text b")).to_have_text("Sun")
    expect(copy.locator("button.kb-button")).to_have_text("📇 Card")
    image = _pane(page).locator(".message.bot img.photo").last
    expect(image).to_be_visible()
    assert image.evaluate("image => image.complete && image.naturalWidth") == 12

    # Chen replies to the relayed voice message, as with Telegram's swipe-to-reply.
    copy.hover()
    copy.locator(".reply-action").click()
    bar = _pane(page).locator(".reply-bar")
    expect(bar).to_be_visible()
    expect(bar.locator(".reply-preview")).to_have_text("Sun #7")
    _send(page, "Yes, we have it")
    expect(bar).to_be_hidden()
    answer = _pane(page).locator(".message.user", has_text="Yes, we have it").last
    expect(answer.locator(".quote")).to_contain_text("Sun #7")
    sent = [m for m in sandbox.messages(chen) if m["text"] == "Yes, we have it"]
    assert sent[-1]["reply_to_message_id"] == relayed_voice["message_id"]

    # The "+" menu sends a voice message; a double click on a message replies to it too.
    _pane(page).locator(".message.bot .bubble").last.dblclick()
    expect(bar).to_be_visible()
    _pane(page).locator(".more-button").click()
    _pane(page).locator(".more-menu button", has_text="Voice message").click()
    expect(_pane(page).locator(".message.user .media-file").last).to_contain_text("Voice message")
    expect(bar).to_be_hidden()
    last = sandbox.messages(chen)
    mine = [m for m in last if not m["from_bot"]]
    assert mine[-1]["kind"] == "voice"
    assert mine[-1]["reply_to_message_id"] is not None
    expect(page.locator("#toast")).to_be_hidden()
