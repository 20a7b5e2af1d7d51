"""The webhook endpoint: the secret checked, malformed bodies answered 400, updates fed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import telegram
from aiogram import Bot

from bot.telegram import _aiogram_convert, _ptb_convert
from bot.telegram._webhook import SECRET_HEADER, MalformedUpdate, WebhookServer, parse_update
from tests.telegram.helpers import TOKEN, free_port

pytestmark = pytest.mark.timeout(30)

SECRET = "s3cret"
UPDATE = {
    "update_id": 7,
    "message": {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "Zhao"},
        "text": "hi",
    },
}
MALFORMED = [
    pytest.param(b'{"update_id": 1, "message": {', id="cut-json"),
    pytest.param(b"hello", id="not-json"),
    pytest.param(b"\xff\xfe\x00", id="not-utf8"),
    pytest.param(b"", id="empty"),
    pytest.param(b"[1, 2]", id="array"),
    pytest.param(b'"update"', id="string"),
    pytest.param(b'{"message": {}}', id="no-update-id"),
    pytest.param(b'{"update_id": "7"}', id="text-update-id"),
    pytest.param(b'{"update_id": true}', id="bool-update-id"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_parse_update_refuses_what_is_not_an_update(body: bytes) -> None:
    with pytest.raises(MalformedUpdate):
        parse_update(body)


def test_parse_update_reads_an_update() -> None:
    assert parse_update(b'{"update_id": 7}') == {"update_id": 7}


async def test_frameworks_refuse_an_update_they_cannot_read() -> None:
    broken = {"update_id": 9, "message": {"text": 5}}
    with pytest.raises(MalformedUpdate):
        _ptb_convert.read_update(broken, telegram.Bot(TOKEN))
    bot = Bot(TOKEN)
    try:
        with pytest.raises(MalformedUpdate):
            _aiogram_convert.read_update(broken, bot)
        assert _aiogram_convert.read_update(UPDATE, bot).update_id == 7
    finally:
        await bot.session.close()
    assert _ptb_convert.read_update(UPDATE, telegram.Bot(TOKEN)).update_id == 7


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """Serve a WebhookServer on a free port and collect what it feeds."""
    fed: list[dict[str, Any]] = []

    async def feed(data: dict[str, Any]) -> None:
        _ptb_convert.read_update(data, telegram.Bot(TOKEN))
        fed.append(data)

    port = free_port()
    server = WebhookServer("/hook", SECRET, feed)
    await server.start("127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}/hook", fed
    finally:
        await server.stop()
        await server.stop()


@pytest.mark.parametrize("body", [*MALFORMED, b'{"update_id": 9, "message": {"text": 5}}'])
async def test_server_answers_400_without_a_traceback(
    body: bytes,
    served: tuple[str, list[dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, fed = served
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        response = await client.post(url, content=body, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert response.text.startswith("Bad Request: ")
    assert fed == []
    assert "Webhook request refused" in caplog.text
    assert all(record.exc_info is None for record in caplog.records)


async def test_server_checks_the_secret_and_feeds_updates(
    served: tuple[str, list[dict[str, Any]]],
) -> None:
    url, fed = served
    async with httpx.AsyncClient() as client:
        missing = await client.post(url, json=UPDATE)
        wrong = await client.post(url, json=UPDATE, headers={SECRET_HEADER: "nope"})
        garbage_unauthorised = await client.post(url, content=b"[", headers={SECRET_HEADER: "x"})
        ok = await client.post(url, json=UPDATE, headers={SECRET_HEADER: SECRET})
        get = await client.get(url, headers={SECRET_HEADER: SECRET})
    assert [missing.status_code, wrong.status_code, garbage_unauthorised.status_code] == [401] * 3
    assert ok.status_code == 200
    assert get.status_code == 405
    assert fed == [UPDATE]
