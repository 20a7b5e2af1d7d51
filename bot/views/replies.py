"""Reply helpers shared by the feature handlers: ids from arguments, names, money, card buttons."""

from __future__ import annotations

import html

from bot.chat.context import Context
from bot.crm import members
from bot.crm.models import Customer, Member
from bot.crm.purchases import Recorded, format_money
from bot.errors import InvalidInput
from bot.i18n import N_, P_, Raw, translate
from bot.views.card import card_button

CONVERTED = N_("🎉 Converted: this lead is now a customer.")


def customer_id_arg(text: str, hint: str) -> int:
    """Read a customer id (``12`` or ``#12``), or refuse with ``hint``."""
    value = text.strip().lstrip("#")
    if not value.isdigit() or len(value) > 12:
        raise InvalidInput(hint)
    return int(value)


def who(customer: Customer) -> Raw:
    """Return a customer's bold name and id, ready for a reply."""
    return Raw(f"<b>{html.escape(customer.name)}</b> (#{customer.id})")


def money_line(day: str, amount_minor: int, currency: str, note: str | None) -> str:
    """Return one line of a money list: ``• <day> <amount> — <note>``, escaped."""
    text = f" — {html.escape(note)}" if note else ""
    return f"• {day} {format_money(amount_minor, currency)}{text}"


def show_with_card(ctx: Context, text: str, customer: Customer, *, edit: bool = False) -> None:
    """Reply (or edit) with a button that opens the customer's card."""
    (ctx.edit if edit else ctx.reply)(text, [[card_button(ctx.t, customer.id)]])


def two_args(ctx: Context, hint: str) -> tuple[str, str]:
    """Split the command's arguments into the first word and the rest."""
    words = ctx.incoming.args.split(maxsplit=1)
    if len(words) < 2:
        raise InvalidInput(hint)
    return words[0], words[1]


async def notify_member(ctx: Context, to: Member, message: str, **params: object) -> None:
    """Send a translated note to another member in their own language."""
    locale = await members.locale_of(
        ctx.session, tg_user_id=to.tg_user_id, workspace_id=to.workspace_id
    )
    ctx.send(to.chat_id, translate(locale, message, **params))


def show_purchase(ctx: Context, done: Recorded, *, currency: str) -> None:
    """Reply that a purchase was recorded: the totals, points earned and a conversion."""
    text = ctx.t(
        N_("💰 {amount} recorded for {who}.\nPurchases: {count} · total {total}"),
        amount=format_money(done.purchase.amount_minor, currency),
        who=who(done.customer),
        count=done.count,
        total=format_money(done.total_minor, currency),
    )
    if done.points:
        text += "\n" + ctx.t(
            P_(
                "⭐ +{points} point · balance {balance}",
                "⭐ +{points} points · balance {balance}",
                by="points",
            ),
            points=done.points,
            balance=done.points_balance,
        )
    if done.converted:
        text += "\n" + ctx.t(CONVERTED)
    show_with_card(ctx, text, done.customer)
