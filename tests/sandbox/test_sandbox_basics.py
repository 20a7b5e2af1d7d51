"""The Bot API envelope: tokens, method lookup, parameter encodings and required params."""

from __future__ import annotations

import pytest

from bot.sandbox.server import EmulatorConfig, create_app

from .helpers import BOT_ID, Sandbox


async def test_get_me_returns_bot_user(sandbox: Sandbox) -> None:
    me = await sandbox.ok("getMe")
    assert me["id"] == BOT_ID
    assert me["is_bot"] is True
    assert me["username"] == "ScrmSandboxBot"
    assert me["first_name"] == "SCRM Sandbox"
    for flag in ("can_join_groups", "can_read_all_group_messages", "supports_inline_queries"):
        assert isinstance(me[flag], bool)


async def test_wrong_token_is_unauthorized(sandbox: Sandbox) -> None:
    async with sandbox.client.get("/bot123:wrong/getMe") as resp:
        assert resp.status == 401
        assert await resp.json() == {
            "ok": False,
            "error_code": 401,
            "description": "Unauthorized",
        }


async def test_unknown_method_is_not_found(sandbox: Sandbox) -> None:
    assert await sandbox.error("sendCarrierPigeon") == (404, "Not Found")


async def test_method_names_are_case_insensitive_and_get_works(sandbox: Sandbox) -> None:
    async with sandbox.client.get(f"/bot{sandbox.token}/GETME") as resp:
        body = await resp.json()
    assert body["ok"] is True
    assert body["result"]["id"] == BOT_ID


async def test_query_string_form_and_multipart_parameters(sandbox: Sandbox) -> None:
    await sandbox.post("users", {"id": 5, "first_name": "Ann"})
    async with sandbox.client.get(
        f"/bot{sandbox.token}/sendMessage", params={"chat_id": "5", "text": "query"}
    ) as resp:
        assert (await resp.json())["result"]["text"] == "query"
    status, body = await sandbox.form("sendMessage", chat_id="5", text="form")
    assert status == 200
    assert body["result"]["text"] == "form"
    status, body = await sandbox.upload(
        f"/bot{sandbox.token}/sendMessage", {"chat_id": "5", "text": "multipart"}
    )
    assert status == 200
    assert body["result"]["text"] == "multipart"


async def test_missing_required_parameters(sandbox: Sandbox) -> None:
    await sandbox.post("users", {"id": 5})
    assert await sandbox.error("sendMessage", text="hi") == (400, "Bad Request: chat_id is empty")
    assert await sandbox.error("sendMessage", chat_id=5) == (
        400,
        "Bad Request: message text is empty",
    )
    assert await sandbox.error("sendMessage", chat_id=5, text="   ") == (
        400,
        "Bad Request: message text is empty",
    )


async def test_unknown_chat_is_not_found(sandbox: Sandbox) -> None:
    assert await sandbox.error("sendMessage", chat_id=777, text="hi") == (
        400,
        "Bad Request: chat not found",
    )
    assert await sandbox.error("sendMessage", chat_id="@someone", text="hi") == (
        400,
        "Bad Request: chat not found",
    )


async def test_malformed_json_parameter(sandbox: Sandbox) -> None:
    await sandbox.post("users", {"id": 5})
    status, body = await sandbox.form("sendMessage", chat_id="5", text="x", reply_markup="{nope")
    assert status == 400
    assert body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


def test_token_must_carry_bot_id() -> None:
    with pytest.raises(ValueError, match="bot id"):
        create_app(EmulatorConfig(token="no-colon"))
