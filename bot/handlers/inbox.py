"""The shop's inbox in chat: customers' messages relayed to members, and members' answers.

A customer's message that is no command and no dialog's answer is stored and
copied, after commit, to its recipients with ↩️ Reply, 📇 Card and ✅ Done. A
member's Telegram reply to such a copy, or the ↩️ Reply dialog, answers it.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from bot.callbacks import CallbackData, Choice, Id, Int
from bot.chat import engine
from bot.chat.context import Context, OutLater, Sessions
from bot.chat.router import ANYONE, MEMBERS, Router
from bot.conversations.reply import REPLY, message_kind, send_reply
from bot.crm import followups
from bot.crm.inbox import relays, settings, shops, threads
from bot.crm.inbox.access import thread_for
from bot.crm.models import (
    Channel,
    Customer,
    Member,
    MessageKind,
    RelayRole,
    Thread,
    UserPref,
    Workspace,
)
from bot.i18n import N_, translate
from bot.localtime import show_zoned, zone
from bot.messaging import CAPTION_KINDS, Keyboard, Kind, Messenger
from bot.views.inbox import RelayDone, RelayLog, RelayReply, log_button, relay_buttons, who_line

router = Router("inbox", ANYONE)
staff_router = Router("inbox_staff", MEMBERS)
MAX_MESSAGE_ID = 2**31 - 1
JOIN_HINT = N_(
    "👋 I don't know which shop you're with yet. To join a shop, open the link the shop gave you."
)


class ChooseShop(CallbackData, prefix="ib:s"):
    """A customer of several shops says which shop their message is for."""

    workspace_id: Annotated[int, Id("workspace")]
    kind: Annotated[MessageKind, Choice(MessageKind)]
    message_id: Annotated[int, Int(1, MAX_MESSAGE_ID)]


@dataclass(frozen=True, slots=True)
class Content:
    """A customer's message as relayed: its kind, text, file and id in their chat."""

    kind: MessageKind
    caption_kind: bool
    text: str | None
    file_id: str | None
    message_id: int
    reply_to: int | None


@router.message
async def on_message(ctx: Context) -> bool:
    """Relay a customer's message, or send a member's Telegram reply to the customer.

    A member's message that answers no relayed copy is theirs as a customer of
    another shop, when they are one; a stranger's gets the hint how to join a shop.
    """
    if ctx.member is not None and await _member_reply(ctx):
        return True
    incoming = ctx.incoming
    if incoming.own_message_id is None or incoming.kind is Kind.OTHER:
        return False
    if ctx.member is not None:
        replied = incoming.reply_to_message_id
        if replied is not None and await relays.is_relay(
            ctx.session, staff_chat_id=ctx.chat_id, staff_message_id=replied
        ):
            # An answer to a conversation out of the member's reach now (handed over,
            # closed to them): never a message of theirs to another shop.
            return False
        route = await _route_member(ctx, ctx.member)
    else:
        route = await shops.route(ctx.session, tg_user_id=ctx.user_id)
    kind = message_kind(incoming.kind)
    if route.customer is None:
        if not route.choices:
            if ctx.member is not None:
                return False
            ctx.reply(ctx.t(JOIN_HINT))
            return True
        rows: Keyboard = [
            [
                ChooseShop(
                    workspace_id=workspace.id, kind=kind, message_id=incoming.own_message_id
                ).button(workspace.name)
            ]
            for workspace, _customer in route.choices
        ]
        ctx.reply(ctx.t(N_("Which shop is this message for?")), rows)
        return True
    content = Content(
        kind=kind,
        caption_kind=incoming.kind in CAPTION_KINDS,
        text=incoming.text or None,
        file_id=incoming.file.file_id if incoming.file else None,
        message_id=incoming.own_message_id,
        reply_to=incoming.reply_to_message_id,
    )
    await _relay(ctx, route.customer, content)
    return True


@router.button(ChooseShop)
async def on_choose_shop(ctx: Context, pressed: ChooseShop) -> None:
    """Remember the shop and relay the message the question was about."""
    if ctx.member is not None and ctx.member.workspace_id == pressed.workspace_id:
        raise ctx.expired()
    customer = await shops.choose_shop(
        ctx.session, tg_user_id=ctx.user_id, workspace_id=pressed.workspace_id, now=ctx.now()
    )
    workspace = await ctx.session.get(Workspace, customer.workspace_id)
    assert workspace is not None  # noqa: S101 - enforced by the foreign key
    ctx.edit(ctx.t(N_("✉️ For {shop}."), shop=workspace.name))
    content = Content(
        kind=pressed.kind,
        # The caption is not known here: the copy keeps it and the who-line follows it.
        caption_kind=False,
        text=None,
        file_id=None,
        message_id=pressed.message_id,
        reply_to=None,
    )
    await _relay(ctx, customer, content)


async def _route_member(ctx: Context, member: Member) -> shops.Route:
    """Return where a member's own message goes as a customer of other shops.

    Their record in their own shop (a member who added themselves) never takes it:
    there, their messages stay a member's.
    """
    records = [
        (workspace, customer)
        for workspace, customer in await shops.records_of(ctx.session, tg_user_id=ctx.user_id)
        if workspace.id != member.workspace_id
    ]
    if len(records) <= 1:
        return shops.Route(records[0][1] if records else None, ())
    route = await shops.route(ctx.session, tg_user_id=ctx.user_id)
    if route.customer is not None and route.customer.workspace_id != member.workspace_id:
        return route
    return shops.Route(None, tuple(records))


async def _relay(ctx: Context, customer: Customer, content: Content) -> None:
    last_contact = customer.last_contact_at
    inbound = await threads.record_inbound(
        ctx.session,
        customer=customer,
        kind=content.kind,
        text=content.text,
        file_id=content.file_id,
        tg_chat_id=ctx.chat_id,
        tg_message_id=content.message_id,
        now=ctx.now(),
        reply_to_message_id=content.reply_to,
    )
    workspace = await ctx.session.get(Workspace, customer.workspace_id)
    assert workspace is not None  # noqa: S101 - enforced by the foreign key
    tz = zone(workspace.timezone)
    thread_id, customer_id = inbound.thread.id, customer.id
    for member in inbound.recipients:
        pref = await ctx.session.get(UserPref, member.tg_user_id)
        t = partial(translate, pref.locale if pref is not None else workspace.locale)

        who = who_line(t, customer, last_contact=last_contact, tz=tz)
        if inbound.campaign_name:
            who += "\n" + t(
                N_("↪️ In reply to the campaign {name}"),
                name=inbound.campaign_name,
            )
        buttons = relay_buttons(t, thread_id=thread_id, customer_id=customer_id)
        ctx.outgoing.append(
            OutLater(_copier(ctx.chat_id, member, content, who, buttons, inbound.thread))
        )
    if inbound.first:
        await _acknowledge(ctx, workspace, inbound.thread, inbound.recipients)


def _copier(
    from_chat: int,
    member: Member,
    content: Content,
    who: str,
    buttons: Keyboard,
    thread: Thread,
) -> Callable[[Messenger, Sessions], Awaitable[None]]:
    member_id, chat_id = member.id, member.chat_id
    workspace_id, thread_id = thread.workspace_id, thread.id

    async def run(messenger: Messenger, sessions: Sessions) -> None:
        caption = None
        if content.caption_kind:
            parts = (who, html.escape(content.text, quote=False)) if content.text else (who,)
            caption = "\n\n".join(parts)
        copy = await messenger.copy_message(
            chat_id, from_chat, content.message_id, caption=caption, buttons=buttons
        )
        sent = [(copy.message_id, RelayRole.COPY)]
        if not content.caption_kind:
            notice = await messenger.send_text(chat_id, who, reply_to_message_id=copy.message_id)
            sent.append((notice.message_id, RelayRole.NOTICE))
        await relays.record_relays_together(
            sessions,
            [
                relays.RelayRow(workspace_id, thread_id, member_id, chat_id, message_id, role)
                for message_id, role in sent
            ],
        )

    return run


async def _acknowledge(
    ctx: Context, workspace: Workspace, thread: Thread, recipients: tuple[Member, ...]
) -> None:
    assignee = next((m for m in recipients if m.id == thread.assignee_member_id), None)
    shop = workspace.name
    hours = await settings.get_settings(ctx.session, workspace_id=workspace.id)
    now = ctx.now()
    if hours.is_open(now):
        if assignee is None:
            ctx.reply(ctx.t(N_("🙌 {shop} will answer you here."), shop=shop))
        else:
            ctx.reply(
                ctx.t(
                    N_("🙌 {rep} from {shop} will answer you here."),
                    rep=assignee.display_name,
                    shop=shop,
                )
            )
        return
    when = show_zoned(hours.next_opening(now), zone(workspace.timezone))
    if assignee is None:
        ctx.reply(
            ctx.t(
                N_("🙌 {shop} is closed now. We will answer you here from {when}."),
                shop=shop,
                when=when,
            )
        )
        return
    ctx.reply(
        ctx.t(
            N_("🙌 {shop} is closed now. {rep} will answer you here from {when}."),
            rep=assignee.display_name,
            shop=shop,
            when=when,
        )
    )


async def _member_reply(ctx: Context) -> bool:
    replied = ctx.incoming.reply_to_message_id
    if replied is None or ctx.member is None or ctx.incoming.kind is Kind.OTHER:
        return False
    relayed = await relays.thread_of_relay(
        ctx.session, actor=ctx.member, staff_chat_id=ctx.chat_id, staff_message_id=replied
    )
    if relayed is None:
        return False
    await send_reply(ctx, thread_id=relayed.thread.id)
    return True


@staff_router.button(RelayReply)
async def on_reply(ctx: Context, pressed: RelayReply) -> None:
    """Open the one-step dialog whose answer goes to the customer."""
    member, _workspace = ctx.staff()
    _thread, customer = await thread_for(ctx.session, actor=member, thread_id=pressed.thread_id)
    await engine.start(ctx, REPLY, {"thread": pressed.thread_id, "name": customer.name})


@staff_router.button(RelayDone)
async def on_done(ctx: Context, pressed: RelayDone) -> None:
    """Close the conversation and offer to log it as a chat follow-up."""
    member, _workspace = ctx.staff()
    thread = await threads.done(
        ctx.session, actor=member, thread_id=pressed.thread_id, now=ctx.now()
    )
    ctx.reply(ctx.t(N_("✅ Conversation closed.")), [[log_button(ctx.t, thread_id=thread.id)]])


@staff_router.button(RelayLog)
async def on_log(ctx: Context, pressed: RelayLog) -> None:
    """Log the conversation as a follow-up of channel chat."""
    member, _workspace = ctx.staff()
    _thread, customer = await thread_for(ctx.session, actor=member, thread_id=pressed.thread_id)
    await followups.log_followup(
        ctx.session,
        actor=member,
        customer_id=customer.id,
        channel=Channel.CHAT,
        summary=ctx.t(N_("Chat conversation")),
        outcome=None,
        next_step=None,
        next_at=None,
        now=ctx.now(),
    )
    # Pressed under a relayed photo or voice as well: a new message, never an edit.
    ctx.reply(
        ctx.t(
            N_("📝 Logged as a chat follow-up with {name}."),
            name=customer.name,
        )
    )
