"""Fault injection and strict-mode flood control."""

from __future__ import annotations

import asyncio
import time

import pytest

from .helpers import Sandbox

CHAT = 42


@pytest.fixture
async def chat(sandbox: Sandbox) -> int:
    await sandbox.post("users", {"id": CHAT})
    await sandbox.post("users", {"id": CHAT + 1})
    return CHAT


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (400, "Bad Request: injected fault"),
        (403, "Forbidden: bot was blocked by the user"),
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
    ],
)
async def test_error_faults(sandbox: Sandbox, chat: int, code: int, description: str) -> None:
    await sandbox.post("faults", {"method": "sendMessage", "error_code": code})
    assert await sandbox.error("sendMessage", chat_id=chat, text="x") == (code, description)
    # The request had no effect, and the fault was used up.
    assert await sandbox.messages(chat) == []
    await sandbox.ok("sendMessage", chat_id=chat, text="x")
    assert (await sandbox.get("stats"))["faults_injected"] == 1


async def test_429_fault_carries_retry_after(sandbox: Sandbox, chat: int) -> None:
    await sandbox.post("faults", {"method": "sendmessage", "error_code": 429, "retry_after": 7})
    status, body = await sandbox.call("sendMessage", chat_id=chat, text="x")
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    stats = await sandbox.get("stats")
    assert stats["too_many_requests_sent"] == 1


async def test_custom_description_times_and_chat(sandbox: Sandbox, chat: int) -> None:
    await sandbox.post(
        "faults",
        {
            "method": "*",
            "error_code": 400,
            "description": "Bad Request: custom",
            "times": 2,
            "chat_id": chat,
        },
    )
    other = chat + 1
    await sandbox.ok("sendMessage", chat_id=other, text="unaffected")
    assert await sandbox.error("sendChatAction", chat_id=chat, action="typing") == (
        400,
        "Bad Request: custom",
    )
    assert (await sandbox.get("faults"))["faults"][0]["times"] == 1
    assert (await sandbox.error("sendMessage", chat_id=chat, text="x"))[0] == 400
    assert (await sandbox.get("faults"))["faults"] == []
    await sandbox.ok("sendMessage", chat_id=chat, text="x")


async def test_unlimited_fault_until_cleared(sandbox: Sandbox, chat: int) -> None:
    created = await sandbox.post("faults", {"method": "getMe", "error_code": 503, "times": None})
    for _ in range(3):
        assert (await sandbox.error("getMe"))[0] == 503
    async with sandbox.client.delete(f"/_emulator/faults/{created['id']}") as resp:
        assert resp.status == 200
    await sandbox.ok("getMe")
    await sandbox.post("faults", {"method": "getMe", "error_code": 503, "times": None})
    async with sandbox.client.delete("/_emulator/faults") as resp:
        assert await resp.json() == {"deleted": 1}
    await sandbox.ok("getMe")


async def test_latency_with_and_without_error(sandbox: Sandbox, chat: int) -> None:
    await sandbox.post("faults", {"method": "sendMessage", "latency_ms": 300})
    started = time.monotonic()
    await sandbox.ok("sendMessage", chat_id=chat, text="slow")
    assert time.monotonic() - started >= 0.28
    await sandbox.post("faults", {"method": "getMe", "latency_ms": 200, "error_code": 502})
    started = time.monotonic()
    assert (await sandbox.error("getMe"))[0] == 502
    assert time.monotonic() - started >= 0.18


async def test_probability_is_seedable(sandbox: Sandbox, chat: int) -> None:
    async def pattern() -> list[int]:
        await sandbox.post(
            "faults",
            {"method": "getMe", "error_code": 500, "probability": 0.5, "times": None, "seed": 7},
        )
        codes = [(await sandbox.call("getMe"))[0] for _ in range(20)]
        async with sandbox.client.delete("/_emulator/faults"):
            pass
        return codes

    first, second = await pattern(), await pattern()
    assert first == second
    assert {200, 500} == set(first)


async def test_invalid_fault_rules(sandbox: Sandbox) -> None:
    await sandbox.post("faults", {"method": "getMe", "error_code": 418}, status=400)
    await sandbox.post("faults", {"method": "getMe"}, status=400)
    await sandbox.post(
        "faults", {"method": "getMe", "error_code": 500, "probability": 2}, status=400
    )


async def test_strict_mode_per_chat_limit(sandbox: Sandbox, chat: int) -> None:
    settings = await sandbox.post("strict", {"enabled": True})
    assert settings == {"enabled": True, "global_per_second": 30, "chat_per_second": 1}
    await sandbox.ok("sendMessage", chat_id=chat, text="one")
    status, body = await sandbox.call("sendMessage", chat_id=chat, text="two")
    assert status == 429
    assert body["parameters"] == {"retry_after": 1}
    assert body["description"] == "Too Many Requests: retry after 1"
    await sandbox.ok("sendMessage", chat_id=chat + 1, text="other chat")
    await sandbox.ok("sendChatAction", chat_id=chat, action="typing")
    assert [m["text"] for m in await sandbox.messages(chat)] == ["one"]
    await asyncio.sleep(1.05)
    await sandbox.ok("sendMessage", chat_id=chat, text="three")
    stats = await sandbox.get("stats")
    assert stats["violations"] == {"global": 0, "per_chat": 1}
    assert stats["too_many_requests_sent"] == 1
    assert stats["sent_messages"] == 3
    assert stats["requests_by_method"]["sendMessage"] == 4


async def test_strict_mode_global_limit_and_paid_broadcast(sandbox: Sandbox) -> None:
    for user in range(1, 8):
        await sandbox.post("users", {"id": user})
    await sandbox.post("strict", {"enabled": True, "global_per_second": 3, "chat_per_second": 5})
    codes = [(await sandbox.call("sendMessage", chat_id=u, text="x"))[0] for u in range(1, 6)]
    assert codes == [200, 200, 200, 429, 429]
    paid = await sandbox.call("sendMessage", chat_id=6, text="x", allow_paid_broadcast=True)
    assert paid[0] == 200
    stats = await sandbox.get("stats")
    assert stats["violations"] == {"global": 2, "per_chat": 0}
    await sandbox.post("strict", {"enabled": False})
    assert (await sandbox.call("sendMessage", chat_id=7, text="x"))[0] == 200
