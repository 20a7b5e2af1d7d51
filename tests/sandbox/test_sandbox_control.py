"""The control API: users, the message view, commands, state, reset and the static page."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.sandbox.server import EmulatorConfig, create_app

from .helpers import Sandbox, keyboard

CHAT = 42


async def test_users_are_created_and_updated(sandbox: Sandbox) -> None:
    body = await sandbox.post(
        "users", {"id": CHAT, "first_name": "Ann", "username": "@ann", "language_code": "zh"}
    )
    assert body["user"] == {
        "id": CHAT,
        "is_bot": False,
        "first_name": "Ann",
        "username": "ann",
        "language_code": "zh",
    }
    await sandbox.post("users", {"id": CHAT, "last_name": "Lee"})
    [user] = (await sandbox.get("users"))["users"]
    assert (user["first_name"], user["last_name"], user["blocked"]) == ("Ann", "Lee", False)
    await sandbox.post("users", {"id": "x"}, status=400)
    await sandbox.post("send", {"user_id": CHAT}, status=400)


async def test_messages_view_after_and_filters(sandbox: Sandbox) -> None:
    sent = await sandbox.send(CHAT, "hello")
    reply = await sandbox.ok(
        "sendMessage",
        chat_id=CHAT,
        text="<b>Hi</b> there",
        parse_mode="HTML",
        reply_markup=keyboard([("Go", "go")]),
    )
    everything = await sandbox.messages(CHAT)
    assert [m["message_id"] for m in everything] == [sent["message_id"], reply["message_id"]]
    bot_message = everything[1]
    assert bot_message["from_bot"] is True
    assert bot_message["text"] == "Hi there"
    assert bot_message["html"] == "<b>Hi</b> there"
    assert bot_message["entities"] == [{"offset": 0, "length": 2, "type": "bold"}]
    assert bot_message["reply_markup"] == keyboard([("Go", "go")])
    assert everything[0]["from_bot"] is False
    assert everything[0]["html"] is None
    assert await sandbox.messages(CHAT, after=sent["seq"]) == [bot_message]
    assert await sandbox.messages(CHAT, from_bot=0) == [everything[0]]
    # An edit bumps the message's seq, so it shows up again after the last seq seen.
    body = await sandbox.get(f"chats/{CHAT}/messages")
    await sandbox.ok("editMessageText", chat_id=CHAT, message_id=reply["message_id"], text="v2")
    [changed] = await sandbox.messages(CHAT, after=body["seq"])
    assert (changed["message_id"], changed["text"], changed["edited"]) == (
        reply["message_id"],
        "v2",
        True,
    )
    await sandbox.get("chats/999/messages", status=404)


async def test_messages_view_long_polls(sandbox: Sandbox) -> None:
    sent = await sandbox.send(CHAT, "question")

    async def answer_later() -> None:
        await asyncio.sleep(0.2)
        await sandbox.ok("sendMessage", chat_id=CHAT, text="one")
        await asyncio.sleep(0.1)
        await sandbox.ok("sendMessage", chat_id=CHAT, text="two")

    task = asyncio.create_task(answer_later())
    started = time.monotonic()
    found = await sandbox.messages(CHAT, after=sent["seq"], wait=5, min=2)
    await task
    assert [m["text"] for m in found] == ["one", "two"]
    assert time.monotonic() - started < 4
    started = time.monotonic()
    assert await sandbox.messages(CHAT, after=found[-1]["seq"], wait=0.3) == []
    assert time.monotonic() - started >= 0.25


async def test_commands_per_scope_and_language(sandbox: Sandbox) -> None:
    await sandbox.post("users", {"id": CHAT})
    default = [{"command": "start", "description": "Start"}]
    owner = [
        {"command": "start", "description": "Start"},
        {"command": "stats", "description": "S"},
    ]
    chat_scope = {"type": "chat", "chat_id": CHAT}
    assert await sandbox.ok("setMyCommands", commands=default) is True
    assert await sandbox.ok("setMyCommands", commands=owner, scope=chat_scope) is True
    assert await sandbox.ok("setMyCommands", commands=owner, language_code="zh") is True
    status, _ = await sandbox.form(
        "setMyCommands", commands=owner, scope={"chat_id": str(CHAT), "type": "chat"}
    )
    assert status == 200
    assert await sandbox.ok("getMyCommands") == default
    assert await sandbox.ok("getMyCommands", scope=chat_scope) == owner
    assert await sandbox.ok("getMyCommands", language_code="zh") == owner
    assert await sandbox.ok("getMyCommands", scope={"type": "all_private_chats"}) == []
    stored = (await sandbox.get("commands"))["commands"]
    assert {(str(c["scope"]), c["language_code"]) for c in stored} == {
        (str({"type": "default"}), ""),
        (str({"type": "chat", "chat_id": CHAT}), ""),
        (str({"type": "default"}), "zh"),
    }
    assert await sandbox.ok("deleteMyCommands", scope=chat_scope) is True
    assert await sandbox.ok("getMyCommands", scope=chat_scope) == []
    assert await sandbox.ok("getMyCommands") == default


async def test_command_validation(sandbox: Sandbox) -> None:
    for command in ("Start", "with space", "/start", "x" * 33, ""):
        assert await sandbox.error(
            "setMyCommands", commands=[{"command": command, "description": "d"}]
        ) == (400, "Bad Request: BOT_COMMAND_INVALID"), command
    assert await sandbox.error(
        "setMyCommands", commands=[{"command": "ok", "description": ""}]
    ) == (400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    assert await sandbox.error(
        "setMyCommands", commands=[{"command": "ok", "description": "d" * 257}]
    ) == (400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    assert await sandbox.error(
        "setMyCommands",
        commands=[{"command": "ok", "description": "d"}],
        scope={"type": "chat", "chat_id": 999},
    ) == (400, "Bad Request: chat not found")


async def test_state_and_reset(sandbox: Sandbox) -> None:
    await sandbox.send(CHAT, "hello")
    await sandbox.ok("sendMessage", chat_id=CHAT, text="hi")
    await sandbox.post("faults", {"method": "getMe", "error_code": 500})
    state = await sandbox.get("state")
    assert state["pending_update_count"] == 1
    assert state["users"][0]["id"] == CHAT
    assert state["users"][0]["message_count"] == 2
    assert state["faults"] == 1
    assert state["stats"]["sent_messages"] == 1
    assert state["bot"]["username"] == "ScrmSandboxBot"
    last_update = state["last_update_id"]
    assert await sandbox.post("reset") == {"ok": True}
    state = await sandbox.get("state")
    assert (state["pending_update_count"], state["users"], state["faults"]) == (0, [], 0)
    assert state["stats"]["sent_messages"] == 0
    assert await sandbox.ok("getMe")
    assert await sandbox.error("sendMessage", chat_id=CHAT, text="hi") == (
        400,
        "Bad Request: chat not found",
    )
    # update_id keeps growing, so a bot's stored offset never skips new updates.
    assert (await sandbox.send(CHAT, "again"))["update_id"] == last_update + 1


async def test_static_page_is_served_when_present(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<h1>chat</h1>", encoding="utf-8")
    (tmp_path / "app.js").write_text("console.log(1)", encoding="utf-8")
    app = create_app(EmulatorConfig(), static_dir=tmp_path)
    async with TestClient(TestServer(app)) as client:
        async with client.get("/") as resp:
            assert resp.status == 200
            assert await resp.text() == "<h1>chat</h1>"
        async with client.get("/app.js") as resp:
            assert resp.status == 200
        async with client.get("/../secret") as resp:
            assert resp.status == 404
        async with client.get("/_emulator/state") as resp:
            assert resp.status == 200
