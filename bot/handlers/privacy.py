"""Privacy requests: what is stored, a copy of one's data, and erasure."""

from __future__ import annotations

import html
from typing import Annotated

from babel.lists import format_list

from bot.callbacks import CallbackData, Id
from bot.chat.context import Context
from bot.chat.router import ANYONE, MANAGERS, Router
from bot.crm import privacy
from bot.crm.models import Workspace
from bot.crm.scope import get_visible
from bot.errors import Conflict
from bot.i18n import N_, P_, Raw
from bot.messaging import OutDocument
from bot.views.replies import customer_id_arg, who

router = Router("privacy", ANYONE)
admin_router = Router("privacy.admin", MANAGERS)

NOTHING_STORED = N_(
    "🔒 No shop keeps data about you here. When you join a shop through its link, "
    "it keeps your name, your Telegram account and what you share with it."
)
NOTHING_LEFT = N_("There's nothing left to erase. Send /privacy to check.")
# Columns of a record /privacy names when they are filled in.
FIELDS = {
    "phone": N_("phone number"),
    "birthday_date": N_("birthday"),
    "company_id": N_("company"),
    "notes": N_("notes about you"),
}
# Rows about the person /privacy counts when there are any.
COUNTS = {
    "purchases": N_("purchases: {count}"),
    "points": N_("points movements: {count}"),
    "follow_ups": N_("contact notes: {count}"),
    "survey_answers": N_("survey answers: {count}"),
    "complaints": N_("complaints: {count}"),
    "sent": N_("messages sent: {count}"),
    "messages": P_(
        "{count} message with the shop",
        "{count} messages with the shop",
    ),
}


class CopyOwnData(CallbackData, prefix="pv:m"):
    """Send the customer a copy of their data."""


class KeepData(CallbackData, prefix="pv:k"):
    """Erase nothing (the customer's, or a manager's, Keep button)."""


class ForgetOwn(CallbackData, prefix="pv:f"):
    """Ask which shop should erase the customer's data, or to confirm one shop's.

    Without ``customer_id`` it is /privacy's Forget me; with it, the record picked.
    """

    customer_id: Annotated[int | None, Id("customer")] = None


class ForgetAllOwn(CallbackData, prefix="pv:f:all"):
    """Ask to confirm erasing the customer's data at every shop."""


class EraseOwn(CallbackData, prefix="pv:x"):
    """Erase the customer's data at the shop of one of their records, confirmed."""

    customer_id: Annotated[int, Id("customer")]


class EraseAllOwn(CallbackData, prefix="pv:x:all"):
    """Erase the customer's data at every shop, confirmed."""


class EraseCustomer(CallbackData, prefix="pe"):
    """Erase a customer's data on their request, confirmed by a manager."""

    customer_id: Annotated[int, Id("customer")]


@router.command(
    "privacy", help=N_("what shops keep about you, and your choices"), for_members=False
)
async def cmd_privacy(ctx: Context) -> None:
    """Tell the sender what each shop keeps about them, why, who sees it, and their choices."""
    summaries = await privacy.summarise(ctx.session, tg_user_id=ctx.user_id)
    if not summaries:
        ctx.reply(ctx.t(NOTHING_STORED))
        return
    lines = [ctx.t(N_("🔒 <b>What shops keep about you</b>"))]
    for summary in summaries:
        items = [ctx.t(N_("your name and Telegram account"))]
        items += [ctx.t(label) for key, label in FIELDS.items() if getattr(summary.customer, key)]
        items += [
            ctx.t(label, count=summary.counts[key])
            for key, label in COUNTS.items()
            if summary.counts[key]
        ]
        shop = html.escape(summary.workspace.name)
        lines.append(f"• <b>{shop}</b>: " + ", ".join(items))
    lines.append("")
    lines.append(
        ctx.t(
            N_(
                "Why: so the shop can serve you, keep your points, answer your complaints "
                "and send you messages if you agreed.\n"
                "Who sees it: the shop's owner and managers and the person who looks after "
                "you. Other shops never do."
            )
        )
    )
    lines.append("")
    lines.append(
        ctx.t(
            N_(
                "/mydata — get a copy of it all as a file\n"
                "/forget — erase your personal data\n"
                "/stop — stop all messages"
            )
        )
    )
    buttons = [
        [
            CopyOwnData().button(ctx.t(N_("📄 My data"))),
            ForgetOwn().button(ctx.t(N_("🗑 Forget me"))),
        ]
    ]
    ctx.reply("\n".join(lines), buttons)


@router.command("mydata", help=N_("a copy of your data as a file"), for_members=False)
async def cmd_mydata(ctx: Context) -> None:
    """Send the sender everything the shops keep about them as a JSON file."""
    await _send_copy(ctx)


@router.command("forget", help=N_("erase your personal data at a shop"), for_members=False)
async def cmd_forget(ctx: Context) -> None:
    """Ask which shop should erase the sender's data, then ask to confirm."""
    records = await privacy.own_records(ctx.session, tg_user_id=ctx.user_id)
    if not records:
        ctx.reply(ctx.t(NOTHING_STORED))
    elif len(records) == 1:
        _confirm(ctx, records, EraseOwn(customer_id=records[0][1].id), edit=False)
    else:
        buttons = [[ForgetOwn(customer_id=c.id).button(w.name[:60])] for w, c in records]
        buttons.append([ForgetAllOwn().button(ctx.t(N_("All of them")))])
        buttons.append([KeepData().button(ctx.t(N_("Keep my data")))])
        ctx.reply(ctx.t(N_("🗑 Which shop should erase your data?")), buttons)


@router.button(CopyOwnData)
async def on_copy(ctx: Context, pressed: CopyOwnData) -> None:
    """Send the customer a copy of their data."""
    await _send_copy(ctx)


router.dismiss(KeepData, N_("OK, nothing was erased."))


@router.button(ForgetOwn)
async def on_forget(ctx: Context, pressed: ForgetOwn) -> None:
    """Ask which shop should erase the data, or to confirm the shop picked."""
    if pressed.customer_id is None:
        await cmd_forget(ctx)
    else:
        erase = EraseOwn(customer_id=pressed.customer_id)
        _confirm(ctx, await _chosen(ctx, pressed.customer_id), erase, edit=True)


@router.button(ForgetAllOwn)
async def on_forget_all(ctx: Context, pressed: ForgetAllOwn) -> None:
    """Ask to confirm erasing the data at every shop."""
    _confirm(ctx, await _chosen(ctx, None), EraseAllOwn(), edit=True)


@router.button(EraseOwn)
async def on_erase_own(ctx: Context, pressed: EraseOwn) -> None:
    """Erase the data at the shop of the record confirmed."""
    await _forget(ctx, await _chosen(ctx, pressed.customer_id))


@router.button(EraseAllOwn)
async def on_erase_all_own(ctx: Context, pressed: EraseAllOwn) -> None:
    """Erase the data at every shop, as confirmed."""
    await _forget(ctx, await _chosen(ctx, None))


async def _chosen(ctx: Context, customer_id: int | None) -> list[privacy.Record]:
    """Return the sender's record ``customer_id`` with its shop, or all of them for None.

    Raises:
        ButtonExpired: when ``customer_id`` is not one of the sender's records.
    """
    records = await privacy.own_records(ctx.session, tg_user_id=ctx.user_id)
    chosen = [r for r in records if customer_id in (None, r[1].id)]
    if customer_id is not None and not chosen:
        raise ctx.expired()
    return chosen


def _confirm(
    ctx: Context, records: list[privacy.Record], erase: EraseOwn | EraseAllOwn, *, edit: bool
) -> None:
    """Ask the customer to confirm the erasure at the chosen shops (if any are left)."""
    if not records:
        ctx.edit(ctx.t(NOTHING_LEFT))
        return
    text = ctx.t(
        N_(
            "🗑 Erase your personal data at {shops}?\n\n"
            "Your name, phone, notes and messages there are deleted and the shop won't "
            "message you again. Purchase totals stay, without your name. "
            "This can't be undone."
        ),
        shops=Raw(_shops(ctx, [w for w, _ in records])),
    )
    buttons = [
        [erase.button(ctx.t(N_("🗑 Yes, erase it")))],
        [KeepData().button(ctx.t(N_("Keep my data")))],
    ]
    (ctx.edit if edit else ctx.reply)(text, buttons)


async def _forget(ctx: Context, records: list[privacy.Record]) -> None:
    if not records:
        ctx.edit(ctx.t(NOTHING_LEFT))
        return
    shops = [
        await privacy.erase_own(
            ctx.session, tg_user_id=ctx.user_id, customer_id=customer.id, now=ctx.now()
        )
        for _, customer in records
    ]
    ctx.edit(
        ctx.t(
            N_(
                "✅ Done. {shops} no longer keeps your personal data and won't message you. "
                "If you join again later, you start afresh."
            ),
            shops=Raw(_shops(ctx, shops)),
        )
    )


async def _send_copy(ctx: Context) -> None:
    file = await privacy.export_own_data(ctx.session, tg_user_id=ctx.user_id, now=ctx.now())
    if file is None:
        ctx.reply(ctx.t(NOTHING_STORED))
        return
    caption = ctx.t(N_("📄 Everything the shops keep about you, as a JSON file."))
    ctx.outgoing.append(OutDocument(ctx.chat_id, file.filename, file.content, caption))


def _shops(ctx: Context, workspaces: list[Workspace]) -> str:
    names = [f"<b>{html.escape(w.name)}</b>" for w in workspaces]
    return format_list(names, locale=ctx.locale.replace("-", "_"))


# Requests received outside the bot (by phone, mail or in the shop), handled by managers.


@admin_router.command(
    "erase", help=N_("erase a customer's personal data on their request"), usage=N_("<id>")
)
async def cmd_erase(ctx: Context) -> None:
    """Ask the manager to confirm erasing one customer's personal data."""
    member, _ = ctx.staff()
    customer_id = customer_id_arg(ctx.incoming.args, N_("Send it like this: /erase 12"))
    customer = await get_visible(ctx.session, actor=member, customer_id=customer_id)
    if customer.erased_at is not None:
        raise Conflict(N_("Customer #{id} was erased already."), id=customer.id)
    text = ctx.t(
        N_(
            "🗑 Erase the personal data of {who}?\n\n"
            "Name, phone, notes, contact notes, tags and complaint texts are deleted and "
            "they get no more messages. Purchase figures and the consent history stay, "
            "without a name. This can't be undone."
        ),
        who=who(customer),
    )
    buttons = [
        [EraseCustomer(customer_id=customer.id).button(ctx.t(N_("🗑 Erase")))],
        [KeepData().button(ctx.t(N_("Keep it")))],
    ]
    ctx.reply(text, buttons)


@admin_router.button(EraseCustomer)
async def on_erase(ctx: Context, pressed: EraseCustomer) -> None:
    """Erase the customer the manager confirmed, and say what stays."""
    member, _ = ctx.staff()
    customer = await privacy.erase_customer(
        ctx.session, actor=member, customer_id=pressed.customer_id, now=ctx.now()
    )
    ctx.edit(
        ctx.t(
            N_(
                "✅ Personal data of customer #{id} erased. "
                "Purchase figures and the consent history stay, without a name."
            ),
            id=customer.id,
        )
    )


@admin_router.command(
    "dataexport", help=N_("a customer's data as a file, for their request"), usage=N_("<id>")
)
async def cmd_dataexport(ctx: Context) -> None:
    """Send the manager everything the shop keeps about one customer as a JSON file."""
    member, _ = ctx.staff()
    customer_id = customer_id_arg(ctx.incoming.args, N_("Send it like this: /dataexport 12"))
    file = await privacy.export_customer_data(
        ctx.session, actor=member, customer_id=customer_id, now=ctx.now()
    )
    caption = ctx.t(
        N_("📄 Everything we keep about customer #{id}. Pass it on to them privately."),
        id=customer_id,
    )
    ctx.outgoing.append(OutDocument(ctx.chat_id, file.filename, file.content, caption))
