"""Tenant isolation: a member of one workspace reaches nothing of another."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.harness import Workspace, query
from tests.handlers.chat import ChatBot, Controls, Person

OWNER_A, OWNER_B, STAFF_B, CUSTOMER_B = 1001, 1101, 1102, 2101


async def test_member_of_a_gets_nothing_of_b(
    chat: ChatBot,
    workspace: Workspace,
    emu: Controls,
    person: Callable[..., Person],
) -> None:
    other = await chat.create_workspace("Li's Porcelain")
    owner_a, owner_b = person(OWNER_A, "Wang"), person(OWNER_B, "Li")
    staff_b, customer_b = person(STAFF_B, "Chen"), person(CUSTOMER_B, "Zhou")

    await owner_a.send(f"/start {workspace.owner_payload}")
    await owner_a.expect("Wang's Tea House")
    await owner_b.send(f"/start {other.owner_payload}")
    await owner_b.expect("Li's Porcelain")
    await owner_b.send("/invite staff")
    invite_b = await owner_b.expect("Invite for a new")
    await customer_b.send(f"/start w_{other.slug}")
    consent_b = await customer_b.expect("May we send you messages")

    # A foreign invite: A's owner cannot join B, and the invite stays usable for B.
    payload_b = invite_b["text"].split("?start=")[1].split()[0]
    await owner_a.send(f"/start {payload_b}")
    await owner_a.expect("You already work in Wang's Tea House")

    # Forged buttons carrying B's ids: withdraw B's invite, answer B's customer's consent.
    # Each is answered as expired, and nothing is said about B.
    revoke_b = invite_b["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    consent_data = consent_b["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    for data in (revoke_b, consent_data):
        pressed = await emu.post("callback", user_id=OWNER_A, message_id=1, data=data, force=True)
        assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."
        assert await owner_a.quiet() == []

    # A's own view counts only A.
    await owner_a.send("/shop")
    shop = await owner_a.expect("Wang's Tea House", "Team: 1", "Leads and customers: 0")
    assert other.slug not in shop["text"]

    # B's invite still works for the person it was meant for, and B's customer is untouched.
    await staff_b.send(f"/start {payload_b}")
    await staff_b.expect("Welcome to", "Li's Porcelain")
    assert query(chat.db_path, "SELECT consent FROM customer") == [("unknown",)]
    assert query(chat.db_path, "SELECT revoked_at FROM invite WHERE role = 'staff'") == [(None,)]
