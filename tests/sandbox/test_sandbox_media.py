"""Voice, audio, video, video notes, animations, stickers, locations, contacts and replies.

Users send them through the control API and the bot gets updates shaped as
Telegram documents its Message object; the bot sends them with the Bot API's
send methods, by file_id or uploaded.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from .helpers import BOT_ID, Sandbox, keyboard, make_png

ANN = 42
OGG = b"OggS\x00\x02" + bytes(40)


@pytest.fixture
async def chat(sandbox: Sandbox) -> int:
    await sandbox.post("users", {"id": ANN, "first_name": "Ann"})
    return ANN


async def last_message(sandbox: Sandbox) -> dict[str, Any]:
    updates = await sandbox.updates()
    message: dict[str, Any] = updates[-1]["message"]
    return message


def file_fields(obj: dict[str, Any]) -> None:
    assert obj["file_id"]
    assert obj["file_unique_id"]
    assert isinstance(obj["file_size"], int)


async def test_voice_update_is_shaped_as_telegram_sends_it(sandbox: Sandbox, chat: int) -> None:
    sent = await sandbox.post(
        "voice", {"user_id": chat, "duration": 7, "caption": "call me https://example.com"}
    )
    message = await last_message(sandbox)
    voice = message["voice"]
    assert voice["file_id"] == sent["file_id"]
    assert voice["file_id"].startswith("AwAC")
    assert (voice["duration"], voice["mime_type"]) == (7, "audio/ogg")
    file_fields(voice)
    assert message["caption"] == "call me https://example.com"
    assert message["caption_entities"] == [{"offset": 8, "length": 19, "type": "url"}]
    assert "text" not in message
    assert message["message_id"] == sent["message_id"]
    assert message["from"]["id"] == chat
    assert message["chat"] == {"id": chat, "first_name": "Ann", "type": "private"}
    file = await sandbox.ok("getFile", file_id=voice["file_id"])
    assert file["file_path"].startswith("voice/")


async def test_audio_video_and_video_note_updates(sandbox: Sandbox, chat: int) -> None:
    await sandbox.post(
        "audio",
        {"user_id": chat, "duration": 200, "title": "Tea song", "performer": "Li", "caption": "♪"},
    )
    audio_message = await last_message(sandbox)
    audio = audio_message["audio"]
    assert (audio["duration"], audio["title"], audio["performer"]) == (200, "Tea song", "Li")
    assert audio["mime_type"] == "audio/mpeg"
    assert audio["file_id"].startswith("CQAC")
    assert audio_message["caption"] == "♪"

    await sandbox.post("video", {"user_id": chat, "duration": 12, "width": 1280, "height": 720})
    video = (await last_message(sandbox))["video"]
    assert (video["duration"], video["width"], video["height"]) == (12, 1280, 720)
    assert video["mime_type"] == "video/mp4"
    assert video["file_id"].startswith("BAAC")
    file_fields(video)

    # A video note has no caption: one given is not kept.
    await sandbox.post("video_note", {"user_id": chat, "duration": 5, "caption": "ignored"})
    note_message = await last_message(sandbox)
    note = note_message["video_note"]
    assert (note["duration"], note["length"]) == (5, 384)
    assert note["file_id"].startswith("DQAC")
    assert "caption" not in note_message
    assert "mime_type" not in note


async def test_animation_message_also_has_a_document(sandbox: Sandbox, chat: int) -> None:
    content = base64.b64encode(b"GIF89a" + bytes(20)).decode()
    sent = await sandbox.post(
        "animation",
        {"user_id": chat, "file_name": "lol.gif", "content_base64": content, "caption": "haha"},
    )
    message = await last_message(sandbox)
    animation, document = message["animation"], message["document"]
    assert animation["file_id"] == document["file_id"] == sent["file_id"]
    assert animation["file_name"] == document["file_name"] == "lol.gif"
    assert animation["mime_type"] == document["mime_type"] == "image/gif"
    assert {"duration", "width", "height"} <= animation.keys()
    assert "duration" not in document
    assert message["caption"] == "haha"
    [view] = await sandbox.messages(chat)
    assert view["kind"] == "animation"
    assert view["animation"]["url"].endswith(".gif")


async def test_uploaded_voice_is_downloadable(sandbox: Sandbox, chat: int) -> None:
    status, sent = await sandbox.upload(
        "/_emulator/voice",
        {"user_id": str(chat), "file": ("note.ogg", OGG), "duration": "3"},
    )
    assert status == 200, sent
    message = await last_message(sandbox)
    assert message["voice"]["duration"] == 3
    assert message["voice"]["file_size"] == len(OGG)
    file = await sandbox.ok("getFile", file_id=sent["file_id"])
    async with sandbox.client.get(f"/file/bot{sandbox.token}/{file['file_path']}") as resp:
        assert resp.status == 200
        assert await resp.read() == OGG
    await sandbox.post("voice", {"user_id": chat, "duration": -1}, status=400)
    await sandbox.post("voice", {"user_id": chat, "content_base64": "!!"}, status=400)


async def test_contact_and_location_updates(sandbox: Sandbox, chat: int) -> None:
    await sandbox.post(
        "contact",
        {
            "user_id": chat,
            "phone_number": "+8613800138000",
            "first_name": "Ann",
            "last_name": "Lee",
            "contact_user_id": chat,
        },
    )
    contact = (await last_message(sandbox))["contact"]
    assert contact == {
        "phone_number": "+8613800138000",
        "first_name": "Ann",
        "last_name": "Lee",
        "user_id": chat,
    }
    await sandbox.post("contact", {"user_id": chat, "phone_number": "+1"}, status=400)
    await sandbox.post("location", {"user_id": chat, "latitude": 31.23, "longitude": 121.47})
    assert (await last_message(sandbox))["location"] == {"latitude": 31.23, "longitude": 121.47}
    kinds = [m["kind"] for m in await sandbox.messages(chat)]
    assert kinds == ["contact", "location"]


async def test_reply_carries_the_whole_replied_message(sandbox: Sandbox, chat: int) -> None:
    first = await sandbox.send(chat, "first")
    question = await sandbox.ok(
        "sendMessage",
        chat_id=chat,
        text="<b>Which?</b>",
        parse_mode="HTML",
        reply_parameters={"message_id": first["message_id"]},
        reply_markup=keyboard([("A", "a")]),
    )
    await sandbox.updates()
    await sandbox.send(chat, "this one", reply_to_message_id=question["message_id"])
    message = await last_message(sandbox)
    replied = message["reply_to_message"]
    assert replied["message_id"] == question["message_id"]
    assert replied["from"]["id"] == BOT_ID
    assert replied["text"] == "Which?"
    assert replied["entities"] == [{"offset": 0, "length": 6, "type": "bold"}]
    assert replied["reply_markup"] == keyboard([("A", "a")])
    assert "reply_to_message" not in replied, "no reply of the reply"

    # Every kind of message can reply; a reply to a message that is gone is refused.
    for path, extra in (
        ("voice", {}),
        ("video_note", {}),
        ("sticker", {}),
        ("contact", {"phone_number": "+1", "first_name": "Bo"}),
        ("location", {"latitude": 1, "longitude": 2}),
    ):
        body = {"user_id": chat, "reply_to_message_id": question["message_id"], **extra}
        await sandbox.post(path, body)
        assert (await last_message(sandbox))["reply_to_message"]["text"] == "Which?"
        await sandbox.post(path, {**body, "reply_to_message_id": 999}, status=404)
    status, _ = await sandbox.upload(
        "/_emulator/photo",
        {
            "user_id": str(chat),
            "file": ("p.png", make_png(4, 4)),
            "reply_to_message_id": str(question["message_id"]),
        },
    )
    assert status == 200
    photo_message = await last_message(sandbox)
    assert photo_message["reply_to_message"]["message_id"] == question["message_id"]
    views = await sandbox.messages(chat, from_bot=0)
    assert views[-1]["reply_to_message_id"] == question["message_id"]


async def test_pin_is_a_service_message(sandbox: Sandbox, chat: int) -> None:
    first = await sandbox.send(chat, "remember this")
    await sandbox.post("pin", {"user_id": chat, "message_id": first["message_id"]})
    message = await last_message(sandbox)
    assert message["pinned_message"]["text"] == "remember this"
    assert message["pinned_message"]["message_id"] == first["message_id"]
    assert "text" not in message
    view = (await sandbox.messages(chat))[-1]
    assert (view["kind"], view["pinned_message_id"]) == ("service", first["message_id"])
    await sandbox.post("pin", {"user_id": chat, "message_id": 77}, status=404)


async def test_bot_sends_each_kind_by_file_id(sandbox: Sandbox, chat: int) -> None:
    ids = {}
    for kind in ("voice", "audio", "video", "video_note", "animation", "sticker"):
        ids[kind] = (await sandbox.post(kind, {"user_id": chat}))["file_id"]
    methods = {
        "voice": "sendVoice",
        "audio": "sendAudio",
        "video": "sendVideo",
        "video_note": "sendVideoNote",
        "animation": "sendAnimation",
        "sticker": "sendSticker",
    }
    for kind, method in methods.items():
        message = await sandbox.ok(
            method,
            chat_id=chat,
            **{kind: ids[kind]},
            caption="<i>from the shop</i>",
            parse_mode="HTML",
            reply_markup=keyboard([("OK", "ok")]),
        )
        assert message["from"]["id"] == BOT_ID
        assert message[kind]["file_id"] == ids[kind]
        assert message["reply_markup"] == keyboard([("OK", "ok")])
        if kind in ("video_note", "sticker"):
            assert "caption" not in message
        else:
            assert message["caption"] == "from the shop"
            assert message["caption_entities"] == [{"offset": 0, "length": 13, "type": "italic"}]
    sticker = (await sandbox.messages(chat, from_bot=1))[-1]["sticker"]
    assert sticker["emoji"] == "\U0001f44d"
    assert await sandbox.error("sendVoice", chat_id=chat, voice=ids["video"]) == (
        400,
        "Bad Request: can't use file of type Video as VoiceNote",
    )
    assert await sandbox.error("sendVideo", chat_id=chat) == (
        400,
        "Bad Request: there is no video in the request",
    )
    assert await sandbox.error("sendVideoNote", chat_id=chat, video_note="nope") == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )


async def test_bot_uploads_voice_and_video(sandbox: Sandbox, chat: int) -> None:
    status, body = await sandbox.upload(
        f"/bot{sandbox.token}/sendVoice",
        {"chat_id": str(chat), "voice": ("hello.ogg", OGG), "duration": "4"},
    )
    assert status == 200, body
    voice = body["result"]["voice"]
    assert (voice["duration"], voice["mime_type"]) == (4, "audio/ogg")
    status, body = await sandbox.upload(
        f"/bot{sandbox.token}/sendVideo",
        {"chat_id": str(chat), "video": ("clip.mp4", b"\x00\x00\x00\x18ftypmp42")},
    )
    assert status == 200, body
    assert body["result"]["video"]["file_name"] == "clip.mp4"
    views = await sandbox.messages(chat)
    assert [v["kind"] for v in views] == ["voice", "video"]
    assert views[0]["voice"]["url"].startswith(sandbox.url)


async def test_bot_sends_location_and_contact(sandbox: Sandbox, chat: int) -> None:
    location = await sandbox.ok("sendLocation", chat_id=chat, latitude=31.2, longitude="121.5")
    assert location["location"] == {"latitude": 31.2, "longitude": 121.5}
    contact = await sandbox.ok(
        "sendContact", chat_id=chat, phone_number="+86 21 5555", first_name="Shop"
    )
    assert contact["contact"] == {"phone_number": "+86 21 5555", "first_name": "Shop"}
    assert await sandbox.error("sendLocation", chat_id=chat, longitude=1) == (
        400,
        "Bad Request: latitude is empty",
    )
    assert await sandbox.error("sendContact", chat_id=chat, phone_number="+1") == (
        400,
        'Bad Request: parameter "first_name" is required',
    )
    await sandbox.post("block", {"user_id": chat})
    assert await sandbox.error("sendLocation", chat_id=chat, latitude=1, longitude=1) == (
        403,
        "Forbidden: bot was blocked by the user",
    )
