"""Owner commands: the shop's settings and links at a glance."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.chat.context import Context
from bot.chat.router import Router
from bot.crm.models import Customer, Member, Role
from bot.i18n import N_
from bot.views.labels import language_name

router = Router("owner", frozenset({Role.OWNER}))


@router.command("shop", help=N_("your shop's settings, links and team size"))
async def cmd_shop(ctx: Context) -> None:
    """Show the workspace's settings, public join link and head counts."""
    assert ctx.workspace is not None  # noqa: S101 - router guard
    ws = ctx.workspace
    members = await ctx.session.scalar(
        select(func.count())
        .select_from(Member)
        .where(Member.workspace_id == ws.id, Member.active.is_(True))
    )
    people = await ctx.session.scalar(
        select(func.count()).select_from(Customer).where(Customer.workspace_id == ws.id)
    )
    ctx.reply(
        ctx.t(
            N_(
                "🏪 <b>{shop}</b>\nTime zone: {tz}\nLanguage: {lang}\nPhone region: {region}\n"
                "Team: {members}\nLeads and customers: {people}\n\n"
                "Customers join with this link:\n{link}"
            ),
            shop=ws.name,
            tz=ws.timezone,
            lang=language_name(ctx.t, ws.locale),
            region=ws.region or "—",
            members=members or 0,
            people=people or 0,
            link=ctx.deep_link(f"w_{ws.slug}"),
        )
    )
