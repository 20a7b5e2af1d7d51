"""A member's answer to a customer: sent after commit, signed, then stored.

``send_reply`` serves both ways of answering: Telegram's own reply to a relayed
message and the one-step dialog the ↩️ Reply button opens.
"""

from __future__ import annotations

import html
from enum import StrEnum

from bot.chat.context import Context, OutLater, Sessions
from bot.chat.engine import DONE, Data, dialog
from bot.crm.inbox import replies
from bot.crm.models import Member, MessageKind
from bot.crm.store import unit_of_work
from bot.errors import Blocked, DeliveryError, InvalidInput
from bot.i18n import N_
from bot.messaging import CAPTION_KINDS, Kind, Messenger, SentMessage


class ReplyStep(StrEnum):
    """The single question of the ↩️ Reply dialog, persisted by value."""

    TEXT = "text"


def message_kind(kind: Kind) -> MessageKind:
    """Return the stored kind of an incoming message's kind (OTHER for the rest)."""
    try:
        return MessageKind(kind.value)
    except ValueError:
        return MessageKind.OTHER


async def send_reply(ctx: Context, *, thread_id: int) -> None:
    """Send the sender's message to the customer of ``thread_id`` after commit, then store it.

    Raises:
        NotFound: when the thread is not one the sender may handle.
        Conflict: when the customer can no longer be reached.
    """
    member, _workspace = ctx.staff()
    target = await replies.reply_target(ctx.session, actor=member, thread_id=thread_id)
    incoming = ctx.incoming
    kind = message_kind(incoming.kind)
    text = incoming.text
    signed = f"— {html.escape(target.signature, quote=False)}" if target.signature else ""
    body = html.escape(text, quote=False)
    sent_note = ctx.t(N_("Sent ✓"))
    blocked_note = ctx.t(
        N_("⚠️ {name} blocked the bot, so the reply was not delivered."),
        name=html.escape(target.customer_name, quote=False),
    )
    failed_note = ctx.t(N_("⚠️ The reply could not be delivered. Try again?"))
    member_id, member_chat = member.id, ctx.chat_id
    file_id = incoming.file.file_id if incoming.file else None
    message_id = incoming.own_message_id
    if kind is not MessageKind.TEXT and message_id is None:
        raise InvalidInput(N_("Please answer with a text message."))

    async def run(messenger: Messenger, sessions: Sessions) -> None:
        try:
            sent = await _deliver(messenger, kind, target.chat_id, body, signed, message_id, ctx)
        except Blocked:
            await messenger.send_text(member_chat, blocked_note)
            return
        except DeliveryError:
            await messenger.send_text(member_chat, failed_note)
            return
        async with unit_of_work(sessions) as session:
            actor = await session.get(Member, member_id)
            assert actor is not None  # noqa: S101 - checked before commit
            await replies.record_outbound(
                session,
                actor=actor,
                thread_id=thread_id,
                kind=kind,
                text=text or None,
                file_id=file_id,
                tg_chat_id=sent.chat_id,
                tg_message_id=sent.message_id,
                now=ctx.now(),
            )
        await messenger.send_text(member_chat, sent_note)

    ctx.outgoing.append(OutLater(run))


async def _deliver(
    messenger: Messenger,
    kind: MessageKind,
    chat_id: int,
    body: str,
    signed: str,
    message_id: int | None,
    ctx: Context,
) -> SentMessage:
    if kind is MessageKind.TEXT:
        text = f"{body}\n\n{signed}" if signed else body
        return await messenger.send_text(chat_id, text)
    assert message_id is not None  # noqa: S101 - checked by send_reply
    caption = None
    if ctx.incoming.kind in CAPTION_KINDS:
        caption = "\n\n".join(part for part in (body, signed) if part) or None
    return await messenger.copy_message(chat_id, ctx.chat_id, message_id, caption=caption)


async def ask_text(ctx: Context, data: Data) -> None:
    """Ask for the answer to send."""
    ctx.reply(
        ctx.t(
            N_("↩️ Send your reply to {name} (or /cancel)."),
            name=html.escape(data["name"], quote=False),
        )
    )


async def receive_text(ctx: Context, data: Data) -> str:
    """Take the typed answer."""
    incoming = ctx.incoming
    if incoming.kind is Kind.COMMAND or (incoming.kind is Kind.TEXT and not incoming.text.strip()):
        raise InvalidInput(N_("Please send your reply as a message."))
    return DONE


async def finish_reply(ctx: Context, data: Data) -> None:
    """Send the answer to the customer."""
    await send_reply(ctx, thread_id=int(data["thread"]))


REPLY = dialog("inbox_reply", ReplyStep, finish_reply, media=(ReplyStep.TEXT,))
