"""Translation of Telegram update JSON into Incoming values, as both frameworks hand it over."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import aiogram.types
import pytest
import telegram

from bot.messaging import Contact, FileRef, Incoming, Kind, Location, User
from bot.telegram import _convert
from bot.telegram import aiogram as aiogram_adapter
from bot.telegram import ptb as ptb_adapter
from bot.telegram._convert import RawUpdates
from bot.telegram._ptb_convert import UpdatesRequest

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
# The id of the user's message in ``_message``: Incoming.own_message_id.
OWN = 11


def _message(update_id: int, **content: Any) -> dict[str, Any]:
    message = {"message_id": OWN, "from": ANN, "chat": PRIVATE, "date": DATE, **content}
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
    """PTB's update dumped back to JSON (an update whose JSON was not kept)."""
    update = telegram.Update.de_json(data, telegram.Bot("123456:TEST-token"))
    assert update is not None
    return ptb_adapter.to_incoming(update)


def _aiogram(data: dict[str, Any]) -> Incoming | None:
    """aiogram's update dumped back to JSON (an update whose JSON was not kept)."""
    return aiogram_adapter.to_incoming(aiogram.types.Update.model_validate(data))


def _kept(data: dict[str, Any]) -> Incoming | None:
    """The JSON as Telegram sent it, kept while PTB decoded it (polling and webhook)."""
    raw = RawUpdates()
    raw.keep_answer({"ok": True, "result": [data]})
    update = telegram.Update.de_json(data, telegram.Bot("123456:TEST-token"))
    incoming = ptb_adapter.to_incoming(update, raw)
    assert raw.take(data["update_id"]) is None, "the kept JSON is handed over once"
    return incoming


@pytest.fixture(params=["ptb", "aiogram", "json"])
def convert(request: pytest.FixtureRequest) -> Convert:
    return {"ptb": _ptb, "aiogram": _aiogram, "json": _kept}[request.param]


def test_text(convert: Convert) -> None:
    incoming = convert(_message(1001, text="hello there"))
    assert incoming == Incoming(
        1001, Kind.TEXT, 42, ANN_USER, text="hello there", own_message_id=OWN
    )
    assert incoming.message_id is None, "message_id names a pressed button's message only"
    assert incoming.caption is None


def test_command_with_args(convert: Convert) -> None:
    data = _message(
        1002,
        text="/start inv_abc",
        entities=[{"offset": 0, "length": 6, "type": "bot_command"}],
    )
    incoming = convert(data)
    assert incoming == Incoming(
        1002,
        Kind.COMMAND,
        42,
        ANN_USER,
        text="/start inv_abc",
        command="start",
        args="inv_abc",
        own_message_id=OWN,
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
        own_message_id=OWN,
        caption="import these",
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
    assert incoming == Incoming(
        1009,
        Kind.STICKER,
        42,
        ANN_USER,
        file=FileRef("CAACAgIAAxkBAAIBZ2", None, None, 23000),
        own_message_id=OWN,
    )


def test_location(convert: Convert) -> None:
    incoming = convert(_message(1010, location={"latitude": 1.3521, "longitude": 103.8198}))
    assert incoming == Incoming(
        1010,
        Kind.LOCATION,
        42,
        ANN_USER,
        own_message_id=OWN,
        location=Location(1.3521, 103.8198),
    )


def _file(file_id: str, **fields: Any) -> dict[str, Any]:
    return {"file_id": file_id, "file_unique_id": f"u-{file_id}", **fields}


# Each media kind as Telegram sends it, and the Incoming it becomes (a caption of "hear").
MEDIA_CASES = [
    (
        {"voice": _file("AwAC-v", duration=7, mime_type="audio/ogg", file_size=9000)},
        Kind.VOICE,
        FileRef("AwAC-v", None, "audio/ogg", 9000, 7),
    ),
    (
        {
            "video": _file(
                "BAAC-v",
                width=1280,
                height=720,
                duration=12,
                file_name="shop.mp4",
                mime_type="video/mp4",
                file_size=800000,
                thumbnail=_file("AAMC-t", width=320, height=180, file_size=9000),
            )
        },
        Kind.VIDEO,
        FileRef("BAAC-v", "shop.mp4", "video/mp4", 800000, 12),
    ),
    (
        {"video_note": _file("DQAC-n", length=384, duration=5, file_size=300000)},
        Kind.VIDEO_NOTE,
        FileRef("DQAC-n", None, None, 300000, 5),
    ),
    (
        {
            "audio": _file(
                "CQAC-a",
                duration=200,
                performer="Li",
                title="Tea song",
                file_name="tea.mp3",
                mime_type="audio/mpeg",
                file_size=3000000,
            )
        },
        Kind.AUDIO,
        FileRef("CQAC-a", "tea.mp3", "audio/mpeg", 3000000, 200),
    ),
    (
        # An animation comes with a document field too: it is an animation.
        {
            "animation": _file(
                "CgAC-g",
                width=320,
                height=240,
                duration=3,
                file_name="lol.mp4",
                mime_type="video/mp4",
                file_size=50000,
            ),
            "document": _file(
                "CgAC-g", file_name="lol.mp4", mime_type="video/mp4", file_size=50000
            ),
        },
        Kind.ANIMATION,
        FileRef("CgAC-g", "lol.mp4", "video/mp4", 50000, 3),
    ),
]


@pytest.mark.parametrize(("content", "kind", "file"), MEDIA_CASES, ids=lambda c: str(c)[:12])
def test_media_kinds(convert: Convert, content: dict[str, Any], kind: Kind, file: FileRef) -> None:
    caption = {} if kind is Kind.VIDEO_NOTE else {"caption": "hear"}
    incoming = convert(_message(1030, **content, **caption))
    text = "" if kind is Kind.VIDEO_NOTE else "hear"
    assert incoming == Incoming(
        1030,
        kind,
        42,
        ANN_USER,
        text=text,
        file=file,
        own_message_id=OWN,
        caption=text or None,
    )


def test_contact(convert: Convert) -> None:
    contact = {
        "phone_number": "+8613800138000",
        "first_name": "Ann",
        "last_name": "Lee",
        "user_id": 42,
        "vcard": "BEGIN:VCARD\nEND:VCARD",
    }
    incoming = convert(_message(1031, contact=contact))
    assert incoming == Incoming(
        1031,
        Kind.CONTACT,
        42,
        ANN_USER,
        own_message_id=OWN,
        contact=Contact("+8613800138000", "Ann", "Lee", 42, "BEGIN:VCARD\nEND:VCARD"),
    )
    bare = convert(_message(1032, contact={"phone_number": "+1555", "first_name": "Bo"}))
    assert bare is not None
    assert bare.contact == Contact("+1555", "Bo")


def test_venue_is_its_location(convert: Convert) -> None:
    point = {"latitude": 31.2304, "longitude": 121.4737}
    venue = {"location": point, "title": "Wang's Tea House", "address": "1 Nanjing Rd"}
    incoming = convert(_message(1033, venue=venue, location=point))
    assert incoming is not None
    assert (incoming.kind, incoming.location) == (Kind.LOCATION, Location(31.2304, 121.4737))


def test_dice_and_pin_are_other(convert: Convert) -> None:
    dice = {"emoji": "\U0001f3b2", "value": 4}
    incoming = convert(_message(1034, dice=dice))
    assert incoming == Incoming(1034, Kind.OTHER, 42, ANN_USER, own_message_id=OWN)
    pinned = {"message_id": 3, "from": ANN, "chat": PRIVATE, "date": DATE, "text": "hi"}
    incoming = convert(_message(1035, pinned_message=pinned))
    assert incoming == Incoming(1035, Kind.OTHER, 42, ANN_USER, own_message_id=OWN)


def test_reply_to_a_message(convert: Convert) -> None:
    replied = {
        "message_id": 7,
        "from": BOT,
        "chat": PRIVATE,
        "date": DATE,
        "voice": _file("AwAC-r", duration=4),
        "caption": "Ann Lee #12",
        "reply_markup": {"inline_keyboard": [[{"text": "Card", "callback_data": "c:12"}]]},
    }
    incoming = convert(_message(1036, text="yes, we have it", reply_to_message=replied))
    assert incoming == Incoming(
        1036,
        Kind.TEXT,
        42,
        ANN_USER,
        text="yes, we have it",
        own_message_id=OWN,
        reply_to_message_id=7,
    )
    photo = [{"file_id": "p-9", "file_unique_id": "u-9", "width": 9, "height": 9}]
    incoming = convert(_message(1037, photo=photo, reply_to_message=replied))
    assert incoming is not None
    assert (incoming.kind, incoming.reply_to_message_id) == (Kind.PHOTO, 7)
    command = convert(
        _message(
            1038,
            text="/card",
            entities=[{"offset": 0, "length": 5, "type": "bot_command"}],
            reply_to_message=replied,
        )
    )
    assert command is not None
    assert (command.kind, command.reply_to_message_id) == (Kind.COMMAND, 7)


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


def test_command_after_wide_characters_is_cut_in_utf16_units(convert: Convert) -> None:
    # "/добавить" is 9 UTF-16 units; an emoji in the bot name takes two.
    text = "/\u0434\u043e\u0431\u0430\u0432\u0438\u0442\u044c@\U0001f600Bot Ann Lee"
    data = _message(1014, text=text, entities=[{"offset": 0, "length": 15, "type": "bot_command"}])
    incoming = convert(data)
    assert incoming is not None
    assert (incoming.command, incoming.args) == (
        "\u0434\u043e\u0431\u0430\u0432\u0438\u0442\u044c",
        "Ann Lee",
    )


def test_user_with_first_name_only(convert: Convert) -> None:
    data = _message(1015, text="hi")
    data["message"]["from"] = {"id": 42, "is_bot": False, "first_name": "Ann"}
    incoming = convert(data)
    assert incoming is not None
    assert incoming.user == User(id=42, first_name="Ann")


def test_document_without_name_or_type_and_photo_caption(convert: Convert) -> None:
    document = {"file_id": "BQ-bare", "file_unique_id": "u-bare"}
    incoming = convert(_message(1016, document=document))
    assert incoming == Incoming(
        1016,
        Kind.DOCUMENT,
        42,
        ANN_USER,
        text="",
        file=FileRef("BQ-bare", None, None, None),
        own_message_id=OWN,
    )
    size = {"file_id": "p-1", "file_unique_id": "u-1", "width": 10, "height": 10}
    incoming = convert(_message(1017, photo=[size], caption="receipt"))
    assert incoming == Incoming(
        1017,
        Kind.PHOTO,
        42,
        ANN_USER,
        text="receipt",
        file=FileRef("p-1", None, "image/jpeg"),
        own_message_id=OWN,
        caption="receipt",
    )


def test_callback_from_a_group_or_without_a_message_is_ignored(convert: Convert) -> None:
    query: dict[str, Any] = {
        "id": "q1",
        "from": ANN,
        "chat_instance": "-51",
        "inline_message_id": "AgAAA",
        "data": "x:1",
    }
    assert convert({"update_id": 1018, "callback_query": query}) is None
    group = {"id": -100123, "title": "Team", "type": "supergroup"}
    message = {"message_id": 3, "from": BOT, "chat": group, "date": DATE, "text": "Pick"}
    assert convert({"update_id": 1019, "callback_query": {**query, "message": message}}) is None


def test_leaving_without_blocking_is_ignored(convert: Convert) -> None:
    assert convert(_member_change(1020, "member", "left")) is None


def test_raw_updates_keep_only_getupdates_answers() -> None:
    raw = RawUpdates()
    update = _message(1021, text="hi")
    for other in [
        {"ok": True, "result": {"message_id": 1}},
        {"ok": True, "result": []},
        {"ok": True, "result": [{"command": "start"}]},
        {"ok": False, "error_code": 409},
        [update],
    ]:
        raw.keep_answer(other)
    assert raw.take(1021) is None
    assert raw.loads(json.dumps({"ok": True, "result": [update]})) == {
        "ok": True,
        "result": [update],
    }
    assert raw.take(1021) == update
    assert raw.take(1021) is None


def test_raw_updates_stay_bounded() -> None:
    raw = RawUpdates()
    for n in range(_convert.MAX_KEPT + 5):
        raw.keep({"update_id": n})
    assert raw.take(0) is None
    assert raw.take(_convert.MAX_KEPT + 4) == {"update_id": _convert.MAX_KEPT + 4}


def test_ptb_updates_request_keeps_the_json_it_decodes() -> None:
    raw = RawUpdates()
    request = UpdatesRequest(raw)
    update = _message(1022, text="hi")
    body = json.dumps({"ok": True, "result": [update]}).encode()
    assert request.parse_json_payload(body) == {"ok": True, "result": [update]}
    assert raw.take(1022) == update


def test_decoding_leaves_the_json_unchanged() -> None:
    data = _message(
        1023, text="/start", entities=[{"offset": 0, "length": 6, "type": "bot_command"}]
    )
    before = copy.deepcopy(data)
    telegram.Update.de_json(data, telegram.Bot("123456:TEST-token"))
    aiogram.types.Update.model_validate(data)
    assert data == before
