"""The sandbox's web chat in headless Chromium: `python -m bot run` without a token, then the page.

The harness (starting the sandbox, Chromium, page helpers) is in ``webchat``; the
tests skip when Chromium or Playwright is missing.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .webchat import (
    RunningSandbox,
    bot_message,
    expect,
    launch_chromium,
    open_chat,
    open_page,
    pane,
    png,
    run_sandbox,
    send,
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """Start the sandbox as `scrm-bot run --no-demo` and wait for its URL and invite."""
    with run_sandbox(tmp_path_factory.mktemp("sandbox"), "--no-demo") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Launch Debian's Chromium headless through Playwright."""
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any, sandbox: RunningSandbox) -> Iterator[Any]:
    """Open the web chat in English on a desktop-sized screen; fail on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    try:
        with open_page(context, sandbox.url + "/") as opened:
            yield opened
    finally:
        context.close()


def test_owner_invites_a_rep_who_joins_and_adds_a_customer(
    page: Any, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    people = page.locator("#people .person .person-name")
    expect(people).to_have_text(["Owner", "Rep Li", "Rep Chen", "Customer Zhao", "Customer Sun"])
    expect(pane(page).locator(".pane-persona")).to_contain_text("you are Owner (1001)")
    expect(pane(page).locator(".empty-hint")).to_contain_text("/start inv_")

    # The owner opens the invite printed on start and is welcomed with HTML formatting.
    send(page, f"/start {sandbox.owner_payload}")
    welcome = bot_message(page, "Welcome to Demo Tea House")
    expect(welcome).to_contain_text("You joined as owner")
    expect(welcome.locator(".text b").first).to_have_text("Demo Tea House")
    expect(welcome.locator("a.command", has_text="/invite")).to_be_visible()
    expect(pane(page).locator(".empty-hint")).to_be_hidden()

    # /invite staff: a single-use link shown as a t.me deep link, with a Withdraw button.
    send(page, "/invite staff")
    invite = bot_message(page, "Invite for a new staff")
    link = invite.locator("a.deep-link")
    expect(link).to_have_attribute("href", re.compile(r"^https://t\.me/\w+\?start=inv_"))
    expect(invite.locator("button.kb-button")).to_have_text(re.compile("Withdraw invite"))
    staff_payload = re.search(r"start=(inv_[\w-]+)", link.get_attribute("href")).group(1)

    # An admin invite withdrawn with its inline button: the same message is edited in place.
    send(page, "/invite admin")
    admin_invite = bot_message(page, "Invite for a new admin")
    message_id = admin_invite.get_attribute("data-message-id")
    admin_invite.locator("button.kb-button", has_text="Withdraw invite").click()
    edited = pane(page).locator(f'.message[data-message-id="{message_id}"]')
    expect(edited).to_contain_text("This invite was withdrawn")
    expect(edited.locator(".meta")).to_contain_text("edited")
    expect(edited.locator("button.kb-button")).to_have_count(0)
    expect(pane(page).locator(".message.bot", has_text="Invite for a new admin")).to_have_count(0)

    # Rep Li has an empty chat of their own and joins with the owner's staff invite.
    open_chat(page, "Rep Li")
    expect(pane(page).locator(".message")).to_have_count(0)
    send(page, f"/start {staff_payload}")
    joined = bot_message(page, "Welcome to Demo Tea House")
    expect(joined).to_contain_text("You joined as staff")
    expect(pane(page).locator(".message.bot", has_text="Invite for a new")).to_have_count(0)

    # Li adds a customer with the guided /add dialog, typing some answers, pressing buttons.
    send(page, "/add")
    bot_message(page, "New contact. What's their name?")
    send(page, "Zhao Lei")
    bot_message(page, "Zhao Lei's phone number?")
    send(page, "138 0013 8000")
    # The shop is a retail one: gender, age band and preferences.
    gender = bot_message(page, "About Zhao Lei: gender?")
    expect(gender.locator("button.kb-button")).to_have_count(3)
    gender.locator("button.kb-button", has_text=re.compile(r"^Male$")).click()
    age = bot_message(page, "Age band?")
    age.locator("button.kb-button", has_text="35–44").click()
    likes = bot_message(page, "What does Zhao Lei like?")
    likes.locator("button.kb-button", has_text="Gift sets").click()
    expect(likes.locator("button.kb-button", has_text="✅ Gift sets")).to_have_count(1)
    likes.locator("button.kb-button", has_text="Done").click()
    check = bot_message(page, "Please check:")
    expect(check.locator(".text b")).to_have_text("Zhao Lei")
    expect(check).to_contain_text("+8613800138000")
    expect(check).to_contain_text("Male · 35–44")
    expect(check).to_contain_text("Preferences: Gift sets")
    check.locator("button.kb-button", has_text="Save").click()
    saved = bot_message(page, "Saved Zhao Lei")
    expect(saved.locator(".text b")).to_have_text("Zhao Lei")
    saved.locator("button.kb-button", has_text="Open card").click()
    card = pane(page).locator(".message.bot").last
    expect(card).not_to_contain_text("Saved")
    expect(card).to_contain_text("Zhao Lei")
    expect(card).to_contain_text("+8613800138000")

    # The card's own link is forwarded to Zhao ("open as…"), who opens it and says yes.
    expect(card.locator("a.deep-link")).to_have_attribute("href", re.compile(r"start=c_"))
    card.locator("button.open-as").click()
    page.locator("#open-as button", has_text="Customer Zhao").click()
    expect(pane(page).locator(".pane-persona")).to_contain_text("you are Customer Zhao (2001)")
    expect(pane(page).locator(".message.user").last).to_contain_text("/start c_")
    consent = bot_message(page, "Welcome to Demo Tea House")
    consent.locator("button.kb-button", has_text="Yes").click()
    bot_message(page, "subscribed")

    # The "/" menu lists the commands the bot set for this chat; a tap sends one.
    pane(page).locator(".menu-button").click()
    menu = pane(page).locator(".command-menu")
    expect(menu.locator("button", has_text="/stop")).to_be_visible()
    expect(menu.locator("button", has_text="/add")).to_have_count(0)
    menu.locator("button", has_text="/help").click()
    expect(menu).to_be_hidden()
    expect(pane(page).locator(".message.user").last).to_have_text(re.compile(r"^/help"))
    expect(pane(page).locator(".message.bot").last).to_contain_text("/stop")

    # The owner imports a CSV through the file picker, then exports: a document to download.
    open_chat(page, "Owner")
    send(page, "/import")
    bot_message(page, "Send me a CSV or XLSX file")
    upload = tmp_path / "customers.csv"
    upload.write_text("name,phone\nSun Mei,13900139000\n", encoding="utf-8")
    pane(page).locator(".file-input").set_input_files(str(upload))
    expect(pane(page).locator(".message.user .document-name").last).to_have_text("customers.csv")
    plan = bot_message(page, "new customers to import: 1")
    plan.locator("button.kb-button", has_text="Import 1").click()
    expect(pane(page).locator(".message.bot").last).not_to_contain_text("to import: 1")
    send(page, "/export csv")
    exported = pane(page).locator(".message.bot", has_text="Customers exported").last
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
    expect(pane(page).locator(".message").last).to_contain_text("Customers exported")
    expect(pane(page).locator(".message").last).to_be_in_viewport()
    pane(page).locator("button.back").click()
    expect(page.locator("#sidebar")).to_be_visible()
    expect(page.locator("#panes")).to_be_hidden()
    page.screenshot(path=str(tmp_path / "webchat-phone-list.png"))
    open_chat(page, "Rep Li")
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(pane(page).locator(".message").last).to_contain_text("Zhao Lei")
    expect(pane(page).locator(".message").last).to_be_in_viewport()
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
    open_chat(page, "Customer Sun")
    expect(badge).to_have_count(0)
    message = bot_message(page, "Bold")
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
    sandbox.send_photo_as_user(2002, png())
    photo = pane(page).locator(".message.user img.photo").last
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
            "content_base64": base64.b64encode(png(12, 10)).decode(),
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

    open_chat(page, "Rep Chen")
    copy = pane(page).locator(f'.message.bot[data-message-id="{relayed_voice["message_id"]}"]')
    expect(copy.locator(".media-file")).to_contain_text("Voice message")
    expect(copy.locator(".media-file")).to_contain_text("0:07")
    expect(copy.locator(".text b")).to_have_text("Sun")
    expect(copy.locator("button.kb-button")).to_have_text("📇 Card")
    image = pane(page).locator(".message.bot img.photo").last
    expect(image).to_be_visible()
    assert image.evaluate("image => image.complete && image.naturalWidth") == 12

    # Chen replies to the relayed voice message, as with Telegram's swipe-to-reply.
    copy.hover()
    copy.locator(".reply-action").click()
    bar = pane(page).locator(".reply-bar")
    expect(bar).to_be_visible()
    expect(bar.locator(".reply-preview")).to_have_text("Sun #7")
    send(page, "Yes, we have it")
    expect(bar).to_be_hidden()
    answer = pane(page).locator(".message.user", has_text="Yes, we have it").last
    expect(answer.locator(".quote")).to_contain_text("Sun #7")
    sent = [m for m in sandbox.messages(chen) if m["text"] == "Yes, we have it"]
    assert sent[-1]["reply_to_message_id"] == relayed_voice["message_id"]

    # The "+" menu sends a voice message; a double click on a message replies to it too.
    pane(page).locator(".message.bot .bubble").last.dblclick()
    expect(bar).to_be_visible()
    pane(page).locator(".more-button").click()
    pane(page).locator(".more-menu button", has_text="Voice message").click()
    expect(pane(page).locator(".message.user .media-file").last).to_contain_text("Voice message")
    expect(bar).to_be_hidden()
    last = sandbox.messages(chen)
    mine = [m for m in last if not m["from_bot"]]
    assert mine[-1]["kind"] == "voice"
    assert mine[-1]["reply_to_message_id"] is not None
    expect(page.locator("#toast")).to_be_hidden()
