"""getUpdates: offsets, limits, long polling, conflicts and allowed_updates."""

from __future__ import annotations

import asyncio
import time

from .helpers import Sandbox


async def test_user_message_update_has_command_entity(sandbox: Sandbox) -> None:
    sent = await sandbox.send(42, "/start ref_1", first_name="Ann", username="ann")
    [update] = await sandbox.updates()
    assert update["update_id"] == sent["update_id"]
    message = update["message"]
    assert message["message_id"] == sent["message_id"]
    assert message["text"] == "/start ref_1"
    assert message["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]
    assert message["from"] == {"id": 42, "is_bot": False, "first_name": "Ann", "username": "ann"}
    assert message["chat"] == {"id": 42, "first_name": "Ann", "username": "ann", "type": "private"}
    assert isinstance(message["date"], int)


async def test_default_first_name_and_update_ids_grow_by_one(sandbox: Sandbox) -> None:
    first = await sandbox.send(7, "one")
    second = await sandbox.send(7, "two")
    assert second["update_id"] == first["update_id"] + 1
    assert second["message_id"] == first["message_id"] + 1
    updates = await sandbox.updates()
    assert updates[0]["message"]["from"]["first_name"] == "User 7"


async def test_offset_confirms_earlier_updates(sandbox: Sandbox) -> None:
    ids = [(await sandbox.send(1, f"m{i}"))["update_id"] for i in range(5)]
    assert [u["update_id"] for u in await sandbox.updates()] == ids
    assert [u["update_id"] for u in await sandbox.updates(offset=ids[2])] == ids[2:]
    # Earlier updates are gone even without an offset now.
    assert [u["update_id"] for u in await sandbox.updates()] == ids[2:]
    assert await sandbox.updates(offset=ids[-1] + 1) == []
    state = await sandbox.get("state")
    assert state["pending_update_count"] == 0


async def test_limit_and_negative_offset(sandbox: Sandbox) -> None:
    ids = [(await sandbox.send(1, f"m{i}"))["update_id"] for i in range(6)]
    assert [u["update_id"] for u in await sandbox.updates(limit=2)] == ids[:2]
    assert [u["update_id"] for u in await sandbox.updates(limit=0)] == ids
    assert [u["update_id"] for u in await sandbox.updates(offset=-2)] == ids[-2:]
    assert [u["update_id"] for u in await sandbox.updates()] == ids[-2:]


async def test_long_poll_returns_as_soon_as_an_update_arrives(sandbox: Sandbox) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(sandbox.updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await sandbox.send(3, "wake up")
    updates = await asyncio.wait_for(poll, 5)
    assert [u["message"]["text"] for u in updates] == ["wake up"]
    assert time.monotonic() - started < 5


async def test_long_poll_times_out_empty(sandbox: Sandbox) -> None:
    started = time.monotonic()
    assert await sandbox.updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3


async def test_second_get_updates_terminates_the_first(sandbox: Sandbox) -> None:
    first = asyncio.create_task(sandbox.call("getUpdates", timeout=10))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(sandbox.call("getUpdates", timeout=10))
    status, body = await asyncio.wait_for(first, 5)
    assert status == 409
    assert body["description"] == (
        "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running"
    )
    await sandbox.send(3, "hello")
    status, body = await asyncio.wait_for(second, 5)
    assert status == 200
    assert body["result"][0]["message"]["text"] == "hello"


async def test_abandoned_long_poll_loses_nothing(sandbox: Sandbox) -> None:
    poll = asyncio.create_task(sandbox.call("getUpdates", timeout=10))
    await asyncio.sleep(0.2)
    poll.cancel()
    await asyncio.gather(poll, return_exceptions=True)
    await asyncio.sleep(0.1)
    await sandbox.send(3, "after disconnect")
    updates = await sandbox.updates(timeout=1)
    assert [u["message"]["text"] for u in updates] == ["after disconnect"]


async def test_allowed_updates_filters_new_updates(sandbox: Sandbox) -> None:
    await sandbox.updates(allowed_updates=["callback_query"])
    await sandbox.send(3, "ignored")
    assert await sandbox.updates() == []
    await sandbox.updates(allowed_updates=[])
    await sandbox.send(3, "seen")
    assert [u["message"]["text"] for u in await sandbox.updates()] == ["seen"]


async def test_allowed_updates_as_json_text_in_form(sandbox: Sandbox) -> None:
    status, _ = await sandbox.form("getUpdates", allowed_updates=["my_chat_member"])
    assert status == 200
    await sandbox.send(3, "filtered")
    await sandbox.post("block", {"user_id": 3})
    [update] = await sandbox.updates()
    assert "my_chat_member" in update


async def test_pending_updates_can_be_inspected_without_confirming(sandbox: Sandbox) -> None:
    await sandbox.send(3, "peek")
    body = await sandbox.get("updates")
    assert [u["message"]["text"] for u in body["updates"]] == ["peek"]
    assert len(await sandbox.updates()) == 1
