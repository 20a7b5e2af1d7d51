"""Real python-telegram-bot and aiogram clients parse every answer of the emulator."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest
import telegram
from aiogram import Bot as AiogramBot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BotCommand as AioBotCommand
from aiogram.types import BotCommandScopeChat as AioScopeChat
from aiogram.types import BufferedInputFile
from aiogram.types import InlineKeyboardButton as AioButton
from aiogram.types import InlineKeyboardMarkup as AioMarkup
from telegram import error as tg_error
from telegram.warnings import PTBDeprecationWarning

from .helpers import BOT_ID, TOKEN, Sandbox, make_png

CHAT = 4242


@pytest.fixture
async def chat(sandbox: Sandbox) -> int:
    await sandbox.post("users", {"id": CHAT, "first_name": "Ann", "username": "ann"})
    return CHAT


async def test_python_telegram_bot(sandbox: Sandbox, chat: int) -> None:
    url = sandbox.url
    async with telegram.Bot(TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot") as bot:
        me = await bot.get_me()
        assert (me.id, me.is_bot, me.username) == (BOT_ID, True, "ScrmSandboxBot")

        await sandbox.send(chat, "/start hello")
        [update] = await bot.get_updates(
            timeout=1, allowed_updates=["message", "callback_query", "my_chat_member"]
        )
        assert update.message is not None
        assert update.message.text == "/start hello"
        assert update.message.entities[0].type == telegram.constants.MessageEntityType.BOT_COMMAND
        assert update.message.from_user is not None
        assert update.message.from_user.username == "ann"

        markup = telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("Pick", callback_data="pick:1")]]
        )
        sent = await bot.send_message(chat, "<b>Hi</b> 😀", parse_mode="HTML", reply_markup=markup)
        assert sent.text == "Hi 😀"
        assert sent.entities[0].type == telegram.constants.MessageEntityType.BOLD
        assert sent.parse_entity(sent.entities[0]) == "Hi"
        assert sent.reply_markup == markup
        assert sent.chat.type == telegram.constants.ChatType.PRIVATE

        edited = await bot.edit_message_text(
            "v2", chat_id=chat, message_id=sent.message_id, reply_markup=markup
        )
        assert isinstance(edited, telegram.Message)
        assert edited.text == "v2"
        assert edited.edit_date is not None
        with pytest.raises(tg_error.BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text(
                "v2", chat_id=chat, message_id=sent.message_id, reply_markup=markup
            )

        pressed = await sandbox.post(
            "callback", {"user_id": chat, "message_id": sent.message_id, "data": "pick:1"}
        )
        updates = await bot.get_updates(offset=update.update_id + 1, timeout=1)
        query = updates[-1].callback_query
        assert query is not None
        assert query.id == pressed["callback_query_id"]
        assert query.data == "pick:1"
        assert isinstance(query.message, telegram.Message)
        assert await bot.answer_callback_query(query.id, text="ok") is True

        document = await bot.send_document(
            chat, telegram.InputFile(b"a,b\n1,2\n", filename="data.csv"), caption="csv"
        )
        assert document.document is not None
        assert document.document.file_name == "data.csv"
        file = await bot.get_file(document.document.file_id)
        assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"

        photo = await bot.send_photo(chat, make_png(64, 32), filename="p.png")
        assert photo.photo[-1].width == 64

        scope = telegram.BotCommandScopeChat(chat)
        commands = [telegram.BotCommand("start", "Start"), telegram.BotCommand("help", "Help")]
        assert await bot.set_my_commands(commands, scope=scope, language_code="en") is True
        assert await bot.get_my_commands(scope=scope, language_code="en") == tuple(commands)
        assert await bot.delete_my_commands(scope=scope, language_code="en") is True

        assert await bot.send_chat_action(chat, telegram.constants.ChatAction.TYPING) is True
        assert await bot.delete_message(chat, sent.message_id) is True

        info = await bot.get_webhook_info()
        assert info.url == ""

        await sandbox.post("block", {"user_id": chat})
        updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
        member = updates[-1].my_chat_member
        assert member is not None
        assert member.new_chat_member.status == telegram.constants.ChatMemberStatus.BANNED
        with pytest.raises(tg_error.Forbidden, match="blocked by the user"):
            await bot.send_message(chat, "still there?")
        await sandbox.post("unblock", {"user_id": chat})

        await sandbox.post("faults", {"method": "sendMessage", "error_code": 429})
        with warnings.catch_warnings():
            # PTB 22 warns that RetryAfter.retry_after will become a timedelta.
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            with pytest.raises(tg_error.RetryAfter) as caught:
                await bot.send_message(chat, "flood")
            retry_after = caught.value.retry_after
        # PTB gives a timedelta when PTB_TIMEDELTA is set, else seconds.
        seconds = (
            retry_after.total_seconds()
            if isinstance(retry_after, dt.timedelta)
            else float(retry_after)
        )
        assert seconds == 1


async def test_aiogram(sandbox: Sandbox, chat: int) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url))
    bot = AiogramBot(TOKEN, session=session)
    try:
        me = await bot.get_me()
        assert (me.id, me.username) == (BOT_ID, "ScrmSandboxBot")

        await sandbox.send(chat, "hello")
        [update] = await bot.get_updates(timeout=1)
        assert update.message is not None
        assert update.message.text == "hello"

        markup = AioMarkup(inline_keyboard=[[AioButton(text="Go", callback_data="go")]])
        sent = await bot.send_message(
            chat, "<i>Hi</i> 中文", parse_mode="HTML", reply_markup=markup
        )
        assert sent.text == "Hi 中文"
        assert sent.entities is not None
        assert sent.entities[0].type == "italic"
        assert sent.reply_markup is not None
        assert sent.reply_markup.model_dump() == markup.model_dump()

        edited = await bot.edit_message_text(
            text="v2", chat_id=chat, message_id=sent.message_id, reply_markup=markup
        )
        assert not isinstance(edited, bool)
        assert edited.text == "v2"
        with pytest.raises(TelegramBadRequest, match="message to edit not found"):
            await bot.edit_message_text(text="x", chat_id=chat, message_id=9999)

        pressed = await sandbox.post(
            "callback", {"user_id": chat, "message_id": sent.message_id, "data": "go"}
        )
        updates = await bot.get_updates(offset=update.update_id + 1, timeout=1)
        query = updates[-1].callback_query
        assert query is not None
        assert query.id == pressed["callback_query_id"]
        assert await bot.answer_callback_query(query.id) is True

        document = await bot.send_document(
            chat, BufferedInputFile(b"report body", filename="report.txt"), caption="r"
        )
        assert document.document is not None
        assert document.document.mime_type == "text/plain"
        file = await bot.get_file(document.document.file_id)
        assert file.file_path is not None
        stream = await bot.download_file(file.file_path)
        assert stream is not None
        assert stream.read() == b"report body"

        photo = await bot.send_photo(chat, BufferedInputFile(make_png(8, 8), filename="p.png"))
        assert photo.photo is not None
        assert photo.photo[-1].width == 8

        scope = AioScopeChat(chat_id=chat)
        commands = [AioBotCommand(command="start", description="Start")]
        assert await bot.set_my_commands(commands, scope=scope) is True
        stored = await bot.get_my_commands(scope=scope)
        assert [c.model_dump() for c in stored] == [c.model_dump() for c in commands]

        await sandbox.post("block", {"user_id": chat})
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(chat, "hello?")
        await sandbox.post("unblock", {"user_id": chat})

        await sandbox.post(
            "faults", {"method": "sendMessage", "error_code": 429, "retry_after": 3}
        )
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(chat, "flood")
        assert caught.value.retry_after == 3
    finally:
        await bot.session.close()


async def _user_sends_every_kind(sandbox: Sandbox, chat: int) -> int:
    """Make the user send one message of each kind, the last a reply; return the first id."""
    first = await sandbox.send(chat, "text")
    for kind, body in (
        ("voice", {"duration": 3, "caption": "listen"}),
        ("audio", {"title": "Song", "performer": "Li"}),
        ("video", {"width": 320, "height": 240}),
        ("video_note", {}),
        ("animation", {}),
        ("sticker", {}),
        ("location", {"latitude": 1.5, "longitude": 2.5}),
        ("contact", {"phone_number": "+1555", "first_name": "Bo", "contact_user_id": chat}),
        ("pin", {"message_id": first["message_id"]}),
    ):
        await sandbox.post(kind, {"user_id": chat, **body})
    await sandbox.send(chat, "re", reply_to_message_id=first["message_id"])
    message_id: int = first["message_id"]
    return message_id


async def test_python_telegram_bot_reads_every_kind_and_copies(
    sandbox: Sandbox, chat: int
) -> None:
    other = 4343
    await sandbox.post("users", {"id": other, "first_name": "Li"})
    first_id = await _user_sends_every_kind(sandbox, chat)
    url = sandbox.url
    async with telegram.Bot(TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot") as bot:
        updates = await bot.get_updates(timeout=0)
        messages = [u.message for u in updates]
        assert all(m is not None for m in messages)
        text, voice, audio, video, note, gif, sticker, location, contact, pin, reply = [
            m for m in messages if m is not None
        ]
        assert text.text == "text"
        assert voice.voice is not None
        assert voice.caption == "listen"  # (durations warn in PTB 22 unless PTB_TIMEDELTA)
        assert audio.audio is not None
        assert (audio.audio.title, audio.audio.performer) == ("Song", "Li")
        assert video.video is not None
        assert (video.video.width, video.video.height) == (320, 240)
        assert note.video_note is not None
        assert note.video_note.length == 384
        assert gif.animation is not None
        assert gif.document is not None
        assert gif.animation.file_id == gif.document.file_id
        assert sticker.sticker is not None
        assert sticker.sticker.emoji
        assert location.location is not None
        assert location.location.latitude == 1.5
        assert contact.contact is not None
        assert (contact.contact.phone_number, contact.contact.user_id) == ("+1555", chat)
        assert isinstance(pin.pinned_message, telegram.Message)
        assert reply.reply_to_message is not None
        assert reply.reply_to_message.message_id == first_id

        copied = await bot.copy_message(
            other,
            chat,
            voice.message_id,
            caption="<b>Ann</b>",
            parse_mode="HTML",
            reply_markup=telegram.InlineKeyboardMarkup(
                [[telegram.InlineKeyboardButton("Card", callback_data="card")]]
            ),
        )
        assert isinstance(copied, telegram.MessageId)
        with pytest.raises(tg_error.BadRequest, match="(?i)message can't be copied"):
            await bot.copy_message(other, chat, pin.message_id)
        with pytest.raises(tg_error.BadRequest, match="(?i)message to copy not found"):
            await bot.copy_message(other, chat, 9999)
        ids = await bot.copy_messages(other, chat, [text.message_id, voice.message_id])
        assert [type(i) for i in ids] == [telegram.MessageId, telegram.MessageId]

        sent_voice = await bot.send_voice(other, voice.voice.file_id, caption="again")
        assert sent_voice.voice is not None
        sent_note = await bot.send_video_note(other, note.video_note.file_id)
        assert sent_note.video_note is not None
        sent_gif = await bot.send_animation(other, gif.animation.file_id)
        assert sent_gif.animation is not None
        sent_sticker = await bot.send_sticker(other, sticker.sticker.file_id)
        assert sent_sticker.sticker is not None
        sent_video = await bot.send_video(other, video.video.file_id)
        assert sent_video.video is not None
        sent_audio = await bot.send_audio(other, audio.audio.file_id)
        assert sent_audio.audio is not None
        sent_location = await bot.send_location(other, latitude=3.0, longitude=4.0)
        assert sent_location.location is not None
        sent_contact = await bot.send_contact(other, phone_number="+1", first_name="Shop")
        assert sent_contact.contact is not None
        await sandbox.post("block", {"user_id": other})
        with pytest.raises(tg_error.Forbidden, match="blocked by the user"):
            await bot.copy_message(other, chat, text.message_id)


async def test_aiogram_reads_every_kind_and_copies(sandbox: Sandbox, chat: int) -> None:
    other = 4343
    await sandbox.post("users", {"id": other, "first_name": "Li"})
    first_id = await _user_sends_every_kind(sandbox, chat)
    session = AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url))
    bot = AiogramBot(TOKEN, session=session)
    try:
        updates = await bot.get_updates(timeout=0)
        messages = [u.message for u in updates if u.message is not None]
        text, voice, audio, video, note, gif, sticker, location, contact, pin, reply = messages
        assert voice.voice is not None
        assert voice.voice.duration == 3
        assert audio.audio is not None
        assert audio.audio.title == "Song"
        assert video.video is not None
        assert video.video.width == 320
        assert note.video_note is not None
        assert gif.animation is not None
        assert gif.document is not None
        assert sticker.sticker is not None
        assert location.location is not None
        assert contact.contact is not None
        assert contact.contact.user_id == chat
        assert pin.pinned_message is not None
        assert reply.reply_to_message is not None
        assert reply.reply_to_message.message_id == first_id

        copied = await bot.copy_message(
            chat_id=other,
            from_chat_id=chat,
            message_id=voice.message_id,
            caption="<b>Ann</b>",
            parse_mode="HTML",
            reply_markup=AioMarkup(inline_keyboard=[[AioButton(text="Card", callback_data="c")]]),
        )
        assert copied.message_id > 0
        with pytest.raises(TelegramBadRequest, match="(?i)message can't be copied"):
            await bot.copy_message(chat_id=other, from_chat_id=chat, message_id=pin.message_id)
        ids = await bot.copy_messages(
            chat_id=other, from_chat_id=chat, message_ids=[text.message_id, gif.message_id]
        )
        assert len(ids) == 2
        sent_voice = await bot.send_voice(other, voice.voice.file_id)
        assert sent_voice.voice is not None
        sent_note = await bot.send_video_note(other, note.video_note.file_id)
        assert sent_note.video_note is not None
        sent_gif = await bot.send_animation(other, gif.animation.file_id)
        assert sent_gif.animation is not None
        sent_sticker = await bot.send_sticker(other, sticker.sticker.file_id)
        assert sent_sticker.sticker is not None
        sent_contact = await bot.send_contact(other, phone_number="+1", first_name="Shop")
        assert sent_contact.contact is not None
        assert text.text == "text"
    finally:
        await bot.session.close()
