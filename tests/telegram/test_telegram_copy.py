"""Both Messengers' copy_message and replies against the Bot API emulator.

The emulator copies as Telegram documents copyMessage; these tests check what the
adapters ask of it and how its answers and errors come back.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import BadRequest, Blocked, DeliveryError, RetryAfter, TransientError
from bot.messaging import Button, Messenger
from tests.telegram.helpers import Emulator

CUSTOMER = 5101
REP = 5102
BUTTONS = [[Button("↩️ Reply", data="r:1"), Button("📇 Card", data="c:1")]]
MARKUP = {
    "inline_keyboard": [
        [{"text": "↩️ Reply", "callback_data": "r:1"}, {"text": "📇 Card", "callback_data": "c:1"}]
    ]
}


@pytest.fixture
async def people(emulator: Emulator) -> tuple[int, int]:
    """A customer and a rep, each with a chat with the bot."""
    await emulator.control("users", id=CUSTOMER, first_name="Zhao")
    await emulator.control("users", id=REP, first_name="Li")
    return CUSTOMER, REP


async def _message(emulator: Emulator, chat_id: int, message_id: int) -> dict[str, Any]:
    found = [m for m in await emulator.messages(chat_id) if m["message_id"] == message_id]
    assert found, (chat_id, message_id)
    return found[0]


async def test_copy_each_kind_with_a_new_caption_and_buttons(
    messenger: Messenger, emulator: Emulator, people: tuple[int, int]
) -> None:
    sent = {
        "text": await emulator.control("send", user_id=CUSTOMER, text="2 cakes, please"),
        "voice": await emulator.control("voice", user_id=CUSTOMER, duration=4, caption="hi"),
        "video": await emulator.control("video", user_id=CUSTOMER),
        "video_note": await emulator.control("video_note", user_id=CUSTOMER),
        "audio": await emulator.control("audio", user_id=CUSTOMER),
        "animation": await emulator.control("animation", user_id=CUSTOMER),
        "sticker": await emulator.control("sticker", user_id=CUSTOMER),
        "location": await emulator.control(
            "location", user_id=CUSTOMER, latitude=31.2, longitude=121.5
        ),
        "contact": await emulator.control(
            "contact", user_id=CUSTOMER, phone_number="+1555", first_name="Zhao"
        ),
    }
    for kind, original in sent.items():
        copied = await messenger.copy_message(
            REP, CUSTOMER, original["message_id"], caption="<b>Zhao</b> #3", buttons=BUTTONS
        )
        assert copied.chat_id == REP
        view = await _message(emulator, REP, copied.message_id)
        assert view["kind"] == kind
        assert view["copy_of"] == {"chat_id": CUSTOMER, "message_id": original["message_id"]}
        assert view["reply_markup"] == MARKUP
        if kind in ("text", "video_note", "sticker", "location", "contact"):
            # Telegram ignores a caption for content that has none.
            assert view["text"] == ("2 cakes, please" if kind == "text" else None)
        else:
            assert view["text"] == "Zhao #3", kind
            assert view["entities"] == [{"offset": 0, "length": 4, "type": "bold"}]


async def test_caption_kept_or_too_long(
    messenger: Messenger, emulator: Emulator, people: tuple[int, int]
) -> None:
    voice = await emulator.control("voice", user_id=CUSTOMER, caption="aged pu'er?")
    kept = await messenger.copy_message(REP, CUSTOMER, voice["message_id"])
    assert (await _message(emulator, REP, kept.message_id))["text"] == "aged pu'er?"
    empty = await messenger.copy_message(REP, CUSTOMER, voice["message_id"], caption="")
    assert (await _message(emulator, REP, empty.message_id))["text"] == "aged pu'er?"
    # A caption over 1,024 characters is cut; the rest follows as a text, the buttons
    # stay on the copy.
    long = "\n".join(f"line {n:04d} " + "x" * 40 for n in range(40))
    copied = await messenger.copy_message(
        REP, CUSTOMER, voice["message_id"], caption=long, buttons=BUTTONS
    )
    messages = await emulator.messages(REP)
    copy_view = await _message(emulator, REP, copied.message_id)
    assert copy_view["kind"] == "voice"
    assert copy_view["reply_markup"] == MARKUP
    assert len(copy_view["text"]) <= 1024
    rest = [m for m in messages if m["message_id"] > copied.message_id]
    assert [m["kind"] for m in rest] == ["text"]
    assert not rest[0]["reply_markup"]
    assert copy_view["text"] + "\n" + rest[0]["text"] == long


async def test_copy_as_a_reply_and_text_replies(
    messenger: Messenger, emulator: Emulator, people: tuple[int, int]
) -> None:
    question = await emulator.control("send", user_id=CUSTOMER, text="do you have aged pu'er?")
    relayed = await messenger.copy_message(REP, CUSTOMER, question["message_id"])
    # The rep answers by replying to the relayed copy; the answer goes back as a reply.
    answer = await emulator.control(
        "send", user_id=REP, text="Yes, 2 cakes", reply_to_message_id=relayed.message_id
    )
    back = await messenger.copy_message(
        CUSTOMER, REP, answer["message_id"], reply_to_message_id=question["message_id"]
    )
    view = await _message(emulator, CUSTOMER, back.message_id)
    assert (view["text"], view["reply_to_message_id"]) == ("Yes, 2 cakes", question["message_id"])

    text = await messenger.send_text(
        CUSTOMER, "<i>Li</i> will answer", reply_to_message_id=question["message_id"]
    )
    view = await _message(emulator, CUSTOMER, text.message_id)
    assert (view["text"], view["reply_to_message_id"]) == (
        "Li will answer",
        question["message_id"],
    )

    # A long text: only its first part is the reply.
    long = "\n".join("y" * 60 for _ in range(80))
    last = await messenger.send_text(CUSTOMER, long, reply_to_message_id=question["message_id"])
    parts = [m for m in await emulator.messages(CUSTOMER) if text.message_id < m["message_id"]]
    assert parts[-1]["message_id"] == last.message_id
    assert len(parts) == 2
    assert [p["reply_to_message_id"] for p in parts] == [question["message_id"], None]

    # A reply to a message that is gone is sent all the same, as no reply.
    await emulator.bot_api("deleteMessage", chat_id=CUSTOMER, message_id=question["message_id"])
    alone = await messenger.send_text(
        CUSTOMER, "still here", reply_to_message_id=question["message_id"]
    )
    assert (await _message(emulator, CUSTOMER, alone.message_id))["reply_to_message_id"] is None
    copy = await messenger.copy_message(
        CUSTOMER, REP, answer["message_id"], reply_to_message_id=question["message_id"]
    )
    assert (await _message(emulator, CUSTOMER, copy.message_id))["reply_to_message_id"] is None


async def test_copy_errors(
    messenger: Messenger, emulator: Emulator, people: tuple[int, int]
) -> None:
    with pytest.raises(BadRequest, match="(?i)message to copy not found"):
        await messenger.copy_message(REP, CUSTOMER, 4242)
    kept = await emulator.control("send", user_id=CUSTOMER, text="keep")
    pin = await emulator.control("pin", user_id=CUSTOMER, message_id=kept["message_id"])
    with pytest.raises(BadRequest, match="(?i)message can't be copied"):
        await messenger.copy_message(REP, CUSTOMER, pin["message_id"])
    await emulator.control("block", user_id=REP)
    with pytest.raises(Blocked) as caught:
        await messenger.copy_message(REP, CUSTOMER, kept["message_id"])
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"error_code": 429, "retry_after": 2}, RetryAfter),
        ({"error_code": 500}, TransientError),
    ],
)
async def test_copy_errors_are_mapped(
    messenger: Messenger,
    emulator: Emulator,
    people: tuple[int, int],
    fault: dict[str, Any],
    error: type[DeliveryError],
) -> None:
    sent = await emulator.control("send", user_id=CUSTOMER, text="hi")
    await emulator.fault("copyMessage", times=1, **fault)
    with pytest.raises(error):
        await messenger.copy_message(REP, CUSTOMER, sent["message_id"])
    await messenger.copy_message(REP, CUSTOMER, sent["message_id"])
