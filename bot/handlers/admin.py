"""Admin commands (owner and admins): inviting staff and withdrawing invites."""

from __future__ import annotations

from datetime import timedelta

from bot.chat.context import Context
from bot.chat.router import MANAGERS, Router
from bot.crm import invites
from bot.crm.models import Role
from bot.i18n import N_
from bot.localtime import show_minute
from bot.messaging import Button
from bot.views.labels import ROLE_NAMES

router = Router("admin", MANAGERS)


@router.command("invite", help=N_("invite a colleague"), usage="staff|admin")
async def cmd_invite(ctx: Context) -> None:
    """Create an invite for the role given, or ask which role with buttons."""
    member, workspace = ctx.staff()
    arg = ctx.incoming.args.strip().lower()
    choices = invites.GRANTABLE[member.role]
    if arg not in {r.value for r in choices}:
        ctx.reply(
            ctx.t(N_("Whom do you want to invite?")),
            [[Button(ctx.t(ROLE_NAMES[r]), f"iv:new:{r.value}") for r in choices]],
        )
        return
    await _issue(ctx, Role(arg))


@router.callback("iv")
async def on_invite_button(ctx: Context) -> None:
    """Create an invite from the role buttons, or withdraw one."""
    _, action, value = (ctx.incoming.data or "::").split(":", 2)
    if action == "new" and value in {r.value for r in Role}:
        ctx.answer()
        await _issue(ctx, Role(value))
        return
    if action == "rv" and value.isdigit():
        await invites.revoke_invite(
            ctx.session, actor=ctx.staff()[0], invite_id=int(value), now=ctx.now()
        )
        ctx.answer(ctx.t(N_("Invite withdrawn")))
        ctx.edit(ctx.t(N_("🚫 This invite was withdrawn; the link no longer works.")))
        return
    ctx.answer()


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
        [[Button(ctx.t(N_("🚫 Withdraw invite")), f"iv:rv:{issued.invite.id}")]],
    )
