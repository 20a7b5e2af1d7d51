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
