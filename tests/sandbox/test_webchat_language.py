"""The web chat speaks the visitor's language: ?lang=, a remembered switch, else the browser's.

Only the page's own words change; the bot answers each persona in its Telegram
language, and a persona the Chinese page creates gets ``language_code`` zh-hans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .webchat import RunningSandbox, expect, launch_chromium, open_page, pane, run_sandbox

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """Start the sandbox as `scrm-bot run --no-demo`."""
    with run_sandbox(tmp_path_factory.mktemp("sandbox"), "--no-demo") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Launch Debian's Chromium headless through Playwright."""
    with launch_chromium() as launched:
        yield launched


def _context(browser: Any, locale: str) -> Any:
    return browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)


def _users(sandbox: RunningSandbox) -> dict[int, dict[str, Any]]:
    response = httpx.get(f"{sandbox.url}/_emulator/users", timeout=10)
    return {user["id"]: user for user in response.json()["users"]}


def _deep_link(sandbox: RunningSandbox, chat_id: int) -> None:
    bot = httpx.get(f"{sandbox.url}/_emulator/state", timeout=10).json()["bot"]["username"]
    link = f'<a href="https://t.me/{bot}?start=c_demo">card</a>'
    sandbox.send_as_bot(chat_id, f"Share {link}")


def test_chinese_page_and_the_personas_it_creates(browser: Any, sandbox: RunningSandbox) -> None:
    context = _context(browser, "en-US")
    try:
        with open_page(context, sandbox.url + "/?lang=zh-CN") as page:
            assert page.evaluate("document.documentElement.lang") == "zh-CN"
            assert page.title() == "SCRM 沙盒聊天"
            expect(page.locator("#page-language")).to_have_value("zh-CN")
            names = page.locator("#people .person .person-name")
            expect(names).to_have_text(["店主", "销售 Li", "销售 Chen", "客户 Zhao", "客户 Sun"])
            box = pane(page).locator(".text-input")
            expect(box).to_have_attribute("placeholder", "以 店主 的身份发消息")
            expect(pane(page).locator(".pane-persona")).to_contain_text("您是 店主（1001）")
            expect(pane(page).locator(".empty-hint")).to_contain_text("还没有消息")
            expect(page.locator("#add-person h2")).to_have_text("添加人员")
            expect(page.locator("#add-name")).to_have_attribute("placeholder", "名字")
            expect(page.locator(".sidebar-hint")).to_contain_text("您可以")

            # The "open as" control beside a deep link, and its menu.
            _deep_link(sandbox, 1001)
            open_as = pane(page).locator("button.open-as").last
            expect(open_as).to_have_text("以他人身份打开…")
            open_as.click()
            expect(page.locator("#open-as li.muted")).to_have_text("以谁的身份打开 /start…")
            expect(page.locator("#open-as button").first).to_have_text("店主")
            page.keyboard.press("Escape")

            # Both dictionaries have the same keys, seen from the page itself.
            keys = page.evaluate(
                "Object.keys(STRINGS).map((language) => Object.keys(STRINGS[language]).sort())"
            )
            assert keys[0] == keys[1]

            # A person added on the Chinese page speaks Chinese to the bot, which answers so.
            expect(page.locator("#add-language")).to_have_value("zh-hans")
            page.locator("#add-name").fill("Qian")
            page.locator("#add-person button[type=submit]").click()
            expect(pane(page).locator(".pane-persona")).to_contain_text("您是 Qian（3001）")
            expect(pane(page).locator(".pane-persona")).to_contain_text("zh-hans")
            assert _users(sandbox)[3001]["language_code"] == "zh-hans"
            box.fill("/start")
            box.press("Enter")
            expect(pane(page).locator(".message.bot").last).to_contain_text("您好")

            # Unless another language is picked for them.
            page.locator("#add-language").select_option("en")
            page.locator("#add-name").fill("Emma")
            page.locator("#add-person button[type=submit]").click()
            expect(pane(page).locator(".pane-persona")).to_contain_text("您是 Emma（3002）")
            assert _users(sandbox)[3002]["language_code"] == "en"
            box.fill("/start")
            box.press("Enter")
            expect(pane(page).locator(".message.bot").last).to_contain_text("Hi!")
            # The demo's people, made by the launcher without a language, speak the page's:
            # the owner hears the bot in Chinese, and switches with the page.
            assert _users(sandbox)[1001]["language_code"] == "zh-hans"
            page.locator("#people .person", has_text="店主").click()
            expect(pane(page).locator(".pane-persona")).to_contain_text("您是 店主（1001）")
            owner_box = pane(page).locator(".text-input")
            owner_box.fill("/help")
            owner_box.press("Enter")
            expect(pane(page).locator(".message.bot").last).to_contain_text("您可以")
            page.locator("#page-language").select_option("en")
            expect(pane(page).locator(".pane-persona")).to_contain_text("you are Owner (1001)")
            expect(pane(page).locator(".pane-persona")).to_contain_text("· en")
            assert _users(sandbox)[1001]["language_code"] == "en"
            # A person whose language was picked keeps it.
            assert _users(sandbox)[3001]["language_code"] == "zh-hans"
            owner_box.fill("/help")
            owner_box.press("Enter")
            expect(pane(page).locator(".message.bot").last).to_contain_text("Here's what")
    finally:
        context.close()


def test_english_by_parameter_even_in_a_chinese_browser(
    browser: Any, sandbox: RunningSandbox
) -> None:
    context = _context(browser, "zh-CN")
    try:
        with open_page(context, sandbox.url + "/") as page:
            assert page.evaluate("document.documentElement.lang") == "zh-CN"
            expect(pane(page).locator(".text-input")).to_have_attribute(
                "placeholder", "以 店主 的身份发消息"
            )
        with open_page(context, sandbox.url + "/?lang=en") as page:
            assert page.evaluate("document.documentElement.lang") == "en"
            assert page.title() == "SCRM sandbox chat"
            expect(pane(page).locator(".text-input")).to_have_attribute(
                "placeholder", "Message as Owner"
            )
            expect(pane(page).locator(".pane-persona")).to_contain_text("you are Owner (1001)")
            expect(page.locator("#add-language")).to_have_value("en")
            _deep_link(sandbox, 1001)
            expect(pane(page).locator("button.open-as").last).to_have_text("open as…")
            for part in (".sidebar-hint", "#add-person"):
                assert not CHINESE.search(page.locator(part).inner_text()), part
            names = page.locator("#people .person-name").all_inner_texts()
            assert names[:5] == ["Owner", "Rep Li", "Rep Chen", "Customer Zhao", "Customer Sun"]
    finally:
        context.close()


def test_the_switch_keeps_the_chat_and_is_remembered(
    browser: Any, sandbox: RunningSandbox
) -> None:
    context = _context(browser, "en-US")
    try:
        with open_page(context, sandbox.url + "/#1002") as page:
            expect(pane(page).locator(".pane-persona")).to_contain_text("you are Rep Li (1002)")
            sandbox.send_as_bot(1002, "<b>Oolong</b> is back in stock")
            message = pane(page).locator(".message.bot", has_text="Oolong").last
            expect(message).to_be_visible()
            count = pane(page).locator(".message").count()
            message.dblclick()
            bar = pane(page).locator(".reply-bar")
            expect(bar.locator(".reply-author")).to_have_text(re.compile(r"^Reply to "))
            box = pane(page).locator(".text-input")
            box.fill("a draft")

            page.locator("#page-language").select_option("zh-CN")
            assert page.evaluate("document.documentElement.lang") == "zh-CN"
            expect(box).to_have_attribute("placeholder", "以 销售 Li 的身份发消息")
            expect(box).to_have_value("a draft")
            expect(pane(page).locator(".message")).to_have_count(count)
            expect(pane(page).locator(".message.bot b", has_text="Oolong").last).to_be_visible()
            expect(bar.locator(".reply-author")).to_have_text(re.compile(r"^回复 "))
            expect(pane(page).locator(".pane-persona")).to_contain_text("您是 销售 Li（1002）")
            expect(page.locator("#people .person-name").first).to_have_text("店主")
            expect(page.locator("#add-language")).to_have_value("zh-hans")

            # The reply still goes to the message it quotes.
            box.press("Enter")
            sent = pane(page).locator(".message.user", has_text="a draft").last
            expect(sent.locator(".quote")).to_contain_text("Oolong")

            # The choice is remembered over a reload, though the browser says English.
            page.reload()
            page.wait_for_selector("body[data-ready=true]")
            assert page.evaluate("document.documentElement.lang") == "zh-CN"
            expect(page.locator("#page-language")).to_have_value("zh-CN")
            expect(pane(page).locator(".message.user", has_text="a draft")).to_have_count(1)

            # And back to English.
            page.locator("#page-language").select_option("en")
            expect(pane(page).locator(".text-input")).to_have_attribute(
                "placeholder", "Message as Rep Li"
            )
            assert page.evaluate("localStorage.getItem('scrm-sandbox-language')") == "en"
    finally:
        context.close()
