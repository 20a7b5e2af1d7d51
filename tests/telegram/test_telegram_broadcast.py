"""The lean broadcast sender of both adapters: what it sends and how it reads answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.errors import BadRequest, Blocked, DeliveryError, RetryAfter, TransientError
from bot.messaging import Broadcaster, Button, CanBroadcast, Messenger, SentMessage
from bot.telegram._lean import BroadcastSender
from tests.telegram.helpers import Emulator, free_port

USER = 5001


@pytest.fixture
async def broadcaster(messenger: Messenger) -> AsyncIterator[Broadcaster]:
    """Open each adapter's broadcaster against the emulator and close it afterwards."""
    assert isinstance(messenger, CanBroadcast)
    sender = messenger.open_broadcast(4)
    try:
        yield sender
    finally:
        await sender.aclose()


@pytest.fixture
async def chat(emulator: Emulator) -> int:
    """Open a private chat: the user writes to the bot first."""
    await emulator.send(USER, "/start")
    return USER


async def test_broadcast_sends_html_with_buttons_and_paid_flag(
    broadcaster: Broadcaster, emulator: Emulator, chat: int
) -> None:
    keyboard = ((Button("Stop these messages", "uo:1"),), (Button("Shop", url="https://x.test/"),))
    sent = await broadcaster.send_text(chat, "Hi <b>Ann</b> 🎉", keyboard, paid_broadcast=True)
    again = await broadcaster.send_text(chat, "Second on the same connection")
    stored = [m for m in await emulator.messages(chat) if m["from_bot"]]
    assert sent.chat_id == chat and again.message_id > sent.message_id
    assert stored[0]["text"] == "Hi Ann 🎉"
    assert stored[0]["entities"][0]["type"] == "bold"
    rows = stored[0]["reply_markup"]["inline_keyboard"]
    assert rows[0][0] == {"text": "Stop these messages", "callback_data": "uo:1"}
    assert rows[1][0]["url"] == "https://x.test/"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"error_code": 429, "retry_after": 2}, RetryAfter),
        ({"error_code": 403}, Blocked),
        ({"error_code": 400}, BadRequest),
        ({"error_code": 500}, TransientError),
    ],
)
async def test_broadcast_errors_are_mapped(
    broadcaster: Broadcaster,
    emulator: Emulator,
    chat: int,
    fault: dict[str, Any],
    error: type[DeliveryError],
) -> None:
    await emulator.fault("sendMessage", times=1, **fault)
    with pytest.raises(error) as caught:
        await broadcaster.send_text(chat, "hi")
    assert caught.value.__cause__ is not None
    if isinstance(caught.value, RetryAfter):
        assert caught.value.retry_after == 2.0
    await broadcaster.send_text(chat, "hi again")


async def test_broadcast_to_an_unknown_chat_is_a_bad_request(broadcaster: Broadcaster) -> None:
    with pytest.raises(BadRequest, match="chat not found"):
        await broadcaster.send_text(999_999, "hello?")


async def test_unreachable_server_is_transient() -> None:
    url = f"http://127.0.0.1:{free_port()}/botX/sendMessage"
    sender = BroadcastSender(url, limit=2, timeout=5)
    try:
        with pytest.raises(TransientError):
            await sender.send_text(USER, "hi")
    finally:
        await sender.aclose()


Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(reply: Reply) -> tuple[asyncio.Server, str, list[int]]:
    """Serve ``reply`` once per request; return the server, its URL and connections seen."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections))
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                await reply(reader, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", connections


OK = json.dumps({"ok": True, "result": {"message_id": 7, "chat": {"id": 5}}}).encode()


async def _send_through(reply: Reply, *, limit: int = 1, times: int = 1) -> list[int]:
    """Send ``times`` texts to a server answering with ``reply``; return its connections."""
    server, url, connections = await _serve(reply)
    sender = BroadcastSender(f"{url}/botX/sendMessage", limit=limit, timeout=5)
    try:
        for _ in range(times):
            assert await sender.send_text(5, "hi") == SentMessage(5, 7)
    finally:
        await sender.aclose()
        server.close()
        await server.wait_closed()
    return connections


async def test_chunked_answers_and_keep_alive() -> None:
    async def chunked(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        half = len(OK) // 2
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"%x\r\n%s\r\n" % (half, OK[:half]))
        await writer.drain()
        writer.write(b"%x;ext=1\r\n%s\r\n0\r\n\r\n" % (len(OK) - half, OK[half:]))
        await writer.drain()

    assert len(await _send_through(chunked, times=3)) == 1


async def test_connection_close_opens_a_new_connection() -> None:
    async def closing(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(OK)
        )
        writer.write(OK)
        await writer.drain()
        writer.close()

    assert len(await _send_through(closing, limit=2, times=2)) == 2


async def test_an_answer_in_another_key_order_is_read_in_full() -> None:
    async def reordered(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = json.dumps({"result": {"chat": {"id": 5}, "message_id": 7}, "ok": True}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()

    await _send_through(reordered)


async def _refused(reply: Reply) -> TransientError:
    server, url, _ = await _serve(reply)
    sender = BroadcastSender(f"{url}/botX/sendMessage", limit=1, timeout=5)
    try:
        with pytest.raises(TransientError) as caught:
            await sender.send_text(USER, "hi")
    finally:
        await sender.aclose()
        server.close()
        await server.wait_closed()
    return caught.value


async def test_an_answer_cut_short_is_transient() -> None:
    async def cut(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ok":')
        await writer.drain()
        writer.close()

    await _refused(cut)


async def test_garbled_answers_are_transient() -> None:
    async def garbled(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\n<html")
        await writer.drain()

    await _refused(garbled)


async def test_a_malformed_length_is_transient() -> None:
    async def malformed(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n{}")
        await writer.drain()

    await _refused(malformed)


async def test_a_closed_broadcaster_refuses_to_send() -> None:
    sender = BroadcastSender("http://127.0.0.1:9/botX/sendMessage", limit=1, timeout=5)
    await sender.aclose()
    with pytest.raises(TransientError):
        await sender.send_text(USER, "hi")
