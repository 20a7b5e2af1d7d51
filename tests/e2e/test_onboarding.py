"""Onboarding end to end: owner, staff and a referred customer, consent, /stop and back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import webhook_options
from tests.e2e.harness import BotOptions, Emulator, Person, Workspace, query, wait_for_row

pytestmark = pytest.mark.timeout(120)

OWNER, STAFF, CUSTOMER = 1001, 1002, 2001


# Started the way an operator starts it, a new interpreter, under each framework and mode.
@pytest.mark.new_interpreter
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_owner_staff_customer_consent_stop_and_back(
    mode: str,
    options: BotOptions,
    workspace: Workspace,
    emu: Emulator,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    if mode == "webhook":
        webhook_options(options)
    await start_bot(options)
    owner, staff, customer = person(OWNER, "Wang"), person(STAFF, "Li"), person(CUSTOMER, "Zhao")

    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to", "Wang's Tea House", "owner", "/invite")

    await owner.send("/invite staff")
    invite = await owner.expect(
        "Invite for a new", "staff", "https://t.me/ScrmSandboxBot?start=inv_"
    )
    payload = invite["text"].split("?start=")[1].split()[0]

    await staff.send(f"/start {payload}")
    await staff.expect("Welcome to", "staff")
    await staff.send("/mylink")
    link = await staff.expect("?start=r_")
    referral = link["text"].split("?start=")[1].split()[0]
    assert referral.startswith("r_")

    await customer.send(f"/start {referral}")
    await customer.expect("Welcome to", "May we send you messages")
    await customer.press("Yes")
    await customer.expect("You're subscribed to")

    rows = query(
        options.db_path,
        "SELECT c.kind, c.consent, m.tg_user_id FROM customer c "
        "JOIN member m ON m.id = c.owner_member_id WHERE c.tg_user_id = ?",
        CUSTOMER,
    )
    assert rows == [("lead", "opted_in", STAFF)]

    await customer.send("/stop")
    await customer.expect("won't get messages from Wang's Tea House")
    events = query(
        options.db_path,
        "SELECT e.action, e.source FROM consent_event e JOIN customer c ON c.id = e.customer_id "
        "WHERE c.tg_user_id = ? ORDER BY e.id",
        CUSTOMER,
    )
    assert events == [("opt_in", "button"), ("opt_out", "stop_command")]

    await customer.send("/start")
    await customer.expect("May we send you messages")
    await customer.press("Yes")
    await customer.expect("You're subscribed to")
    assert query(options.db_path, "SELECT consent FROM customer") == [("opted_in",)]

    # Blocking the bot marks the customer unreachable; unblocking makes them reachable again.
    await emu.post("block", user_id=CUSTOMER)
    await wait_for_row(options.db_path, "SELECT reachable FROM customer", [(0,)])
    await emu.post("unblock", user_id=CUSTOMER)
    await wait_for_row(options.db_path, "SELECT reachable FROM customer", [(1,)])
    assert query(
        options.db_path, "SELECT action, source FROM consent_event ORDER BY id DESC LIMIT 2"
    ) == [("unblocked", "my_chat_member"), ("blocked", "my_chat_member")]

    # The owner's menu carries the admin commands; the customer's default menu does not.
    menus = str(await emu.commands())
    assert "invite" in menus


@pytest.mark.parametrize("framework", ["ptb"])  # a chat flow: one framework
async def test_consent_pressed_three_times_at_once_counts_once(
    options: BotOptions,
    workspace: Workspace,
    emu: Emulator,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    customer = person(CUSTOMER, "Zhao")
    await customer.send(f"/start w_{workspace.slug}")
    question = await customer.expect("May we send you messages")
    data = next(
        button["callback_data"]
        for row in question["reply_markup"]["inline_keyboard"]
        for button in row
        if "Yes" in button["text"]
    )

    async def press() -> str:
        pressed = await emu.post(
            "callback",
            user_id=CUSTOMER,
            message_id=question["message_id"],
            data=data,
            force=True,
        )
        return str(pressed["callback_query_id"])

    ids = await asyncio.gather(press(), press(), press())
    await customer.expect("You're subscribed to")
    assert await customer.quiet(1.0) == []
    toasts = sorted([(await _answer(emu, query_id))["text"] for query_id in ids])
    assert toasts == ["Subscribed", "You're already subscribed.", "You're already subscribed."]
    assert query(options.db_path, "SELECT action, source FROM consent_event") == [
        ("opt_in", "button")
    ]


async def _answer(emu: Emulator, query_id: str) -> dict[str, Any]:
    """Return the toast the bot answered a button press with, waiting for it."""
    async with asyncio.timeout(15):
        while True:
            response = await emu.http.get(f"/_emulator/callbacks/{query_id}")
            record: dict[str, Any] = response.json()
            if record.get("answered"):
                answer: dict[str, Any] = record["answer"]
                return answer
            await asyncio.sleep(0.1)
