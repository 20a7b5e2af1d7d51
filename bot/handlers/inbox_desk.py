"""The inbox desk: /inbox, /history and /transfer of conversations.

A conversation goes by its customer's #id here, as everywhere else in the bot: a
customer has at most one open conversation per shop, so the number /inbox shows
is the one /history and /transfer take.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from bot.chat.context import Context, OutLater, Sessions
from bot.chat.router import MEMBERS, Router
from bot.crm import members, teams
from bot.crm.inbox import history, listing, relays, routing
from bot.crm.inbox.access import thread_for
from bot.crm.models import Customer, Member, RelayRole, Role, Thread
from bot.crm.scope import can_see
from bot.crm.store import unit_of_work
from bot.errors import Conflict, InvalidInput, PermissionDenied
from bot.i18n import N_, translate
from bot.messaging import Keyboard, Messenger
from bot.views.inbox import who_line
from bot.views.inbox_desk import (
    HISTORY_PAGE,
    INBOX_PAGE,
    HistoryPage,
    InboxPage,
    TransferPick,
    TransferTo,
    handover_buttons,
    history_buttons,
    history_text,
    inbox_buttons,
    inbox_text,
    last_said,
    pick_member_buttons,
    pick_thread_buttons,
)
from bot.views.replies import customer_id_arg

router = Router("inbox.desk", MEMBERS)

HISTORY_USAGE = N_("Send it like this: /history 12 (the customer's # from /inbox or their card).")
TRANSFER_USAGE = N_(
    "Send it like this: /transfer 12 Chen (the customer's # from /inbox and a colleague), "
    "or just /transfer to pick with buttons."
)


@router.command(
    "inbox", help=N_("open conversations, the longest waiting first"), usage=N_("[member]")
)
async def cmd_inbox(ctx: Context) -> None:
    """List the open conversations the sender handles (or one colleague's)."""
    member, _ = ctx.staff()
    ref = ctx.incoming.args.strip()
    colleague = await teams.find_member(ctx.session, actor=member, ref=ref) if ref else None
    await _show_inbox(ctx, member, colleague, offset=0)


@router.button(InboxPage)
async def on_inbox_page(ctx: Context, pressed: InboxPage) -> None:
    """Show the page of /inbox the arrow points to."""
    member, _ = ctx.staff()
    colleague = None
    if pressed.member_id is not None:
        colleague = await ctx.session.get(Member, pressed.member_id)
        if colleague is None or colleague.workspace_id != member.workspace_id:
            raise ctx.expired()
    await _show_inbox(ctx, member, colleague, offset=pressed.offset, edit=True)


async def _show_inbox(
    ctx: Context, member: Member, colleague: Member | None, *, offset: int, edit: bool = False
) -> None:
    inbox = await listing.open_threads(
        ctx.session,
        actor=member,
        now=ctx.now(),
        member=colleague,
        limit=INBOX_PAGE,
        offset=offset,
    )
    # A staff member's inbox holds only their own, so naming the handler adds nothing.
    show_assignee = member.role is not Role.STAFF and colleague is None
    text = inbox_text(ctx.t, inbox, offset=offset, member=colleague, show_assignee=show_assignee)
    member_id = colleague.id if colleague is not None else None
    cards = {
        item.customer_id
        for item in inbox.items
        if await can_see(ctx.session, actor=member, customer_id=item.customer_id)
    }
    buttons = inbox_buttons(ctx.t, inbox, offset=offset, member_id=member_id, cards=cards)
    (ctx.edit if edit else ctx.reply)(text, buttons)


@router.command(
    "history", help=N_("every message with a customer, page by page"), usage=N_("<id>")
)
async def cmd_history(ctx: Context) -> None:
    """Show the latest page of a customer's conversation messages."""
    arg = ctx.incoming.args.strip()
    if not arg:
        raise InvalidInput(HISTORY_USAGE)
    await _show_history(ctx, customer_id_arg(arg, HISTORY_USAGE), offset=0)


@router.button(HistoryPage)
async def on_history_page(ctx: Context, pressed: HistoryPage) -> None:
    """Show the older or newer page of a customer's history."""
    await _show_history(ctx, pressed.customer_id, offset=pressed.offset, edit=True)


async def _show_history(
    ctx: Context, customer_id: int, *, offset: int, edit: bool = False
) -> None:
    member, _ = ctx.staff()
    page = await history.history(
        ctx.session, actor=member, customer_id=customer_id, limit=HISTORY_PAGE, offset=offset
    )
    card = await can_see(ctx.session, actor=member, customer_id=customer_id)
    text = history_text(ctx.t, page, ctx.tz)
    (ctx.edit if edit else ctx.reply)(text, history_buttons(ctx.t, page, card=card))


@router.command(
    "transfer",
    help=N_("hand a customer's open conversation to a colleague"),
    usage=N_("<customer id> <member>"),
)
async def cmd_transfer(ctx: Context) -> None:
    """Hand over a conversation, or ask which one and to whom with buttons."""
    member, _ = ctx.staff()
    words = ctx.incoming.args.split(maxsplit=1)
    if not words:
        await _ask_thread(ctx, member)
        return
    customer_id = customer_id_arg(words[0], TRANSFER_USAGE)
    thread = await routing.customer_thread(ctx.session, actor=member, customer_id=customer_id)
    if len(words) == 1:
        await _ask_member(ctx, member, thread)
        return
    to = await teams.find_member(ctx.session, actor=member, ref=words[1], include_inactive=True)
    await _transfer(ctx, member, thread, to)


@router.button(TransferPick)
async def on_transfer_pick(ctx: Context, pressed: TransferPick) -> None:
    """Ask whom the chosen conversation goes to."""
    member, _ = ctx.staff()
    thread, _customer = await thread_for(ctx.session, actor=member, thread_id=pressed.thread_id)
    await _ask_member(ctx, member, thread, edit=True)


@router.button(TransferTo)
async def on_transfer_to(ctx: Context, pressed: TransferTo) -> None:
    """Hand the conversation to the colleague picked."""
    member, _ = ctx.staff()
    thread, _customer = await thread_for(ctx.session, actor=member, thread_id=pressed.thread_id)
    to = await ctx.session.get(Member, pressed.member_id)
    if to is None or to.workspace_id != member.workspace_id:
        raise ctx.expired()
    await _transfer(ctx, member, thread, to, edit=True)


async def _ask_thread(ctx: Context, member: Member) -> None:
    inbox = await listing.open_threads(ctx.session, actor=member, now=ctx.now())
    if not inbox.items:
        ctx.reply(ctx.t(N_("📭 You have no open conversations to hand over.")))
        return
    ctx.reply(
        ctx.t(N_("🔀 Which conversation do you want to hand over?")),
        pick_thread_buttons(inbox.items),
    )


async def _ask_member(ctx: Context, member: Member, thread: Thread, *, edit: bool = False) -> None:
    customer = await ctx.session.get(Customer, thread.customer_id)
    assert customer is not None  # noqa: S101 - enforced by the foreign key
    targets = await routing.transfer_targets(ctx.session, actor=member, thread=thread)
    if not targets:
        ctx.reply(
            ctx.t(N_("There is nobody else to hand it to. Invite a colleague with /invite."))
        )
        return
    (ctx.edit if edit else ctx.reply)(
        ctx.t(N_("🔀 Hand {name} (#{id}) to whom?"), name=customer.name, id=customer.id),
        pick_member_buttons(thread.id, targets),
    )


async def _transfer(
    ctx: Context, member: Member, thread: Thread, to: Member, *, edit: bool = False
) -> None:
    customer = await ctx.session.get(Customer, thread.customer_id)
    assert customer is not None  # noqa: S101 - enforced by the foreign key
    if not to.active:
        raise Conflict(N_("{member} is no longer in the shop."), member=to.display_name)
    if member.role is Role.STAFF and thread.assignee_member_id != member.id:
        holder = await routing.active_member(ctx.session, thread.assignee_member_id)
        raise PermissionDenied(
            N_("{name}'s conversation is with {member} now: they or a manager can hand it over."),
            name=customer.name,
            member=holder.display_name if holder is not None else ctx.t(N_("the managers")),
        )
    if thread.assignee_member_id == to.id:
        raise Conflict(
            N_("{name}'s conversation is with {member} already."),
            name=customer.name,
            member=to.display_name,
        )
    # Read before the handover: a colleague's conversation may leave the sender's reach.
    latest = await history.last_messages(ctx.session, actor=member, customer_id=customer.id, n=1)
    await routing.transfer(ctx.session, actor=member, thread_id=thread.id, to=to)
    (ctx.edit if edit else ctx.reply)(
        ctx.t(
            N_("🔀 Handed over to {member}: {name} (#{id})."),
            member=to.display_name,
            name=customer.name,
            id=customer.id,
        )
    )
    if to.id == member.id:
        return
    locale = await members.locale_of(
        ctx.session, tg_user_id=to.tg_user_id, workspace_id=to.workspace_id
    )
    t = partial(translate, locale)
    lines = [
        t(N_("🔀 {member} handed you a conversation:"), member=member.display_name),
        who_line(t, customer, last_contact=customer.last_contact_at, tz=ctx.tz),
    ]
    if latest and not latest[0].erased:
        lines.append(last_said(t, latest[0].kind, latest[0].text, latest[0].direction))
    card = await can_see(ctx.session, actor=to, customer_id=customer.id)
    buttons = handover_buttons(t, thread_id=thread.id, customer_id=customer.id, card=card)
    ctx.outgoing.append(OutLater(_notice(to, "\n".join(lines), buttons, thread.id)))


def _notice(
    to: Member, text: str, buttons: Keyboard, thread_id: int
) -> Callable[[Messenger, Sessions], Awaitable[None]]:
    member_id, chat_id = to.id, to.chat_id

    async def run(messenger: Messenger, sessions: Sessions) -> None:
        sent = await messenger.send_text(chat_id, text, buttons)
        # A Telegram reply to the notice answers the customer, as one to a relayed message.
        async with unit_of_work(sessions) as session:
            thread = await session.get(Thread, thread_id)
            handler = await session.get(Member, member_id)
            if thread is None or handler is None:
                return
            await relays.record_relay(
                session,
                thread=thread,
                member=handler,
                staff_chat_id=chat_id,
                staff_message_id=sent.message_id,
                role=RelayRole.NOTICE,
            )

    return run
