"""Onboarding end to end: owner, staff and a referred customer, consent, /stop and back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import webhook_options
from tests.e2e.harness import BotOptions, Emulator, Person, Workspace, query, wait_for_row

OWNER, STAFF, CUSTOMER = 1001, 1002, 2001


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
