"""Dialogs the card's act buttons open: a reminder and a purchase for the card's customer.

Each asks one question, with the customer already chosen, and then does what
/remind or /buy does. An ambiguous reminder time hands over to /remind's ask-back.
"""

from __future__ import annotations

from enum import StrEnum

from bot.chat import engine
from bot.chat.context import Context
from bot.chat.engine import DONE, Data, dialog
from bot.conversations import log_followup
from bot.conversations.log_followup import REMIND
from bot.crm import purchases, reminders
from bot.crm.when import Ambiguous, parse_leading_when
from bot.i18n import N_
from bot.views.replies import show_purchase

MAX_ANSWER = 600


class CardRemindStep(StrEnum):
    """The single question of a reminder from the card, persisted by value."""

    WHAT = "what"


class CardBuyStep(StrEnum):
    """The single question of a purchase from the card, persisted by value."""

    AMOUNT = "amount"


async def ask_what(ctx: Context, data: Data) -> None:
    """Ask when, and what, to be reminded of."""
    ctx.reply(
        ctx.t(
            N_(
                "⏰ Reminder about <b>{name}</b> (#{id}): when, and what? "
                "E.g. “tomorrow 10:00 call back” or “3d send samples”. (/cancel to stop)"
            ),
            name=data["customer_name"],
            id=data["customer_id"],
        )
    )


async def receive_what(ctx: Context, data: Data) -> str:
    """Read the time and the text, as /remind reads what follows the customer's id."""
    hint = N_("Please send the time and then what to do, e.g. “tomorrow 10:00 call back”.")
    text = engine.text_answer(ctx, hint, most=MAX_ANSWER)
    parsed, rest = parse_leading_when(text, now=ctx.now(), tz=ctx.tz)
    data["text"] = reminders.clean_text(rest)
    if isinstance(parsed, Ambiguous):
        data["choices"] = [c.isoformat() for c in parsed.candidates]
    else:
        data["next_at"] = parsed.isoformat()
    return DONE


async def finish_remind(ctx: Context, data: Data) -> None:
    """Create the reminder, or ask which time was meant as /remind does."""
    if data.get("choices"):
        await engine.start(ctx, REMIND, data)
        return
    await log_followup.finish_remind(ctx, data)


async def ask_amount(ctx: Context, data: Data) -> None:
    """Ask for the amount, and an optional note after it."""
    ctx.reply(
        ctx.t(
            N_(
                "💰 Purchase by <b>{name}</b> (#{id}): how much? A note may follow "
                "the amount, e.g. “128.50 Longjing 250g”. (/cancel to stop)"
            ),
            name=data["customer_name"],
            id=data["customer_id"],
        )
    )


async def receive_amount(ctx: Context, data: Data) -> str:
    """Read the amount and the note, as /buy reads what follows the customer's id."""
    hint = N_("Please send the amount, and a note after it if you like: “128.50 Longjing 250g”.")
    words = engine.text_answer(ctx, hint, most=MAX_ANSWER).split(maxsplit=1)
    data["amount"] = purchases.parse_amount(words[0])
    data["note"] = words[1] if len(words) > 1 else None
    return DONE


async def finish_buy(ctx: Context, data: Data) -> None:
    """Record the purchase and show the customer's totals, as /buy does."""
    member, workspace = ctx.staff()
    amount: int = data["amount"]
    done = await purchases.record_purchase(
        ctx.session,
        actor=member,
        customer_id=data["customer_id"],
        amount_minor=amount,
        note=data["note"],
        now=ctx.now(),
    )
    show_purchase(ctx, done, currency=workspace.currency)


CARD_REMIND = dialog("card_remind", CardRemindStep, finish_remind)
CARD_BUY = dialog("card_buy", CardBuyStep, finish_buy)
