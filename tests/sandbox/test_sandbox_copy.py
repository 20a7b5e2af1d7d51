"""copyMessage and copyMessages: a customer's message relayed to a rep, and the rep's reply.

Telegram's copy is the same content sent by the bot, with no link to the original;
the method answers a MessageId only. A new caption replaces the caption of media
that has one and is ignored for other content.
"""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import BOT_ID, Sandbox, keyboard, make_png

CUSTOMER = 2001
REP = 1002


@pytest.fixture
async def chats(sandbox: Sandbox) -> tuple[int, int]:
    await sandbox.post("users", {"id": CUSTOMER, "first_name": "Zhao"})
    await sandbox.post("users", {"id": REP, "first_name": "Li"})
    return CUSTOMER, REP


async def copy(sandbox: Sandbox, message_id: int, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = await sandbox.ok(
        "copyMessage", chat_id=REP, from_chat_id=CUSTOMER, message_id=message_id, **params
    )
    return result


async def copy_error(sandbox: Sandbox, message_id: int, **params: Any) -> tuple[int, str]:
    params = {"chat_id": REP, "from_chat_id": CUSTOMER, "message_id": message_id, **params}
    return await sandbox.error("copyMessage", **params)


async def rep_view(sandbox: Sandbox, message_id: int) -> dict[str, Any]:
    views = await sandbox.messages(REP)
    [view] = [v for v in views if v["message_id"] == message_id]
    return view


async def customer_sends_every_kind(sandbox: Sandbox) -> dict[str, int]:
    """Make the customer send one message of each kind; return their ids by kind."""
    ids: dict[str, int] = {}
    ids["text"] = (await sandbox.send(CUSTOMER, "2 cakes of aged pu'er, please"))["message_id"]
    status, photo = await sandbox.upload(
        "/_emulator/photo",
        {"user_id": str(CUSTOMER), "file": ("tea.png", make_png(30, 20)), "caption": "this"},
    )
    assert status == 200, photo
    ids["photo"] = photo["message_id"]
    for kind, body in (
        ("voice", {"duration": 4}),
        ("video", {"caption": "unboxing"}),
        ("video_note", {}),
        ("audio", {"title": "song"}),
        ("animation", {}),
        ("sticker", {"emoji": "🍵"}),
        ("location", {"latitude": 31.23, "longitude": 121.47}),
        ("contact", {"phone_number": "+8613800138000", "first_name": "Zhao"}),
    ):
        ids[kind] = (await sandbox.post(kind, {"user_id": CUSTOMER, **body}))["message_id"]
    status, document = await sandbox.upload(
        "/_emulator/document",
        {"user_id": str(CUSTOMER), "file": ("order.csv", b"tea,2\n"), "caption": "my order"},
    )
    assert status == 200, document
    ids["document"] = document["message_id"]
    return ids


async def test_copies_each_kind_as_the_same_content_from_the_bot(
    sandbox: Sandbox, chats: tuple[int, int]
) -> None:
    ids = await customer_sends_every_kind(sandbox)
    originals = {v["message_id"]: v for v in await sandbox.messages(CUSTOMER)}
    for kind, message_id in ids.items():
        result = await copy(sandbox, message_id)
        assert set(result) == {"message_id"}, "copyMessage answers a MessageId only"
        view = await rep_view(sandbox, result["message_id"])
        original = originals[message_id]
        assert view["kind"] == kind
        assert view["from_bot"] is True
        assert view["copy_of"] == {"chat_id": CUSTOMER, "message_id": message_id}
        assert view["text"] == original["text"]
        for field in ("photo", "voice", "video", "video_note", "audio", "animation", "document"):
            if original[field] is not None:
                assert view[field] == original[field], (kind, field)
        for field in ("sticker", "location", "contact"):
            assert view[field] == original[field], (kind, field)
    # The rep's updates are none: a copy is the bot's own message.
    updates = await sandbox.updates()
    assert all(u["message"]["chat"]["id"] == CUSTOMER for u in updates)


async def test_caption_replaces_a_media_caption_in_html(
    sandbox: Sandbox, chats: tuple[int, int]
) -> None:
    ids = await customer_sends_every_kind(sandbox)
    caption = "<b>Zhao</b> #12 · gold"
    for kind in ("photo", "voice", "video", "audio", "animation", "document"):
        result = await copy(sandbox, ids[kind], caption=caption, parse_mode="HTML")
        view = await rep_view(sandbox, result["message_id"])
        assert view["text"] == "Zhao #12 · gold", kind
        assert view["entities"] == [{"offset": 0, "length": 4, "type": "bold"}]
        assert view["html"] == caption
    # Content without a caption keeps its content: the caption is ignored.
    for kind in ("text", "sticker", "video_note", "location", "contact"):
        result = await copy(sandbox, ids[kind], caption=caption, parse_mode="HTML")
        view = await rep_view(sandbox, result["message_id"])
        assert view["kind"] == kind
        expected = "2 cakes of aged pu'er, please" if kind == "text" else None
        assert view["text"] == expected, kind
    # An empty caption removes the original's; none given keeps it.
    removed = await copy(sandbox, ids["photo"], caption="")
    assert (await rep_view(sandbox, removed["message_id"]))["text"] is None
    kept = await copy(sandbox, ids["photo"])
    assert (await rep_view(sandbox, kept["message_id"]))["text"] == "this"
    assert await copy_error(sandbox, ids["photo"], caption="x" * 1025) == (
        400,
        "Bad Request: message caption is too long",
    )


async def test_buttons_and_the_update_of_a_copied_photo(
    sandbox: Sandbox, chats: tuple[int, int]
) -> None:
    ids = await customer_sends_every_kind(sandbox)
    buttons = keyboard([("↩️ Reply", "r:1"), ("📇 Card", "c:1")], [("✅ Done", "d:1")])
    result = await copy(sandbox, ids["photo"], caption="from Zhao", reply_markup=buttons)
    view = await rep_view(sandbox, result["message_id"])
    assert view["reply_markup"] == buttons
    # The rep presses a button of the copy: the callback carries the copy, as a photo.
    await sandbox.updates()
    await sandbox.post(
        "callback", {"user_id": REP, "message_id": result["message_id"], "data": "c:1"}
    )
    [update] = await sandbox.updates(offset=-1)
    message = update["callback_query"]["message"]
    assert message["from"]["id"] == BOT_ID
    assert message["photo"][-1]["file_id"] == view["photo"][-1]["file_id"]
    assert message["caption"] == "from Zhao"
    assert "forward_origin" not in message


async def test_rep_swipe_replies_to_the_copy(sandbox: Sandbox, chats: tuple[int, int]) -> None:
    ids = await customer_sends_every_kind(sandbox)
    relayed = await copy(sandbox, ids["voice"], caption="Zhao #12")
    await sandbox.updates()
    await sandbox.send(REP, "Yes, we have it", reply_to_message_id=relayed["message_id"])
    [update] = await sandbox.updates(offset=-1)
    message = update["message"]
    replied = message["reply_to_message"]
    assert replied["message_id"] == relayed["message_id"]
    assert replied["from"]["id"] == BOT_ID
    assert replied["voice"]["duration"] == 4
    assert replied["caption"] == "Zhao #12"
    # The bot copies the rep's answer to the customer, as a reply to their voice message.
    answer = await sandbox.ok(
        "copyMessage",
        chat_id=CUSTOMER,
        from_chat_id=REP,
        message_id=message["message_id"],
        reply_parameters={"message_id": ids["voice"]},
    )
    view = [v for v in await sandbox.messages(CUSTOMER) if v["message_id"] == answer["message_id"]]
    assert view[0]["text"] == "Yes, we have it"
    assert view[0]["reply_to_message_id"] == ids["voice"]
    assert view[0]["from_bot"] is True


async def test_reply_parameters_of_a_copy(sandbox: Sandbox, chats: tuple[int, int]) -> None:
    ids = await customer_sends_every_kind(sandbox)
    notice = await sandbox.ok("sendMessage", chat_id=REP, text="New message from Zhao")
    result = await copy(sandbox, ids["text"], reply_to_message_id=notice["message_id"])
    assert (await rep_view(sandbox, result["message_id"]))["reply_to_message_id"] == (
        notice["message_id"]
    )
    assert await copy_error(sandbox, ids["text"], reply_parameters={"message_id": 999}) == (
        400,
        "Bad Request: message to be replied not found",
    )
    result = await copy(
        sandbox,
        ids["text"],
        reply_parameters={"message_id": 999, "allow_sending_without_reply": True},
    )
    assert (await rep_view(sandbox, result["message_id"]))["reply_to_message_id"] is None


async def test_copy_errors(sandbox: Sandbox, chats: tuple[int, int]) -> None:
    sent = await sandbox.send(CUSTOMER, "hello")
    assert await copy_error(sandbox, 999) == (400, "Bad Request: message to copy not found")
    assert await sandbox.error("copyMessage", chat_id=REP, from_chat_id=CUSTOMER) == (
        400,
        "Bad Request: message to copy not found",
    )
    assert await sandbox.error(
        "copyMessage", chat_id=REP, from_chat_id=777, message_id=sent["message_id"]
    ) == (400, "Bad Request: chat not found")
    assert await sandbox.error("copyMessage", chat_id=REP, message_id=sent["message_id"]) == (
        400,
        'Bad Request: parameter "from_chat_id" is required',
    )
    assert await sandbox.error(
        "copyMessage", chat_id=555, from_chat_id=CUSTOMER, message_id=sent["message_id"]
    ) == (400, "Bad Request: chat not found")

    # A message the customer deleted can no longer be copied.
    await sandbox.ok("deleteMessage", chat_id=CUSTOMER, message_id=sent["message_id"])
    assert await copy_error(sandbox, sent["message_id"]) == (
        400,
        "Bad Request: message to copy not found",
    )

    # A service message (a pin) cannot be copied.
    kept = await sandbox.send(CUSTOMER, "keep")
    pin = await sandbox.post("pin", {"user_id": CUSTOMER, "message_id": kept["message_id"]})
    assert await copy_error(sandbox, pin["message_id"]) == (
        400,
        "Bad Request: message can't be copied",
    )

    # A rep who blocked the bot gets nothing; copying *from* a blocked chat still works.
    await sandbox.post("block", {"user_id": REP})
    assert await copy_error(sandbox, kept["message_id"]) == (
        403,
        "Forbidden: bot was blocked by the user",
    )
    await sandbox.post("block", {"user_id": CUSTOMER})
    await sandbox.post("unblock", {"user_id": REP})
    assert (await copy(sandbox, kept["message_id"]))["message_id"] > 0


async def test_copy_counts_as_a_sent_message(sandbox: Sandbox, chats: tuple[int, int]) -> None:
    sent = await sandbox.send(CUSTOMER, "hi")
    await sandbox.post("strict", {"enabled": True, "chat_per_second": 1})
    await copy(sandbox, sent["message_id"])
    assert (await copy_error(sandbox, sent["message_id"]))[0] == 429
    stats = await sandbox.get("stats")
    assert stats["requests_by_method"]["copyMessage"] == 2


async def test_copy_messages(sandbox: Sandbox, chats: tuple[int, int]) -> None:
    ids = await customer_sends_every_kind(sandbox)
    kept = await sandbox.send(CUSTOMER, "keep")
    pin = await sandbox.post("pin", {"user_id": CUSTOMER, "message_id": kept["message_id"]})
    wanted = [ids["text"], ids["photo"], 900, pin["message_id"]]
    result = await sandbox.ok(
        "copyMessages",
        chat_id=REP,
        from_chat_id=CUSTOMER,
        message_ids=sorted(wanted),
        remove_caption=True,
    )
    assert len(result) == 2, "the missing message and the pin are skipped"
    first, second = [await rep_view(sandbox, r["message_id"]) for r in result]
    assert (first["kind"], first["text"]) == ("text", "2 cakes of aged pu'er, please")
    assert (second["kind"], second["text"]) == ("photo", None)
    assert await sandbox.error(
        "copyMessages", chat_id=REP, from_chat_id=CUSTOMER, message_ids=[900, 901]
    ) == (400, "Bad Request: messages can't be forwarded")
    assert await sandbox.error(
        "copyMessages",
        chat_id=REP,
        from_chat_id=CUSTOMER,
        message_ids=[ids["photo"], ids["text"]],
    ) == (400, "Bad Request: message identifiers must be in a strictly increasing order")
    assert await sandbox.error("copyMessages", chat_id=REP, from_chat_id=CUSTOMER) == (
        400,
        "Bad Request: message identifiers are not specified",
    )
    form_status, form_body = await sandbox.form(
        "copyMessages", chat_id=str(REP), from_chat_id=str(CUSTOMER), message_ids=[ids["text"]]
    )
    assert form_status == 200, form_body
    assert len(form_body["result"]) == 1
