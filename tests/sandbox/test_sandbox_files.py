"""Documents and photos: uploads, file ids, getFile and downloads, in both directions."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from .helpers import Sandbox, make_png

CHAT = 42


@pytest.fixture
async def chat(sandbox: Sandbox) -> int:
    await sandbox.post("users", {"id": CHAT, "first_name": "Ann"})
    return CHAT


async def bot_upload(sandbox: Sandbox, method: str, fields: dict[str, Any]) -> tuple[int, Any]:
    return await sandbox.upload(f"/bot{sandbox.token}/{method}", fields)


async def download(sandbox: Sandbox, file_path: str) -> bytes:
    async with sandbox.client.get(f"/file/bot{sandbox.token}/{file_path}") as resp:
        assert resp.status == 200
        return await resp.read()


async def test_document_upload_get_file_and_download(sandbox: Sandbox, chat: int) -> None:
    content = b"name,phone\nAnn,+100\n"
    status, body = await bot_upload(
        sandbox,
        "sendDocument",
        {
            "chat_id": str(chat),
            "document": ("contacts.csv", content),
            "caption": "<b>Export</b>",
            "parse_mode": "HTML",
        },
    )
    assert status == 200, body
    message = body["result"]
    document = message["document"]
    assert document["file_name"] == "contacts.csv"
    assert document["mime_type"] == "text/csv"
    assert document["file_size"] == len(content)
    assert message["caption"] == "Export"
    assert message["caption_entities"] == [{"offset": 0, "length": 6, "type": "bold"}]
    assert "text" not in message
    file = await sandbox.ok("getFile", file_id=document["file_id"])
    assert file["file_id"] == document["file_id"]
    assert file["file_unique_id"] == document["file_unique_id"]
    assert file["file_size"] == len(content)
    assert file["file_path"].endswith(".csv")
    assert await download(sandbox, file["file_path"]) == content
    [view] = await sandbox.messages(chat)
    assert view["kind"] == "document"
    assert view["text"] == "Export"
    assert view["html"] == "<b>Export</b>"
    assert view["document"]["url"].endswith(file["file_path"])


async def test_document_by_attach_reference_and_by_file_id(sandbox: Sandbox, chat: int) -> None:
    status, body = await bot_upload(
        sandbox,
        "sendDocument",
        {"chat_id": str(chat), "document": "attach://blob", "blob": ("r.pdf", b"%PDF-1.4")},
    )
    assert status == 200, body
    document = body["result"]["document"]
    assert document["mime_type"] == "application/pdf"
    again = await sandbox.ok("sendDocument", chat_id=chat, document=document["file_id"])
    assert again["document"]["file_unique_id"] == document["file_unique_id"]
    assert await sandbox.error("sendDocument", chat_id=chat, document="nope") == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )
    assert await sandbox.error("sendDocument", chat_id=chat) == (
        400,
        "Bad Request: there is no document in the request",
    )


async def test_caption_limit(sandbox: Sandbox, chat: int) -> None:
    status, body = await bot_upload(
        sandbox,
        "sendDocument",
        {"chat_id": str(chat), "document": ("a.txt", b"x"), "caption": "c" * 1025},
    )
    assert (status, body["description"]) == (400, "Bad Request: message caption is too long")


async def test_send_photo_png(sandbox: Sandbox, chat: int) -> None:
    png = make_png(200, 100)
    status, body = await bot_upload(
        sandbox, "sendPhoto", {"chat_id": str(chat), "photo": ("chart.png", png)}
    )
    assert status == 200, body
    sizes = body["result"]["photo"]
    assert (sizes[-1]["width"], sizes[-1]["height"]) == (200, 100)
    assert (sizes[0]["width"], sizes[0]["height"]) == (90, 45)
    file = await sandbox.ok("getFile", file_id=sizes[-1]["file_id"])
    assert await download(sandbox, file["file_path"]) == png
    again = await sandbox.ok("sendPhoto", chat_id=chat, photo=sizes[-1]["file_id"])
    assert again["photo"][-1]["file_unique_id"] == sizes[-1]["file_unique_id"]
    [first, _] = await sandbox.messages(chat)
    assert first["kind"] == "photo"
    assert first["photo"][-1]["url"].startswith(sandbox.url)


async def test_send_photo_rejects_non_images(sandbox: Sandbox, chat: int) -> None:
    status, body = await bot_upload(
        sandbox, "sendPhoto", {"chat_id": str(chat), "photo": ("x.png", b"not an image")}
    )
    assert (status, body["description"]) == (400, "Bad Request: IMAGE_PROCESS_FAILED")
    status, body = await bot_upload(
        sandbox, "sendDocument", {"chat_id": str(chat), "document": ("x.txt", b"t")}
    )
    document_id = body["result"]["document"]["file_id"]
    assert await sandbox.error("sendPhoto", chat_id=chat, photo=document_id) == (
        400,
        "Bad Request: can't use file of type Document as Photo",
    )


async def test_user_sends_document_and_bot_downloads_it(sandbox: Sandbox, chat: int) -> None:
    status, sent = await sandbox.upload(
        "/_emulator/document",
        {"user_id": str(chat), "file": ("leads.xlsx", b"PK\x03\x04data"), "caption": "leads"},
    )
    assert status == 200, sent
    [update] = await sandbox.updates()
    message = update["message"]
    assert message["message_id"] == sent["message_id"]
    assert message["caption"] == "leads"
    document = message["document"]
    assert document["file_id"] == sent["file_id"]
    assert document["file_name"] == "leads.xlsx"
    assert document["mime_type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    file = await sandbox.ok("getFile", file_id=sent["file_id"])
    assert await download(sandbox, file["file_path"]) == b"PK\x03\x04data"


async def test_user_sends_document_as_base64_json(sandbox: Sandbox, chat: int) -> None:
    content = base64.b64encode(b"hello").decode()
    sent = await sandbox.post(
        "document", {"user_id": chat, "file_name": "a.txt", "content_base64": content}
    )
    [update] = await sandbox.updates()
    assert update["message"]["document"]["file_id"] == sent["file_id"]
    assert update["message"]["document"]["mime_type"] == "text/plain"


async def test_user_sends_photo_sticker_and_location(sandbox: Sandbox, chat: int) -> None:
    status, photo = await sandbox.upload(
        "/_emulator/photo", {"user_id": str(chat), "file": ("p.png", make_png(10, 20))}
    )
    assert status == 200, photo
    status, body = await sandbox.upload(
        "/_emulator/photo", {"user_id": str(chat), "file": ("p.png", b"garbage")}
    )
    assert status == 400
    sticker = await sandbox.post("sticker", {"user_id": chat, "emoji": "🔥"})
    await sandbox.post("location", {"user_id": chat, "latitude": 1.5, "longitude": -2})
    await sandbox.post("location", {"user_id": chat, "latitude": 91, "longitude": 0}, status=400)
    updates = await sandbox.updates()
    messages = [u["message"] for u in updates]
    assert messages[0]["photo"][-1]["file_id"] == photo["file_id"]
    assert (messages[0]["photo"][-1]["width"], messages[0]["photo"][-1]["height"]) == (10, 20)
    assert messages[1]["sticker"]["emoji"] == "🔥"
    assert messages[1]["sticker"]["file_id"] == sticker["file_id"]
    assert messages[2]["location"] == {"latitude": 1.5, "longitude": -2.0}
    kinds = [m["kind"] for m in await sandbox.messages(chat)]
    assert kinds == ["photo", "sticker", "location"]


async def test_unknown_download_path(sandbox: Sandbox) -> None:
    async with sandbox.client.get(f"/file/bot{sandbox.token}/documents/nope.txt") as resp:
        assert resp.status == 404
    async with sandbox.client.get("/file/bot1:bad/documents/nope.txt") as resp:
        assert resp.status == 401
    assert await sandbox.error("getFile", file_id="nope") == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )
