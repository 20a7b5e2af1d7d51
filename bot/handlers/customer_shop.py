"""A customer of several shops says which shop their messages are for: /shop.

``/shop`` is also the owner's settings command; the owner's router comes first in
``bot.handlers.ROUTERS`` and takes it from the owner, so this router gets it from
everyone else and refuses other members as the dispatcher refuses a command.
"""

from __future__ import annotations

from typing import Annotated

from bot.callbacks import CallbackData, Id
from bot.chat.context import Context
from bot.chat.router import ANYONE, Router
from bot.crm.inbox import shops
from bot.crm.models import Workspace
from bot.errors import NotFound
from bot.handlers.inbox import JOIN_HINT
from bot.i18n import N_
from bot.messaging import Keyboard

router = Router("customer.shop", ANYONE)
NOT_FOR_YOU = N_("Sorry, /{command} isn't available to you. Send /help to see what you can do.")
LABEL_LENGTH = 40


class SwitchShop(CallbackData, prefix="ib:w"):
    """Send the customer's messages to this shop from now on."""

    workspace_id: Annotated[int, Id("workspace")]


@router.command("shop", help=N_("choose which shop your messages go to"), for_members=False)
async def cmd_shop(ctx: Context) -> None:
    """Say which shop the sender's messages go to and, for several, offer the others."""
    if ctx.member is not None:
        raise ctx.refusal(NOT_FOR_YOU, command="shop")
    records = await shops.records_of(ctx.session, tg_user_id=ctx.user_id)
    if not records:
        ctx.reply(ctx.t(JOIN_HINT))
        return
    if len(records) == 1:
        ctx.reply(ctx.t(N_("✉️ Your messages go to <b>{shop}</b>."), shop=records[0][0].name))
        return
    current = await _current(ctx)
    if current is None:
        text = ctx.t(N_("✉️ Which shop should your messages go to? Tap one."))
    else:
        text = ctx.t(
            N_("✉️ Your messages go to <b>{shop}</b>. Tap another shop to write to it instead."),
            shop=current.name,
        )
    ctx.reply(text, _buttons([ws for ws, _ in records], current))


@router.button(SwitchShop)
async def on_switch_shop(ctx: Context, pressed: SwitchShop) -> None:
    """Send the sender's messages to the shop tapped; a shop they are no customer of expired."""
    if ctx.member is not None:
        raise ctx.expired()
    try:
        customer = await shops.choose_shop(
            ctx.session, tg_user_id=ctx.user_id, workspace_id=pressed.workspace_id, now=ctx.now()
        )
    except NotFound as exc:
        raise ctx.expired() from exc
    records = await shops.records_of(ctx.session, tg_user_id=ctx.user_id)
    chosen = next(ws for ws, c in records if c.id == customer.id)
    ctx.edit(
        ctx.t(N_("✅ Done: your messages now go to <b>{shop}</b>."), shop=chosen.name),
        _buttons([ws for ws, _ in records], chosen),
    )


async def _current(ctx: Context) -> Workspace | None:
    """Return the shop the sender's next message would go to without asking, if any."""
    route = await shops.route(ctx.session, tg_user_id=ctx.user_id)
    if route.customer is None:
        return None
    return await ctx.session.get(Workspace, route.customer.workspace_id)


def _buttons(workspaces: list[Workspace], current: Workspace | None) -> Keyboard:
    chosen = current.id if current is not None else None
    return [
        [
            SwitchShop(workspace_id=ws.id).button(
                ("✅ " if ws.id == chosen else "") + ws.name[:LABEL_LENGTH]
            )
        ]
        for ws in workspaces
    ]
