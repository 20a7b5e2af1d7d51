"""Staff commands every member may use: their profile and their referral link."""

from __future__ import annotations

from bot.conversations import engine
from bot.conversations.profile import PROFILE
from bot.handlers.context import Context
from bot.handlers.router import MEMBERS, Router
from bot.i18n import N_

router = Router("staff", MEMBERS)


@router.command("profile", help=N_("set your name and phone"))
async def cmd_profile(ctx: Context) -> None:
    """Start the /profile dialog."""
    await engine.start(ctx, PROFILE)


@router.command("mylink", help=N_("your link for customers to join as your leads"))
async def cmd_mylink(ctx: Context) -> None:
    """Send the member's referral link and the shop's public join link."""
    member, workspace = ctx.staff()
    ctx.reply(
        ctx.t(
            N_(
                "🔗 Your personal link — customers who open it become your leads:\n{mine}\n\n"
                "The shop's general link (new leads go to the shared pool):\n{shop}"
            ),
            mine=ctx.deep_link(f"r_{member.referral_code}"),
            shop=ctx.deep_link(f"w_{workspace.slug}"),
        )
    )
