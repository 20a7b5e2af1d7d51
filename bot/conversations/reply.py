"""A member's answer to a customer: sent after commit, signed, then stored.

``send_reply`` serves both ways of answering: Telegram's own reply to a relayed
message and the one-step dialog the ↩️ Reply button opens. That dialog's question
also offers the shop's saved answers as buttons; ``send_quick`` fills one in for
the customer and sends it exactly as a typed answer would go.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import StrEnum

from bot.campaigns import template_checks, template_store
from bot.campaigns.render_pool import RenderUnavailable
from bot.chat.context import Context, OutLater, Sessions
from bot.chat.engine import DONE, Data, current, dialog
from bot.crm.inbox import quick, replies
from bot.crm.inbox.replies import ReplyTarget
from bot.crm.models import Customer, Member, MessageKind
from bot.crm.store import unit_of_work
from bot.errors import Blocked, DeliveryError, InvalidInput, TemplateError
from bot.i18n import N_, Raw
from bot.localtime import local_day, zone
from bot.messaging import CAPTION_KINDS, Kind, Messenger, SentMessage
from bot.views.quick import quick_buttons

_TAG = re.compile(r"<[^>]*>")


class ReplyStep(StrEnum):
    """The single question of the ↩️ Reply dialog, persisted by value."""

    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Answer:
    """What goes to the customer: Telegram HTML, the text kept in history, what to copy."""

    kind: MessageKind
    body: str
    text: str | None
    file_id: str | None = None
    # The member's own message to copy (media); None for a text.
    message_id: int | None = None
    caption_kind: bool = False


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
        InvalidInput: when the message is of a kind that cannot be copied.
    """
    member, _workspace = ctx.staff()
    target = await replies.reply_target(ctx.session, actor=member, thread_id=thread_id)
    incoming = ctx.incoming
    kind = message_kind(incoming.kind)
    if kind is not MessageKind.TEXT and incoming.own_message_id is None:
        raise InvalidInput(N_("Please answer with a text message."))
    answer = Answer(
        kind=kind,
        body=html.escape(incoming.text, quote=False),
        text=incoming.text or None,
        file_id=incoming.file.file_id if incoming.file else None,
        message_id=incoming.own_message_id,
        caption_kind=incoming.kind in CAPTION_KINDS,
    )
    _send(ctx, member, target, answer)


async def send_quick(ctx: Context, *, thread_id: int, quick_id: int) -> None:
    """Fill in a saved answer for the customer of ``thread_id`` and send it as a typed one.

    The customer's language is picked when the shop wrote one, else the other;
    ``{{ owner }}`` is the member answering, and a conversation has no opt-out hint.

    Raises:
        NotFound: when the thread or the saved answer is not the sender's shop's.
        Conflict: when the customer can no longer be reached.
        InvalidInput: when the saved answer cannot be filled in for this customer.
    """
    member, workspace = ctx.staff()
    target = await replies.reply_target(ctx.session, actor=member, thread_id=thread_id)
    chosen = await quick.quick_by_id(ctx.session, actor=member, quick_id=quick_id)
    saved = await quick.pick_quick(ctx.session, actor=member, key=chosen.key, locale=target.locale)
    customer = await ctx.session.get(Customer, target.customer_id)
    assert customer is not None  # noqa: S101 - reply_target found it
    variables = await template_store.customer_variables_for(
        ctx.session,
        customer=customer,
        workspace=workspace,
        locale=saved.locale,
        today=local_day(ctx.now(), zone(customer.timezone, workspace.timezone)),
    )
    variables["owner"] = member.display_name
    variables["unsubscribe"] = ""
    try:
        body = await template_checks.render_one(ctx.app.renders, saved.text, variables)
    except (InvalidInput, TemplateError) as exc:
        reason = (
            ctx.t(exc.key, **exc.params) if isinstance(exc, InvalidInput) else ctx.t(exc.reason)
        )
        raise InvalidInput(
            N_("The quick reply “{quick}” can't be filled in for {name}: {reason}"),
            quick=saved.key,
            name=target.customer_name,
            reason=Raw(reason),
        ) from exc
    except RenderUnavailable as exc:
        raise InvalidInput(N_("I'm busy filling in texts right now. Tap it again?")) from exc
    plain = html.unescape(_TAG.sub("", body))
    _send(ctx, member, target, Answer(kind=MessageKind.TEXT, body=body, text=plain))


def _send(ctx: Context, member: Member, target: ReplyTarget, answer: Answer) -> None:
    """Queue the answer for after commit: deliver, store it, then tell the member."""
    signed = f"— {html.escape(target.signature, quote=False)}" if target.signature else ""
    sent_note = ctx.t(N_("Sent ✓"))
    blocked_note = ctx.t(
        N_("⚠️ {name} blocked the bot, so the reply was not delivered."),
        name=target.customer_name,
    )
    failed_note = ctx.t(N_("⚠️ The reply could not be delivered. Try again?"))
    member_id, member_chat, thread_id, now = member.id, ctx.chat_id, target.thread_id, ctx.now()

    async def run(messenger: Messenger, sessions: Sessions) -> None:
        try:
            sent = await _deliver(messenger, answer, target.chat_id, member_chat, signed)
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
                kind=answer.kind,
                text=answer.text,
                file_id=answer.file_id,
                tg_chat_id=sent.chat_id,
                tg_message_id=sent.message_id,
                now=now,
            )
        await messenger.send_text(member_chat, sent_note)

    ctx.outgoing.append(OutLater(run))


async def _deliver(
    messenger: Messenger, answer: Answer, chat_id: int, member_chat: int, signed: str
) -> SentMessage:
    if answer.kind is MessageKind.TEXT:
        text = f"{answer.body}\n\n{signed}" if signed else answer.body
        return await messenger.send_text(chat_id, text)
    assert answer.message_id is not None  # noqa: S101 - checked by send_reply
    caption = None
    if answer.caption_kind:
        caption = "\n\n".join(part for part in (answer.body, signed) if part) or None
    return await messenger.copy_message(chat_id, member_chat, answer.message_id, caption=caption)


async def ask_text(ctx: Context, data: Data) -> None:
    """Ask for the answer to send, offering the shop's saved answers as buttons."""
    member, _workspace = ctx.staff()
    saved = await quick.list_quick(ctx.session, actor=member)
    buttons = quick_buttons(ctx.t, saved, thread_id=int(data["thread"]), locale=ctx.locale)
    question = (
        N_("↩️ Send your reply to {name}, or tap a quick reply (or /cancel).")
        if buttons
        else N_("↩️ Send your reply to {name} (or /cancel).")
    )
    ctx.reply(ctx.t(question, name=data["name"]), buttons)


async def receive_text(ctx: Context, data: Data) -> str:
    """Take the typed answer."""
    incoming = ctx.incoming
    if incoming.kind is Kind.COMMAND or (incoming.kind is Kind.TEXT and not incoming.text.strip()):
        raise InvalidInput(N_("Please send your reply as a message."))
    return DONE


async def finish_reply(ctx: Context, data: Data) -> None:
    """Send the answer to the customer."""
    await send_reply(ctx, thread_id=int(data["thread"]))


async def answer_with_quick(ctx: Context, *, thread_id: int, quick_id: int) -> None:
    """Answer the open ↩️ Reply question of ``thread_id`` with a saved answer and close it.

    Raises:
        ButtonExpired: when the sender has no ↩️ Reply question open for that conversation.
        InvalidInput: when the saved answer cannot be filled in (the question stays open).
    """
    state = await current(ctx)
    if state is None or state.dialog != REPLY.name or state.data.get("thread") != thread_id:
        raise ctx.expired()
    await send_quick(ctx, thread_id=thread_id, quick_id=quick_id)
    await ctx.session.delete(state)


REPLY = dialog("inbox_reply", ReplyStep, finish_reply, media=(ReplyStep.TEXT,))
