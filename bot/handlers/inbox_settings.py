"""The shop's inbox settings, the owner's and admins': /hours, /replysla, /signature.

Opening hours decide what a customer writing at night is told; the reply time
decides when a waiting conversation reminds its rep and then the owner; the
signature puts the rep's name under every answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

from bot.callbacks import CallbackData, Flag
from bot.chat.context import Context
from bot.chat.router import MANAGERS, Router
from bot.crm.inbox import settings
from bot.crm.inbox.settings import Settings
from bot.crm.models import Member
from bot.errors import InvalidInput
from bot.i18n import N_, keyword
from bot.messaging import Button
from bot.views.quick import span

router = Router("inbox.settings", MANAGERS)


class HoursOff(CallbackData, prefix="iset:h"):
    """Make the shop always open (no opening hours)."""


class SlaOff(CallbackData, prefix="iset:s"):
    """Turn the reply SLA off."""


class SignatureSet(CallbackData, prefix="iset:g"):
    """Sign replies with the member's name (``on``) or stop signing them."""

    on: Annotated[bool, Flag("on")] = False


# Opening hours


@router.command(
    "hours", help=N_("opening hours for customers' messages"), usage=N_("09:00-21:00 | off")
)
async def cmd_hours(ctx: Context) -> None:
    """Show the opening hours, or set them ("09:00-21:00", "off")."""

    async def change(member: Member, args: str) -> Settings:
        hours = settings.parse_hours(args)
        return await settings.set_hours(ctx.session, actor=member, hours=hours)

    await _show_or_change(ctx, _show_hours, change)


@router.button(HoursOff)
async def on_hours_off(ctx: Context, pressed: HoursOff) -> None:
    """Make the shop always open."""
    member, _workspace = ctx.staff()
    shop = await settings.set_hours(ctx.session, actor=member, hours=None)
    _show_hours(ctx, shop, changed=True, edit=True)


def _show_hours(ctx: Context, shop: Settings, *, changed: bool, edit: bool = False) -> None:
    if shop.hours is None:
        text = ctx.t(
            N_(
                "🕘 Always open: customers are told someone will answer them here.\n"
                "Set opening hours with e.g. /hours 09:00-21:00."
            )
        )
        buttons = []
    else:
        text = ctx.t(
            N_(
                "🕘 Open {hours} ({zone}). A customer who writes outside these hours "
                "is told when to expect an answer.\n"
                "Change them with e.g. /hours 10:00-22:00."
            ),
            hours=shop.hours.show(),
            zone=shop.timezone,
        )
        buttons = [[HoursOff().button(ctx.t(N_("🔓 Always open")))]]
    _answer(ctx, text, buttons, changed=changed, edit=edit)


# Reply SLA


@router.command(
    "replysla",
    help=N_("how soon customers' messages must be answered"),
    usage=N_("30m | 2h | off"),
)
async def cmd_replysla(ctx: Context) -> None:
    """Show the reply SLA, or set it ("30m", "2h", "1h30m", "off")."""

    async def change(member: Member, args: str) -> Settings:
        minutes = settings.parse_sla(args)
        return await settings.set_reply_sla(ctx.session, actor=member, minutes=minutes)

    await _show_or_change(ctx, _show_sla, change)


@router.button(SlaOff)
async def on_sla_off(ctx: Context, pressed: SlaOff) -> None:
    """Turn the reply SLA off."""
    member, _workspace = ctx.staff()
    shop = await settings.set_reply_sla(ctx.session, actor=member, minutes=None)
    _show_sla(ctx, shop, changed=True, edit=True)


def _show_sla(ctx: Context, shop: Settings, *, changed: bool, edit: bool = False) -> None:
    if shop.reply_sla is None:
        text = ctx.t(
            N_(
                "⏱ No reply time is set: nobody is reminded of waiting customers.\n"
                "Set one with e.g. /replysla 30m."
            )
        )
        buttons = []
    else:
        text = ctx.t(
            N_(
                "⏱ Reply time {sla}. An unanswered conversation reminds its rep after {sla} "
                "and goes to the owner after {twice}."
            ),
            sla=span(shop.reply_sla, ctx.t),
            twice=span(shop.reply_sla * 2, ctx.t),
        )
        buttons = [[SlaOff().button(ctx.t(N_("🔕 Turn off")))]]
    _answer(ctx, text, buttons, changed=changed, edit=edit)


# Signature


@router.command(
    "signature", help=N_("sign replies to customers with the member's name"), usage=N_("on | off")
)
async def cmd_signature(ctx: Context) -> None:
    """Show whether replies are signed, or turn signing on or off."""

    async def change(member: Member, args: str) -> Settings:
        word = keyword(args)
        if word not in ("on", "off"):
            raise InvalidInput(N_("Send /signature on or /signature off."))
        return await settings.set_signature(ctx.session, actor=member, on=word == "on")

    await _show_or_change(ctx, _show_signature, change)


@router.button(SignatureSet)
async def on_signature(ctx: Context, pressed: SignatureSet) -> None:
    """Turn signing replies on or off."""
    member, _workspace = ctx.staff()
    shop = await settings.set_signature(ctx.session, actor=member, on=pressed.on)
    _show_signature(ctx, shop, changed=True, edit=True)


def _show_signature(ctx: Context, shop: Settings, *, changed: bool, edit: bool = False) -> None:
    member, _workspace = ctx.staff()
    if shop.sign_replies:
        text = ctx.t(
            N_("✍️ Replies to customers are signed with the member's name, like “— {name}”."),
            name=member.display_name,
        )
        button = SignatureSet().button(ctx.t(N_("Stop signing")))
    else:
        text = ctx.t(N_("✍️ Replies to customers are not signed."))
        button = SignatureSet(on=True).button(ctx.t(N_("Sign replies")))
    _answer(ctx, text, [[button]], changed=changed, edit=edit)


class _Show(Protocol):
    """Shows one setting of the shop, saying "Saved." first when it was just ``changed``."""

    def __call__(self, ctx: Context, shop: Settings, *, changed: bool) -> None: ...


async def _show_or_change(
    ctx: Context, show: _Show, change: Callable[[Member, str], Awaitable[Settings]]
) -> None:
    """Show a setting when the command has no argument, else change it and show the result."""
    member, _workspace = ctx.staff()
    args = ctx.incoming.args.strip()
    if not args:
        shop = await settings.get_settings(ctx.session, workspace_id=member.workspace_id)
        show(ctx, shop, changed=False)
        return
    show(ctx, await change(member, args), changed=True)


def _answer(
    ctx: Context, text: str, buttons: list[list[Button]], *, changed: bool, edit: bool
) -> None:
    """Show a setting (after "Saved." when it was just changed), in place after a tap."""
    if changed:
        text = ctx.t(N_("✅ Saved.")) + " " + text
    (ctx.edit if edit else ctx.reply)(text, buttons)
