"""Sending, editing and deleting text messages; keyboards and callback queries."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import BOT_ID, Sandbox, keyboard

CHAT = 42


@pytest.fixture
async def chat(sandbox: Sandbox) -> int:
    await sandbox.post("users", {"id": CHAT, "first_name": "Ann", "last_name": "Lee"})
    return CHAT


async def send(sandbox: Sandbox, text: str, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = await sandbox.ok("sendMessage", chat_id=CHAT, text=text, **params)
    return result


async def test_send_html_message(sandbox: Sandbox, chat: int) -> None:
    message = await send(
        sandbox,
        '<b>Hi</b> <a href="https://example.com">site</a> &amp; <code>x&lt;y</code>',
        parse_mode="HTML",
    )
    assert message["text"] == "Hi site & x<y"
    assert message["entities"] == [
        {"offset": 0, "length": 2, "type": "bold"},
        {"offset": 3, "length": 4, "type": "text_link", "url": "https://example.com/"},
        {"offset": 10, "length": 3, "type": "code"},
    ]
    assert message["from"] == {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": "SCRM Sandbox",
        "username": "ScrmSandboxBot",
    }
    assert message["chat"] == {
        "id": CHAT,
        "first_name": "Ann",
        "last_name": "Lee",
        "type": "private",
    }
    assert "reply_markup" not in message


async def test_entity_offsets_count_utf16_units(sandbox: Sandbox, chat: int) -> None:
    message = await send(sandbox, "😀 <b>你好</b> 👍🏽<i>ok</i>", parse_mode="HTML")
    assert message["text"] == "😀 你好 👍🏽ok"
    assert message["entities"] == [
        {"offset": 3, "length": 2, "type": "bold"},
        {"offset": 10, "length": 2, "type": "italic"},
    ]


async def test_invalid_html_is_rejected_like_telegram(sandbox: Sandbox, chat: int) -> None:
    cases = {
        "<x>hi</x>": 'Unsupported start tag "x" at byte offset 0',
        "<b>hi": 'Can\'t find end tag corresponding to start tag "b"',
        "<b>hi</i>": 'Unmatched end tag at byte offset 5, expected "</b>", found "</i>"',
        "a < b": 'Unsupported start tag "" at byte offset 2',
        "é<br>": 'Unsupported start tag "br" at byte offset 2',
        "hi</b>": "Unexpected end tag at byte offset 2",
        '<span class="x">s</span>': 'Tag "span" must have class "tg-spoiler" at byte offset 0',
    }
    for text, reason in cases.items():
        assert await sandbox.error("sendMessage", chat_id=chat, text=text, parse_mode="HTML") == (
            400,
            f"Bad Request: can't parse entities: {reason}",
        ), text
    assert await sandbox.error("sendMessage", chat_id=chat, text="x", parse_mode="BBCode") == (
        400,
        "Bad Request: unsupported parse_mode",
    )


async def test_text_length_is_checked_after_parsing(sandbox: Sandbox, chat: int) -> None:
    await send(sandbox, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert await sandbox.error("sendMessage", chat_id=chat, text="a" * 4097) == (
        400,
        "Bad Request: message is too long",
    )
    assert await sandbox.error(
        "sendMessage", chat_id=chat, text="<b> </b>", parse_mode="HTML"
    ) == (
        400,
        "Bad Request: message text is empty",
    )


async def test_explicit_entities_and_detected_ones(sandbox: Sandbox, chat: int) -> None:
    message = await send(
        sandbox,
        "  bold and /help  ",
        entities=[{"type": "bold", "offset": 2, "length": 4}],
    )
    assert message["text"] == "bold and /help"
    assert message["entities"] == [
        {"offset": 0, "length": 4, "type": "bold"},
        {"offset": 9, "length": 5, "type": "bot_command"},
    ]


async def test_markdown_v2(sandbox: Sandbox, chat: int) -> None:
    message = await send(
        sandbox, r"*bold* _it_ \. [link](https://t.me/x)", parse_mode="MarkdownV2"
    )
    assert message["text"] == "bold it . link"
    assert [e["type"] for e in message["entities"]] == ["bold", "italic", "text_link"]
    assert await sandbox.error(
        "sendMessage", chat_id=chat, text="end.", parse_mode="MarkdownV2"
    ) == (
        400,
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped "
        "with the preceding '\\'",
    )


async def test_inline_keyboard_is_echoed(sandbox: Sandbox, chat: int) -> None:
    markup = {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "y"}, {"text": "Site", "url": "https://a.b/c"}]
        ]
    }
    message = await send(sandbox, "pick", reply_markup=markup)
    assert message["reply_markup"] == markup
    status, body = await sandbox.form(
        "sendMessage", chat_id=str(chat), text="form", reply_markup=markup
    )
    assert body["result"]["reply_markup"] == markup
    reply_keyboard = {"keyboard": [["a", {"text": "b"}]], "resize_keyboard": True}
    assert "reply_markup" not in await send(sandbox, "kb", reply_markup=reply_keyboard)
    assert "reply_markup" not in await send(sandbox, "rm", reply_markup={"remove_keyboard": True})


@pytest.mark.parametrize(
    ("button", "description"),
    [
        ({"text": "x", "callback_data": "d" * 65}, "Bad Request: BUTTON_DATA_INVALID"),
        ({"text": "x", "callback_data": ""}, "Bad Request: BUTTON_DATA_INVALID"),
        ({"text": "x", "callback_data": "é" * 33}, "Bad Request: BUTTON_DATA_INVALID"),
        ({"text": "x", "url": "not a url"}, "Bad Request: BUTTON_URL_INVALID"),
        (
            {"text": "x"},
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in "
            "the inline keyboard",
        ),
        (
            {"callback_data": "x"},
            'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type '
            "String",
        ),
        (
            {"text": "x", "callback_data": "a", "url": "https://a.b"},
            "Bad Request: can't parse inline keyboard button: exactly one of the optional "
            "fields must be used",
        ),
    ],
)
async def test_invalid_inline_buttons(
    sandbox: Sandbox, chat: int, button: dict[str, Any], description: str
) -> None:
    markup = {"inline_keyboard": [[button]]}
    assert await sandbox.error("sendMessage", chat_id=chat, text="x", reply_markup=markup) == (
        400,
        description,
    )
    assert await sandbox.messages(chat) == []


async def test_callback_data_of_64_bytes_is_fine(sandbox: Sandbox, chat: int) -> None:
    await send(sandbox, "ok", reply_markup=keyboard([("x", "d" * 64)]))


async def test_message_ids_are_shared_within_a_chat(sandbox: Sandbox, chat: int) -> None:
    first = await sandbox.send(chat, "hello")
    reply = await send(sandbox, "hi back", reply_parameters={"message_id": first["message_id"]})
    assert reply["message_id"] == first["message_id"] + 1
    assert reply["reply_to_message"]["text"] == "hello"
    assert (await sandbox.send(chat, "again"))["message_id"] == reply["message_id"] + 1
    assert await sandbox.error(
        "sendMessage", chat_id=chat, text="x", reply_parameters={"message_id": 999}
    ) == (400, "Bad Request: message to be replied not found")


async def test_edit_message_text(sandbox: Sandbox, chat: int) -> None:
    sent = await send(sandbox, "<b>v1</b>", parse_mode="HTML", reply_markup=keyboard([("a", "a")]))
    edited = await sandbox.ok(
        "editMessageText",
        chat_id=chat,
        message_id=sent["message_id"],
        text="<i>v2</i>",
        parse_mode="HTML",
        reply_markup=keyboard([("b", "b")]),
    )
    assert edited["text"] == "v2"
    assert edited["entities"] == [{"offset": 0, "length": 2, "type": "italic"}]
    assert edited["reply_markup"] == keyboard([("b", "b")])
    assert isinstance(edited["edit_date"], int)
    assert await sandbox.error(
        "editMessageText",
        chat_id=chat,
        message_id=sent["message_id"],
        text="<i>v2</i>",
        parse_mode="HTML",
        reply_markup=keyboard([("b", "b")]),
    ) == (
        400,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )
    # Without reply_markup the keyboard goes away, which is a change.
    plain = await sandbox.ok(
        "editMessageText", chat_id=chat, message_id=sent["message_id"], text="v2", parse_mode=""
    )
    assert "reply_markup" not in plain
    [view] = await sandbox.messages(chat)
    assert view["edited"] is True
    assert view["text"] == "v2"


async def test_edit_errors(sandbox: Sandbox, chat: int) -> None:
    user_message = await sandbox.send(chat, "mine")
    assert await sandbox.error("editMessageText", chat_id=chat, message_id=99, text="x") == (
        400,
        "Bad Request: message to edit not found",
    )
    assert await sandbox.error(
        "editMessageText", chat_id=chat, message_id=user_message["message_id"], text="x"
    ) == (400, "Bad Request: message can't be edited")


async def test_edit_reply_markup(sandbox: Sandbox, chat: int) -> None:
    sent = await send(sandbox, "menu", reply_markup=keyboard([("a", "a")]))
    edited = await sandbox.ok(
        "editMessageReplyMarkup", chat_id=chat, message_id=sent["message_id"]
    )
    assert "reply_markup" not in edited
    assert await sandbox.error(
        "editMessageReplyMarkup", chat_id=chat, message_id=sent["message_id"]
    ) == (
        400,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )


async def test_delete_message(sandbox: Sandbox, chat: int) -> None:
    sent = await send(sandbox, "bye")
    assert await sandbox.ok("deleteMessage", chat_id=chat, message_id=sent["message_id"]) is True
    assert await sandbox.error("deleteMessage", chat_id=chat, message_id=sent["message_id"]) == (
        400,
        "Bad Request: message to delete not found",
    )
    assert await sandbox.error(
        "editMessageText", chat_id=chat, message_id=sent["message_id"], text="x"
    ) == (400, "Bad Request: message to edit not found")
    [view] = await sandbox.messages(chat)
    assert view["deleted"] is True
    assert await sandbox.messages(chat, deleted=0) == []


async def test_callback_press_and_answer_once(sandbox: Sandbox, chat: int) -> None:
    sent = await send(sandbox, "menu", reply_markup=keyboard([("A", "pick:a"), ("B", "pick:b")]))
    await sandbox.updates(offset=-1)
    pressed = await sandbox.post(
        "callback", {"user_id": chat, "message_id": sent["message_id"], "data": "pick:b"}
    )
    [update] = await sandbox.updates(offset=pressed["update_id"])
    query = update["callback_query"]
    assert query["id"] == pressed["callback_query_id"]
    assert query["data"] == "pick:b"
    assert query["from"]["id"] == chat
    assert query["message"]["message_id"] == sent["message_id"]
    assert query["message"]["reply_markup"] == sent["reply_markup"]
    assert isinstance(query["chat_instance"], str)
    answer = await sandbox.get(f"callbacks/{query['id']}")
    assert answer["answered"] is False
    assert await sandbox.ok("answerCallbackQuery", callback_query_id=query["id"], text="Done")
    answer = await sandbox.get(f"callbacks/{query['id']}")
    assert answer["answered"] is True
    assert answer["answer"]["text"] == "Done"
    assert answer["answer"]["show_alert"] is False
    too_old = (
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    assert await sandbox.error("answerCallbackQuery", callback_query_id=query["id"]) == too_old
    assert await sandbox.error("answerCallbackQuery", callback_query_id="123") == too_old


async def test_only_existing_buttons_can_be_pressed(sandbox: Sandbox, chat: int) -> None:
    sent = await send(sandbox, "menu", reply_markup=keyboard([("A", "a")]))
    body = {"user_id": chat, "message_id": sent["message_id"], "data": "forged"}
    assert "error" in await sandbox.post("callback", body, status=400)
    assert "error" in await sandbox.post("callback", {**body, "message_id": 99}, status=404)
    user_message = await sandbox.send(chat, "no buttons")
    await sandbox.post(
        "callback", {**body, "message_id": user_message["message_id"], "data": "a"}, status=400
    )
    forced = await sandbox.post("callback", {**body, "force": True})
    updates = await sandbox.updates()
    assert updates[-1]["callback_query"]["data"] == "forged"
    assert updates[-1]["callback_query"]["id"] == forced["callback_query_id"]


async def test_send_chat_action(sandbox: Sandbox, chat: int) -> None:
    assert await sandbox.ok("sendChatAction", chat_id=chat, action="typing") is True
    assert await sandbox.error("sendChatAction", chat_id=chat, action="dancing") == (
        400,
        "Bad Request: wrong parameter action in request",
    )


async def test_blocked_user(sandbox: Sandbox, chat: int) -> None:
    blocked = await sandbox.post("block", {"user_id": chat})
    unblocked_again = await sandbox.post("block", {"user_id": chat})
    assert unblocked_again["update_id"] is None
    forbidden = (403, "Forbidden: bot was blocked by the user")
    assert await sandbox.error("sendMessage", chat_id=chat, text="hello?") == forbidden
    assert await sandbox.error("sendChatAction", chat_id=chat, action="typing") == forbidden
    await sandbox.post("send", {"user_id": chat, "text": "hi"}, status=409)
    unblocked = await sandbox.post("unblock", {"user_id": chat})
    updates = await sandbox.updates()
    assert [u["update_id"] for u in updates] == [blocked["update_id"], unblocked["update_id"]]
    kicked = updates[0]["my_chat_member"]
    assert kicked["chat"]["id"] == chat
    assert kicked["from"]["id"] == chat
    assert kicked["old_chat_member"] == {
        "user": {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "SCRM Sandbox",
            "username": "ScrmSandboxBot",
        },
        "status": "member",
    }
    assert kicked["new_chat_member"]["status"] == "kicked"
    assert kicked["new_chat_member"]["until_date"] == 0
    assert updates[1]["my_chat_member"]["new_chat_member"]["status"] == "member"
    await send(sandbox, "welcome back")
