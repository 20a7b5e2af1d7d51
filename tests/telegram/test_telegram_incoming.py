"""Translation of Telegram update JSON into Incoming values, for both frameworks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiogram.types
import pytest
import telegram

from bot.messaging import FileRef, Incoming, Kind, User
from bot.telegram import aiogram as aiogram_adapter
from bot.telegram import ptb as ptb_adapter

Convert = Callable[[dict[str, Any]], Incoming | None]

ANN = {
    "id": 42,
    "is_bot": False,
    "first_name": "Ann",
    "last_name": "Lee",
    "username": "annlee",
    "language_code": "en",
}
BOT = {"id": 777, "is_bot": True, "first_name": "SCRM", "username": "ScrmSandboxBot"}
PRIVATE = {
    "id": 42,
    "first_name": "Ann",
    "last_name": "Lee",
    "username": "annlee",
    "type": "private",
}
ANN_USER = User(id=42, first_name="Ann", last_name="Lee", username="annlee", language_code="en")
DATE = 1732350000


def _message(update_id: int, **content: Any) -> dict[str, Any]:
    message = {"message_id": 11, "from": ANN, "chat": PRIVATE, "date": DATE, **content}
    return {"update_id": update_id, "message": message}


def _member(status: str) -> dict[str, Any]:
    # Telegram always sends until_date for "kicked" (0 means forever).
    return {"user": BOT, "status": status, **({"until_date": 0} if status == "kicked" else {})}


def _member_change(update_id: int, old: str, new: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": PRIVATE,
            "from": ANN,
            "date": DATE,
            "old_chat_member": _member(old),
            "new_chat_member": _member(new),
        },
    }


def _ptb(data: dict[str, Any]) -> Incoming | None:
    update = telegram.Update.de_json(data, telegram.Bot("123456:TEST-token"))
    assert update is not None
    return ptb_adapter.to_incoming(update)


def _aiogram(data: dict[str, Any]) -> Incoming | None:
    return aiogram_adapter.to_incoming(aiogram.types.Update.model_validate(data))


@pytest.fixture(params=["ptb", "aiogram"])
def convert(request: pytest.FixtureRequest) -> Convert:
    return _ptb if request.param == "ptb" else _aiogram


def test_text(convert: Convert) -> None:
    incoming = convert(_message(1001, text="hello there"))
    assert incoming == Incoming(1001, Kind.TEXT, 42, ANN_USER, text="hello there")


def test_command_with_args(convert: Convert) -> None:
    data = _message(
        1002,
        text="/start inv_abc",
        entities=[{"offset": 0, "length": 6, "type": "bot_command"}],
    )
    incoming = convert(data)
    assert incoming == Incoming(
        1002, Kind.COMMAND, 42, ANN_USER, text="/start inv_abc", command="start", args="inv_abc"
    )


def test_command_with_bot_suffix(convert: Convert) -> None:
    data = _message(
        1003,
        text="/Help@ScrmSandboxBot",
        entities=[{"offset": 0, "length": 20, "type": "bot_command"}],
    )
    incoming = convert(data)
    assert incoming is not None
    assert (incoming.kind, incoming.command, incoming.args) == (Kind.COMMAND, "help", "")


def test_command_args_after_emoji_are_kept(convert: Convert) -> None:
    data = _message(
        1004,
        text="/note  \U0001f44b call back  ",
        entities=[{"offset": 0, "length": 5, "type": "bot_command"}],
    )
    incoming = convert(data)
    assert incoming is not None
    assert (incoming.command, incoming.args) == ("note", "\U0001f44b call back")


def test_command_not_at_start_is_text(convert: Convert) -> None:
    data = _message(
        1005, text="see /help", entities=[{"offset": 4, "length": 5, "type": "bot_command"}]
    )
    incoming = convert(data)
    assert incoming is not None
    assert (incoming.kind, incoming.command, incoming.text) == (Kind.TEXT, None, "see /help")


def test_callback(convert: Convert) -> None:
    data = {
        "update_id": 1006,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": ANN,
            "message": {
                "message_id": 12,
                "from": BOT,
                "chat": PRIVATE,
                "date": DATE,
                "text": "Pick one",
                "reply_markup": {
                    "inline_keyboard": [[{"text": "Ann", "callback_data": "contact:7"}]]
                },
            },
            "chat_instance": "-5123456789012345678",
            "data": "contact:7",
        },
    }
    incoming = convert(data)
    assert incoming == Incoming(
        1006,
        Kind.CALLBACK,
        42,
        ANN_USER,
        data="contact:7",
        callback_id="4382bfdwdsb323b2d9",
        message_id=12,
    )


def test_document(convert: Convert) -> None:
    document = {
        "file_name": "contacts.csv",
        "mime_type": "text/csv",
        "file_id": "BQACAgIAAxkBAAIBY2d",
        "file_unique_id": "AgADBAADr",
        "file_size": 1234,
    }
    incoming = convert(_message(1007, document=document, caption="import these"))
    assert incoming == Incoming(
        1007,
        Kind.DOCUMENT,
        42,
        ANN_USER,
        text="import these",
        file=FileRef("BQACAgIAAxkBAAIBY2d", "contacts.csv", "text/csv", 1234),
    )


def test_photo_takes_largest_size(convert: Convert) -> None:
    def size(file_id: str, file_size: int, width: int, height: int) -> dict[str, Any]:
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": file_size,
            "width": width,
            "height": height,
        }

    # Deliberately not in Telegram's ascending order.
    sizes = [
        size("p-s", 1200, 90, 67),
        size("p-l", 88000, 1280, 960),
        size("p-m", 15000, 320, 240),
    ]
    incoming = convert(_message(1008, photo=sizes))
    assert incoming is not None
    assert incoming.kind is Kind.PHOTO
    assert incoming.file is not None
    assert (incoming.file.file_id, incoming.file.file_size) == ("p-l", 88000)


def test_sticker(convert: Convert) -> None:
    sticker = {
        "width": 512,
        "height": 512,
        "emoji": "\U0001f600",
        "set_name": "HappyFaces",
        "is_animated": False,
        "is_video": False,
        "type": "regular",
        "file_id": "CAACAgIAAxkBAAIBZ2",
        "file_unique_id": "AgADxQ",
        "file_size": 23000,
    }
    incoming = convert(_message(1009, sticker=sticker))
    assert incoming == Incoming(1009, Kind.STICKER, 42, ANN_USER)


def test_location_is_other(convert: Convert) -> None:
    incoming = convert(_message(1010, location={"latitude": 1.3521, "longitude": 103.8198}))
    assert incoming == Incoming(1010, Kind.OTHER, 42, ANN_USER)


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [("member", "kicked", Kind.BLOCKED), ("kicked", "member", Kind.UNBLOCKED)],
)
def test_block_and_unblock(convert: Convert, old: str, new: str, kind: Kind) -> None:
    incoming = convert(_member_change(1011, old, new))
    assert incoming == Incoming(1011, kind, 42, ANN_USER)


def test_group_message_is_ignored(convert: Convert) -> None:
    data = {
        "update_id": 1012,
        "message": {
            "message_id": 5,
            "from": ANN,
            "chat": {"id": -1001234567890, "title": "Shop team", "type": "supergroup"},
            "date": DATE,
            "text": "/start",
            "entities": [{"offset": 0, "length": 6, "type": "bot_command"}],
        },
    }
    assert convert(data) is None


def test_edited_message_is_ignored(convert: Convert) -> None:
    data = {"update_id": 1013, "edited_message": _message(0, text="x", edit_date=DATE)["message"]}
    assert convert(data) is None
