"""Loyalty points: customers check their balance, staff redeem, admins adjust."""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

from bot.chat.context import Context
from bot.chat.router import ANYONE, MANAGERS, MEMBERS, Router
from bot.crm import loyalty, purchases
from bot.crm.models import PointsReason
from bot.errors import InvalidInput
from bot.i18n import N_, P_
from bot.localtime import show_day, zone
from bot.views.replies import customer_id_arg, show_with_card, who

# /points answers customers and members alike; the staff and admin commands sit
# behind their own guards so customers never see them in /help.
router = Router("loyalty", ANYONE)
staff_router = Router("loyalty.staff", MEMBERS)
admin_router = Router("loyalty.admin", MANAGERS)

MOVEMENTS = {
    PointsReason.PURCHASE: N_("purchase"),
    PointsReason.REDEEM: N_("redeemed"),
    PointsReason.ADJUST: N_("adjusted"),
}
POINTS_HINT = N_("Send it like this: /points 12")
REDEEM_HINT = N_("Send it like this: /redeem 12 50 tea cup")
ADJUST_HINT = N_("Send it like this: /adjust 12 +50 birthday gift")
WHOLE = re.compile(r"^\d{1,9}$")
SIGNED = re.compile(r"^[+-]?\d{1,9}$")


@router.command("points", help=N_("loyalty points and recent movements"))
async def cmd_points(ctx: Context) -> None:
    """Show a member a customer's points, or the sender their own points in each shop."""
    arg = ctx.incoming.args.strip()
    if ctx.member is not None and arg:
        member, _ = ctx.staff()
        customer_id = customer_id_arg(arg, POINTS_HINT)
        statement = await loyalty.statement_of(ctx.session, actor=member, customer_id=customer_id)
        show_with_card(ctx, _staff_view(ctx, statement), statement.customer)
        return
    statements = await loyalty.statements_for_account(ctx.session, tg_user_id=ctx.user_id)
    if statements:
        ctx.reply("\n\n".join(_own_view(ctx, s) for s in statements))
    elif ctx.member is not None:
        ctx.reply(ctx.t(POINTS_HINT))
    else:
        ctx.reply(
            ctx.t(
                N_(
                    "You haven't joined a shop yet. Open the link your shop gave you, "
                    "then send /points again."
                )
            )
        )


@staff_router.command(
    "redeem", help=N_("redeem a customer's points"), usage=N_("<id> <points> [note]")
)
async def cmd_redeem(ctx: Context) -> None:
    """Take points off a customer's balance and show the new balance."""
    member, _ = ctx.staff()
    customer_id, points, note = _points_args(
        ctx, REDEEM_HINT, WHOLE, N_("Points are a whole number above zero, like 50.")
    )
    moved = await loyalty.redeem(
        ctx.session,
        actor=member,
        customer_id=customer_id,
        points=points,
        note=note,
        now=ctx.now(),
    )
    text = ctx.t(
        P_(
            "✅ {points} point redeemed for {who}. New balance: {balance}.",
            "✅ {points} points redeemed for {who}. New balance: {balance}.",
            by="points",
        ),
        points=-moved.entry.delta,
        who=who(moved.customer),
        balance=moved.balance,
    )
    show_with_card(ctx, text, moved.customer)


@admin_router.command(
    "adjust",
    help=N_("add or take off points, with a reason"),
    usage=N_("<id> <+/-points> <reason>"),
)
async def cmd_adjust(ctx: Context) -> None:
    """Change a customer's points by hand with a reason and show the new balance."""
    member, _ = ctx.staff()
    customer_id, delta, reason = _points_args(
        ctx, ADJUST_HINT, SIGNED, N_("Give the change as a whole number, like +50 or -20.")
    )
    moved = await loyalty.adjust(
        ctx.session,
        actor=member,
        customer_id=customer_id,
        delta=delta,
        reason=reason or "",
        now=ctx.now(),
    )
    text = ctx.t(
        P_(
            "✅ {who}: {delta} point ({reason}). New balance: {balance}.",
            "✅ {who}: {delta} points ({reason}). New balance: {balance}.",
            by="delta",
        ),
        who=who(moved.customer),
        delta=f"{delta:+d}",
        reason=moved.entry.note or "",
        balance=moved.balance,
    )
    show_with_card(ctx, text, moved.customer)


@admin_router.command(
    "pointsrate", help=N_("points per unit of currency (0 = off)"), usage=N_("[points]")
)
async def cmd_pointsrate(ctx: Context) -> None:
    """Show the points rate, or set it from the argument."""
    member, workspace = ctx.staff()
    arg = ctx.incoming.args.strip()
    unit = _unit(workspace.currency)
    if arg:
        if not arg.isdigit():
            raise InvalidInput(N_("Send it like this: /pointsrate 1 (or 0 to turn points off)"))
        await loyalty.set_rate(
            ctx.session, actor=member, workspace=workspace, points_per_unit=int(arg)
        )
        if workspace.points_per_unit == 0:
            ctx.reply(ctx.t(N_("✅ Points are off. Purchases earn none; balances stay.")))
            return
        ctx.reply(
            ctx.t(
                N_("✅ Points rate set: {rate} per {unit} spent."),
                rate=workspace.points_per_unit,
                unit=unit,
            )
        )
        return
    if workspace.points_per_unit == 0:
        ctx.reply(ctx.t(N_("⭐ Points are off. Turn them on with /pointsrate 1.")))
        return
    ctx.reply(
        ctx.t(
            N_(
                "⭐ Points rate: {rate} per {unit} spent. "
                "Change it with /pointsrate 2, or /pointsrate 0 to turn points off."
            ),
            rate=workspace.points_per_unit,
            unit=unit,
        )
    )


def _staff_view(ctx: Context, statement: loyalty.Statement) -> str:
    lines = [
        ctx.t(
            N_("⭐ Points of {who}: <b>{balance}</b>"),
            who=who(statement.customer),
            balance=statement.balance,
        )
    ]
    lines += _movements(ctx, statement, ctx.tz)
    lines.append(ctx.t(N_("Redeem with /redeem {id} 50 tea cup"), id=statement.customer.id))
    return "\n".join(lines)


def _own_view(ctx: Context, statement: loyalty.Statement) -> str:
    shop = statement.workspace
    lines = [
        ctx.t(
            P_(
                "⭐ <b>{shop}</b>: <b>{balance}</b> point",
                "⭐ <b>{shop}</b>: <b>{balance}</b> points",
                by="balance",
            ),
            shop=shop.name,
            balance=statement.balance,
        )
    ]
    tz = zone(statement.customer.timezone, shop.timezone)
    return "\n".join(lines + _movements(ctx, statement, tz))


def _movements(ctx: Context, statement: loyalty.Statement, tz: ZoneInfo) -> list[str]:
    if not statement.entries:
        return [ctx.t(N_("No points yet."))]
    lines = []
    for entry in statement.entries:
        day = show_day(entry.at, tz)
        note = f": {html.escape(entry.note)}" if entry.note else ""
        label = ctx.t(MOVEMENTS[entry.reason])
        lines.append(f"• {day} <b>{entry.delta:+d}</b> {label}{note}")
    return lines


def _points_args(
    ctx: Context, hint: str, pattern: re.Pattern[str], number_hint: str
) -> tuple[int, int, str | None]:
    """Read ``<customer id> <points> [text]`` from the command's arguments.

    Raises:
        InvalidInput: with ``hint`` (or ``number_hint`` for the points) when they don't read.
    """
    words = ctx.incoming.args.split(maxsplit=2)
    if len(words) < 2:
        raise InvalidInput(hint)
    text = words[2] if len(words) > 2 else None
    return customer_id_arg(words[0], hint), _number(words[1], pattern, number_hint), text


def _number(text: str, pattern: re.Pattern[str], hint: str) -> int:
    value = text.strip().replace("−", "-")
    if not pattern.match(value):
        raise InvalidInput(hint)
    return int(value)


def _unit(currency: str) -> str:
    symbol = purchases.SYMBOLS.get(currency)
    return f"{symbol}1" if symbol else f"1 {currency}"
