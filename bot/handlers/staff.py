"""Staff commands every member may use: their profile, their referral link and leaving."""

from __future__ import annotations

from typing import Annotated

from bot.callbacks import CallbackData, Choice
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MEMBERS, Router
from bot.conversations.profile import PROFILE
from bot.crm import removal
from bot.i18n import N_, P_
from bot.views import removal as removal_view

router = Router("staff", MEMBERS)


class LeaveAnswer(CallbackData, prefix="lv"):
    """Confirm leaving the shop (``y``) or stay (``x``)."""

    answer: Annotated[str, Choice(("y", "x"))]


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


@router.command("leave", help=N_("leave the shop (you quit)"))
async def cmd_leave(ctx: Context) -> None:
    """Ask a member who quits to confirm; the owner is told they can't leave."""
    member, workspace = ctx.staff()
    removal.check_leavable(member)
    count = await removal.count_owned(ctx.session, actor=member)
    text = (
        P_(
            "Leave {shop}? Your {count} customer goes to the shop's pool, your pending "
            "reminders are cancelled, and you won't be able to use the shop's commands any "
            "more.",
            "Leave {shop}? Your {count} customers go to the shop's pool, your pending "
            "reminders are cancelled, and you won't be able to use the shop's commands any "
            "more.",
        )
        if count
        else N_(
            "Leave {shop}? Your pending reminders are cancelled, and you won't be able to "
            "use the shop's commands any more."
        )
    )
    ctx.reply(
        ctx.t(text, shop=workspace.name, count=count),
        [
            [
                LeaveAnswer(answer="y").button(ctx.t(N_("🚪 Leave the shop"))),
                LeaveAnswer(answer="x").button(ctx.t(N_("Cancel"))),
            ]
        ],
    )


@router.button(LeaveAnswer)
async def on_leave(ctx: Context, pressed: LeaveAnswer) -> None:
    """Carry out a confirmed /leave, or stay."""
    if pressed.answer != "y":
        ctx.edit(ctx.t(N_("Good, you're staying.")))
        return
    member, _ = ctx.staff()
    done = await removal.leave_shop(ctx.session, actor=member, now=ctx.now())
    ctx.edit(removal_view.outcome(ctx, done, left=True))
    await removal_view.tell_everyone(ctx, member, done, left=True)
