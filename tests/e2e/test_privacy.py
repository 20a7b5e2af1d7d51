"""Privacy requests end to end: /privacy, a copy with /mydata, /forget, and the manager side."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import (
    BotOptions,
    Emulator,
    Person,
    Workspace,
    create_workspace,
    execute,
    query,
)
from tests.e2e.test_transfer import download

OWNER, SUN = 1001, 2001
PHONE = "+8613800138000"


async def _shop_with_sun(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> tuple[Person, Person, int]:
    """Start the bot; the owner opens the shop, Sun joins, subscribes and buys once."""
    await start_bot(options)
    owner, sun = person(OWNER, "Wang"), person(SUN, "Sun Mei")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await sun.send(f"/start w_{workspace.slug}")
    await sun.expect("May we send you messages here?")
    await sun.press("Yes, keep me posted")
    await sun.expect("You're subscribed")
    (customer_id,) = query(options.db_path, "SELECT id FROM customer WHERE tg_user_id = ?", SUN)[0]
    execute(options.db_path, "UPDATE customer SET phone = ? WHERE id = ?", PHONE, customer_id)
    await owner.send(f"/buy {customer_id} 128.50 Longjing")
    await owner.expect("¥128.50 recorded for")
    return owner, sun, int(customer_id)


async def test_customer_sees_copies_and_erases_their_data(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    owner, sun, customer_id = await _shop_with_sun(options, workspace, start_bot, person)

    await sun.send("/privacy")
    told = await sun.expect("What shops keep about you", "Wang's Tea House", "purchases: 1")
    assert "/forget" in told["text"]
    assert "phone number" in told["text"]

    await sun.press("My data")
    sent = await sun.expect("Everything the shops keep about you")
    assert sent["document"]["file_name"].endswith(".json")
    (shop,) = json.loads((await download(sent)).decode("utf-8"))["shops"]
    assert shop["shop"] == "Wang's Tea House"
    assert (shop["profile"]["name"], shop["profile"]["phone"]) == ("Sun Mei", PHONE)
    assert [p["amount"] for p in shop["purchases"]] == ["¥128.50"]
    assert shop["purchases"][0]["note"] == "Longjing"

    await sun.send("/forget")
    await sun.expect("Erase your personal data at", "Wang's Tea House", "can't be undone")
    await sun.press("Keep my data")
    await sun.expect("nothing was erased")
    await sun.send("/forget")
    await sun.expect("Erase your personal data at")
    await sun.press("Yes, erase it")
    await sun.expect("Done", "no longer keeps your personal data")

    await owner.send(f"/card {customer_id}")
    card = await owner.expect(f"🗑 #{customer_id}")
    assert "Sun" not in card["text"]
    assert "13800138000" not in card["text"]
    assert "no phone" in card["text"]
    assert "Longjing" not in card["text"]
    assert "1 purchase," in card["text"]
    await owner.send(f"/find {PHONE}")
    await owner.expect("Nothing found")
    await owner.send("/find Sun")
    await owner.expect("Nothing found")

    await sun.send("/mydata")
    await sun.expect("No shop keeps data about you here")
    assert query(
        options.db_path,
        "SELECT action, source FROM consent_event WHERE customer_id = ? ORDER BY id",
        customer_id,
    ) == [("opt_in", "button"), ("opt_out", "erasure")]


@pytest.mark.parametrize("framework", ["ptb"])  # a chat flow: one framework
async def test_manager_handles_a_request_received_outside_the_bot(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    owner, sun, customer_id = await _shop_with_sun(options, workspace, start_bot, person)

    await owner.send(f"/dataexport {customer_id}")
    sent = await owner.expect(f"Everything we keep about customer #{customer_id}")
    (shop,) = json.loads((await download(sent)).decode("utf-8"))["shops"]
    assert shop["profile"]["phone"] == PHONE

    await owner.send(f"/erase {customer_id}")
    await owner.expect("Erase the personal data of", "Sun Mei", "can't be undone")
    await owner.press("Erase")
    await owner.expect(f"Personal data of customer #{customer_id} erased")
    await owner.send(f"/erase {customer_id}")
    await owner.expect("was erased already")

    await sun.send("/privacy")
    await sun.expect("No shop keeps data about you here")
    actions = query(
        options.db_path,
        "SELECT action FROM audit_log WHERE entity_id = ? AND action LIKE 'customer.%'"
        " AND actor_member_id IS NOT NULL ORDER BY id",
        customer_id,
    )
    assert actions == [("customer.data_export",), ("customer.erase",)]


@pytest.mark.parametrize("framework", ["aiogram"])  # a chat flow: one framework
async def test_customer_of_two_shops_chooses_which_one_forgets(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Emulator,
) -> None:
    porcelain = await create_workspace(options, name="Li's Porcelain")
    owner, sun, customer_id = await _shop_with_sun(options, workspace, start_bot, person)
    await sun.send(f"/start w_{porcelain.slug}")
    await sun.expect("Welcome to", "Li's Porcelain", "May we send you messages")
    await sun.press("No, thanks")
    await sun.expect("won't send you messages")

    await sun.send("/forget")
    await sun.expect("Which shop should erase your data?")
    await sun.press("Wang's Tea House")
    await sun.expect("Erase your personal data at", "Wang's Tea House")
    await sun.press("Yes, erase it")
    await sun.expect("Done", "Wang's Tea House")

    await sun.send("/privacy")
    told = await sun.expect("What shops keep about you", "Li's Porcelain")
    assert "Wang's Tea House" not in told["text"]
    assert query(options.db_path, "SELECT name FROM customer WHERE tg_user_id = ? ", SUN) == [
        ("Sun Mei",)
    ]
    assert query(options.db_path, "SELECT name FROM customer WHERE id = ?", customer_id) == [
        (f"🗑 #{customer_id}",)
    ]
