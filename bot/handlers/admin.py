"""Admin commands (owner and admins): inviting staff and withdrawing invites."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from bot.callbacks import CallbackData, Choice, Id
from bot.chat.context import Context
from bot.chat.router import MANAGERS, Router
from bot.crm import invites
from bot.crm.models import Role
from bot.i18n import N_, keyword
from bot.localtime import show_minute
from bot.views.labels import ROLE_NAMES

router = Router("admin", MANAGERS)


class InviteRole(CallbackData, prefix="iv:new"):
    """Invite someone for this role."""

    role: Annotated[Role, Choice(Role)]


class WithdrawInvite(CallbackData, prefix="iv:rv"):
    """Withdraw an invite before it is used."""

    invite_id: Annotated[int, Id("invite")]


@router.command("invite", help=N_("invite a colleague"), usage=N_("staff|admin"))
async def cmd_invite(ctx: Context) -> None:
    """Create an invite for the role given, or ask which role with buttons."""
    member, workspace = ctx.staff()
    arg = keyword(ctx.incoming.args) or ""
    choices = invites.GRANTABLE[member.role]
    if arg not in {r.value for r in choices}:
        ctx.reply(
            ctx.t(N_("Whom do you want to invite?")),
            [[InviteRole(role=r).button(ctx.t(ROLE_NAMES[r])) for r in choices]],
        )
        return
    await _issue(ctx, Role(arg))


@router.button(InviteRole)
async def on_invite_button(ctx: Context, pressed: InviteRole) -> None:
    """Create an invite for the role on the pressed button."""
    await _issue(ctx, pressed.role)


@router.button(WithdrawInvite)
async def on_withdraw_button(ctx: Context, pressed: WithdrawInvite) -> None:
    """Withdraw the invite on the pressed button."""
    await invites.revoke_invite(
        ctx.session, actor=ctx.staff()[0], invite_id=pressed.invite_id, now=ctx.now()
    )
    ctx.answer(ctx.t(N_("Invite withdrawn")))
    ctx.edit(ctx.t(N_("🚫 This invite was withdrawn; the link no longer works.")))


async def _issue(ctx: Context, role: Role) -> None:
    member, workspace = ctx.staff()
    issued = await invites.issue_invite(
        ctx.session,
        workspace_id=workspace.id,
        role=role,
        now=ctx.now(),
        ttl=timedelta(hours=ctx.app.invite_ttl_hours),
        actor=member,
    )
    expires = show_minute(issued.invite.expires_at, ctx.tz)
    ctx.reply(
        ctx.t(
            N_(
                "✉️ Invite for a new <b>{role}</b> of {shop}. Send them this link; it works "
                "once and until {expires}:\n{link}"
            ),
            role=ctx.t(ROLE_NAMES[role]),
            shop=workspace.name,
            expires=expires,
            link=ctx.deep_link(f"inv_{issued.code}"),
        ),
        [[WithdrawInvite(invite_id=issued.invite.id).button(ctx.t(N_("🚫 Withdraw invite")))]],
    )
