"""The card's screen for a field of several choices (preferences): tick and untick by taps."""

from __future__ import annotations

from typing import Annotated

from bot.callbacks import CallbackData, Id
from bot.chat.context import Context
from bot.crm import fields
from bot.crm.models import Customer, FieldOption
from bot.errors import NotFound
from bot.i18n import N_
from bot.messaging import Button
from bot.views.card import card_button
from bot.views.fields import field_name, option_buttons, value_names
from bot.views.replies import who


class CardPick(CallbackData, prefix="ca:p"):
    """Tick an option of a several-choice field on a card's customer, or untick it."""

    customer_id: Annotated[int, Id("customer")]
    option_id: Annotated[int, Id("field_option")]


async def pick_screen(
    ctx: Context, customer: Customer, field: str
) -> tuple[str, list[list[Button]]]:
    """Return the customer's choices of ``field`` with a button per option (✅ = chosen)."""
    listed = await fields.options(ctx.session, workspace_id=customer.workspace_id, field=field)
    chosen = getattr(customer, field) or []
    names = ", ".join(value_names(ctx.t, listed, field, chosen)) or "—"
    text = ctx.t(
        N_("❤️ {who} · {field}: {values}\nTap to tick or untick (✅ = chosen)."),
        who=who(customer),
        field=field_name(ctx.t, field),
        values=names,
    )
    if not listed:
        text += "\n" + ctx.t(N_("The list is empty. Admins add options with /fields."))
    buttons = option_buttons(
        ctx.t,
        listed,
        lambda o: CardPick(customer_id=customer.id, option_id=o.id),
        chosen=chosen,
    )
    return text, [*buttons, [card_button(ctx.t, customer.id)]]


async def pressed_option(ctx: Context, option_id: int) -> FieldOption:
    """Return an option of the sender's shop; another shop's or a removed one has expired."""
    member, _ = ctx.staff()
    try:
        return await fields.get_option(
            ctx.session, workspace_id=member.workspace_id, option_id=option_id
        )
    except NotFound:
        raise ctx.expired() from None
