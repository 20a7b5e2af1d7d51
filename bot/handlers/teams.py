"""Teams and ownership: teams of staff, removing people, sharing and reassigning customers."""

from __future__ import annotations

import html
from typing import Annotated

from bot.callbacks import CallbackData, Id
from bot.chat.context import Context
from bot.chat.router import MANAGERS, Router
from bot.crm import removal, teams
from bot.crm.models import Member
from bot.errors import InvalidInput, NotFound
from bot.handlers import pipeline
from bot.i18n import N_, P_, keyword
from bot.localtime import show_day
from bot.views import removal as removal_view
from bot.views.labels import ROLE_NAMES
from bot.views.removal import CancelRemoval, ConfirmRemoval, PickRemoval
from bot.views.replies import customer_id_arg, notify_member, show_with_card, two_args, who

admin_router = Router("teams.admin", MANAGERS)


class ReassignAll(CallbackData, prefix="rs"):
    """Move all customers of one member to another, confirmed."""

    source_id: Annotated[int, Id("member")]
    target_id: Annotated[int, Id("member")]


class CancelReassign(CallbackData, prefix="rs:x"):
    """Move nobody's customers."""


# Teams, sharing and reassigning


@admin_router.command(
    "team", help=N_("teams and members"), usage=N_("[new <name> | add <team> <member>]")
)
async def cmd_team(ctx: Context) -> None:
    """List members with ids, create a team or put a member into one."""
    member, _ = ctx.staff()
    words = ctx.incoming.args.split(maxsplit=2)
    action = (keyword(words[0]) or words[0]) if words else ""
    if action == "new" and len(words) > 1:
        team = await teams.create_team(ctx.session, actor=member, name=" ".join(words[1:]))
        done = N_("✅ Team {team} created. Add people with /team add {team} Li.")
        ctx.reply(ctx.t(done, team=team.name))
    elif action == "add" and len(words) == 3:
        team = await teams.find_team(ctx.session, actor=member, ref=words[1])
        colleague = await teams.find_member(ctx.session, actor=member, ref=words[2])
        await teams.add_to_team(ctx.session, actor=member, team=team, member=colleague)
        done = N_("✅ {member} is now in team {team}.")
        ctx.reply(ctx.t(done, member=colleague.display_name, team=team.name))
    elif action:
        raise InvalidInput(N_("Send /team, /team new North or /team add North Li."))
    else:
        lines = [ctx.t(N_("👥 <b>Team</b> (id · name · role · team)"))]
        for colleague, team_name in await teams.list_members(ctx.session, actor=member):
            lines.append(
                f"{colleague.id} · {html.escape(colleague.display_name)} · "
                f"{ctx.t(ROLE_NAMES[colleague.role])} · {html.escape(team_name) or '—'}"
            )
        gone = await teams.list_members(ctx.session, actor=member, removed=True)
        if gone:
            lines.append("\n" + ctx.t(N_("🚪 <b>No longer members</b> (id · name · since)")))
        for colleague, _ in gone:
            since = colleague.removed_at
            lines.append(
                f"{colleague.id} · {html.escape(colleague.display_name)} · "
                f"{show_day(since, ctx.tz) if since else '—'}"
            )
        ctx.reply("\n".join(lines))


@admin_router.command(
    "remove", help=N_("take someone out of the shop"), usage=N_("<member> [to <member>|pool]")
)
async def cmd_remove(ctx: Context) -> None:
    """Ask to confirm removing a colleague, and where their customers go."""
    member, _ = ctx.staff()
    if not ctx.incoming.args.strip():
        choices = await removal_view.removable_choices(ctx, member)
        if not choices:
            raise InvalidInput(N_("There's nobody you could remove."))
        ctx.reply(ctx.t(N_("Whom do you want to remove from the shop?")), choices)
        return
    name, to = removal_view.split_remove_args(ctx.incoming.args)
    try:
        colleague = await teams.find_member(ctx.session, actor=member, ref=name)
    except NotFound:
        # Someone already gone is named as such rather than "not found".
        colleague = await teams.find_member(
            ctx.session, actor=member, ref=name, include_inactive=True
        )
    count = await removal.check_removable(ctx.session, actor=member, member=colleague)
    if to is None:
        await removal_view.ask_destination(ctx, member, colleague, count)
        return
    target = None if removal_view.is_pool(to) else await _target(ctx, colleague, to)
    removal_view.confirm_to(ctx, colleague, target, count)


@admin_router.button(PickRemoval)
async def on_pick_removal(ctx: Context, pressed: PickRemoval) -> None:
    """Ask about removing the member picked, and where their customers go."""
    member, _ = ctx.staff()
    colleague = await _colleague(ctx, pressed.member_id)
    count = await removal.check_removable(ctx.session, actor=member, member=colleague)
    await removal_view.ask_destination(ctx, member, colleague, count)


admin_router.dismiss(CancelRemoval, N_("OK, nobody was removed."))


@admin_router.button(ConfirmRemoval)
async def on_remove(ctx: Context, pressed: ConfirmRemoval) -> None:
    """Carry out a confirmed removal."""
    member, _ = ctx.staff()
    colleague = await _colleague(ctx, pressed.member_id, include_inactive=True)
    target = await _colleague(ctx, pressed.target_id) if pressed.target_id else None
    done = await removal.remove_member(
        ctx.session, actor=member, member=colleague, target=target, now=ctx.now()
    )
    ctx.edit(removal_view.outcome(ctx, done, left=False))
    await removal_view.tell_everyone(ctx, member, done, left=False)


async def _colleague(ctx: Context, member_id: int, *, include_inactive: bool = False) -> Member:
    """Return the colleague a button names by id (also one who is gone, if asked)."""
    member, _ = ctx.staff()
    return await teams.find_member(
        ctx.session, actor=member, ref=str(member_id), include_inactive=include_inactive
    )


async def _target(ctx: Context, colleague: Member, ref: str) -> Member:
    member, _ = ctx.staff()
    target = await teams.find_member(ctx.session, actor=member, ref=ref)
    removal.check_target(member, colleague, target)
    return target


@admin_router.command("share", help=N_("let a rep see a customer"), usage=N_("<id> <member>"))
async def cmd_share(ctx: Context) -> None:
    """Share a customer with a rep who does not own it."""
    member, _ = ctx.staff()
    hint = N_("Send it like this: /share 12 Li")
    first, rest = two_args(ctx, hint)
    colleague = await teams.find_member(ctx.session, actor=member, ref=rest)
    customer = await teams.share_customer(
        ctx.session, actor=member, customer_id=customer_id_arg(first, hint), member=colleague
    )
    done = N_("✅ {member} can now see {who}.")
    show_with_card(ctx, ctx.t(done, member=colleague.display_name, who=who(customer)), customer)


@admin_router.command(
    "reassign", help=N_("move customers to another rep"), usage=N_("<id|from member> <to member>")
)
async def cmd_reassign(ctx: Context) -> None:
    """Move one customer (a number first) or all of a member's customers, after confirming."""
    member, _ = ctx.staff()
    hint = N_("Send /reassign 12 Chen for one customer, or /reassign Li Chen for all of Li's.")
    first, rest = two_args(ctx, hint)
    if first.lstrip("#").isdigit():
        await pipeline.assign(ctx, customer_id_arg(first, hint), rest)
        return
    source = await teams.find_member(ctx.session, actor=member, ref=first, include_inactive=True)
    target = await teams.find_member(ctx.session, actor=member, ref=rest)
    if source.id == target.id:
        raise InvalidInput(N_("Please pick two different colleagues."))
    count = await teams.count_owned(ctx.session, actor=member, member=source)
    if count == 0:
        raise InvalidInput(
            N_("{member} has no customers to move to someone else."), member=source.display_name
        )
    ctx.reply(
        ctx.t(
            P_(
                "Move the {count} customer of {source} to {target}?",
                "Move all {count} customers of {source} to {target}?",
            ),
            count=count,
            source=source.display_name,
            target=target.display_name,
        ),
        [
            [
                ReassignAll(source_id=source.id, target_id=target.id).button(
                    ctx.t(N_("✅ Move {count}"), count=count)
                ),
                CancelReassign().button(ctx.t(N_("Cancel"))),
            ]
        ],
    )


admin_router.dismiss(CancelReassign, N_("OK, nothing was moved."))


@admin_router.button(ReassignAll)
async def on_reassign(ctx: Context, pressed: ReassignAll) -> None:
    """Carry out a confirmed batch reassignment."""
    member, _ = ctx.staff()
    source = await _colleague(ctx, pressed.source_id, include_inactive=True)
    target = await _colleague(ctx, pressed.target_id)
    moved = await teams.reassign_all(
        ctx.session, actor=member, source=source, target=target, now=ctx.now()
    )
    ctx.edit(
        ctx.t(
            P_(
                "✅ Moved {count} customer from {source} to {target}.",
                "✅ Moved {count} customers from {source} to {target}.",
            ),
            count=moved,
            source=source.display_name,
            target=target.display_name,
        )
    )
    if moved and target.id != member.id:
        note = P_(
            "📥 {member} moved {count} customer of {source} to you.",
            "📥 {member} moved {count} customers of {source} to you.",
        )
        names = {"member": member.display_name, "source": source.display_name}
        await notify_member(ctx, target, note, count=moved, **names)
