"""Leads: the pipeline stages, the unassigned-lead pool, claiming and assigning."""

from __future__ import annotations

import html
import logging
from typing import Annotated

from bot.callbacks import CallbackData, Choice, Id, Int
from bot.chat.context import Context
from bot.chat.router import MANAGERS, MEMBERS, Router
from bot.crm import leads, teams
from bot.crm.models import Customer
from bot.crm.scope import get_visible
from bot.errors import InvalidInput
from bot.i18n import N_, P_, keyword
from bot.messaging import Button
from bot.views.replies import (
    CONVERTED,
    customer_id_arg,
    notify_member,
    show_with_card,
    two_args,
    who,
)

logger = logging.getLogger(__name__)
router = Router("pipeline", MEMBERS)
admin_router = Router("pipeline.admin", MANAGERS)
MAX_PICK = 12
MAX_OFFSET = 1_000_000


class MoveStage(CallbackData, prefix="st"):
    """Move a customer to a stage."""

    customer_id: Annotated[int, Id("customer")]
    stage: Annotated[str, Choice(leads.STAGES)]


class ClaimLead(CallbackData, prefix="pl:c"):
    """Take a lead from the pool."""

    customer_id: Annotated[int, Id("customer")]


class PoolPage(CallbackData, prefix="pl:p"):
    """Show another page of the lead pool in place, ``offset`` leads in."""

    offset: Annotated[int, Int(0, MAX_OFFSET)]


class PickAssignee(CallbackData, prefix="pl:a"):
    """Ask whom to give a pool lead to (owner and admins)."""

    customer_id: Annotated[int, Id("customer")]


class AssignLead(CallbackData, prefix="pl:t"):
    """Give a lead to the member picked (owner and admins)."""

    customer_id: Annotated[int, Id("customer")]
    member_id: Annotated[int, Id("member")]


# Stages


@router.command("stages", help=N_("the pipeline stages"), usage=N_("[rename <stage> <name>]"))
async def cmd_stages(ctx: Context) -> None:
    """List the stages, or rename one (owner and admins)."""
    member, workspace = ctx.staff()
    words = ctx.incoming.args.split(maxsplit=2)
    if words and keyword(words[0]) == "rename":
        if len(words) < 3:
            raise InvalidInput(N_("Send it like this: /stages rename won Paid"))
        await leads.rename_stage(
            ctx.session, actor=member, workspace=workspace, key=words[1], label=words[2]
        )
        ctx.reply(ctx.t(N_("✅ Stage renamed.")) + "\n\n" + _stage_list(ctx))
        return
    ctx.reply(_stage_list(ctx))


@router.command("stage", help=N_("move a customer to a stage"), usage=N_("<id> [stage]"))
async def cmd_stage(ctx: Context) -> None:
    """Move a customer to the stage typed, or offer the stages as buttons."""
    member, workspace = ctx.staff()
    words = ctx.incoming.args.split(maxsplit=1)
    customer_id = customer_id_arg(
        words[0] if words else "", N_("Send it like this: /stage 12 won")
    )
    if len(words) < 2:
        customer = await get_visible(ctx.session, actor=member, customer_id=customer_id)
        text = N_("{who} is at stage <b>{stage}</b>. Move to:")
        stage = _stage_name(ctx, customer.stage)
        ctx.reply(ctx.t(text, who=who(customer), stage=stage), _stage_buttons(ctx, customer))
        return
    await _move(ctx, customer_id, leads.resolve_stage(workspace, words[1]))


@router.button(MoveStage)
async def on_stage(ctx: Context, pressed: MoveStage) -> None:
    """Move a customer to the stage on the pressed button."""
    await _move(ctx, pressed.customer_id, pressed.stage, edit=True)


async def _move(ctx: Context, customer_id: int, stage: str, *, edit: bool = False) -> None:
    member, _ = ctx.staff()
    change = await leads.move_stage(
        ctx.session, actor=member, customer_id=customer_id, stage=stage
    )
    text = ctx.t(
        N_("✅ {who} moved from {old} to <b>{new}</b>."),
        who=who(change.customer),
        old=_stage_name(ctx, change.previous),
        new=_stage_name(ctx, stage),
    )
    if change.converted:
        text += "\n" + ctx.t(CONVERTED)
    show_with_card(ctx, text, change.customer, edit=edit)


def _stage_list(ctx: Context) -> str:
    lines = [ctx.t(N_("📊 <b>Stages</b>"))]
    lines += [f"• {html.escape(_stage_name(ctx, key))}" for key in leads.STAGES]
    return "\n".join(lines)


def _stage_name(ctx: Context, key: str) -> str:
    assert ctx.workspace is not None  # noqa: S101 - member routers only
    label = leads.stage_label(ctx.workspace, key)
    return label or ctx.t(leads.DEFAULT_LABELS.get(key, key))


def _stage_buttons(ctx: Context, customer: Customer) -> list[list[Button]]:
    keys = [k for k in leads.STAGES if k != customer.stage]
    buttons = [
        MoveStage(customer_id=customer.id, stage=k).button(_stage_name(ctx, k)) for k in keys
    ]
    return [buttons[:3], buttons[3:]]


# The lead pool


@router.command("pool", help=N_("unassigned leads waiting for a rep"))
async def cmd_pool(ctx: Context) -> None:
    """List the oldest unowned leads with Claim (and for managers Assign) buttons."""
    await _show_pool(ctx, offset=0, edit=False)


@router.button(PoolPage)
async def on_pool_page(ctx: Context, pressed: PoolPage) -> None:
    """Show the page of the pool the pressed ◀️ or ▶️ leads to, in the same message."""
    await _show_pool(ctx, offset=pressed.offset, edit=True)


async def _show_pool(ctx: Context, *, offset: int, edit: bool) -> None:
    member, _ = ctx.staff()
    waiting, total = await leads.list_pool(ctx.session, actor=member, offset=offset)
    if not waiting and offset > 0 and total:
        # Leads were claimed meanwhile: show the last page there still is.
        offset = (total - 1) // leads.POOL_PAGE * leads.POOL_PAGE
        waiting, total = await leads.list_pool(ctx.session, actor=member, offset=offset)
    if not waiting:
        text = ctx.t(N_("🎉 The lead pool is empty."))
        if edit:
            ctx.edit(text)
        else:
            ctx.reply(text)
        return
    if total > len(waiting):
        head = N_("📥 <b>Lead pool</b>: {count} waiting, oldest first ({first}–{last}):")
        lines = [ctx.t(head, count=total, first=offset + 1, last=offset + len(waiting))]
    else:
        lines = [ctx.t(N_("📥 <b>Lead pool</b>: {count} waiting"), count=total)]
    rows: list[list[Button]] = []
    for customer in waiting:
        lines.append(f"• {who(customer)}")
        row = [ClaimLead(customer_id=customer.id).button(ctx.t(N_("Claim #{id}"), id=customer.id))]
        if member.role in MANAGERS:
            assign = PickAssignee(customer_id=customer.id)
            row.append(assign.button(ctx.t(N_("Assign #{id}"), id=customer.id)))
        rows.append(row)
    nav: list[Button] = []
    if offset > 0:
        back = PoolPage(offset=max(0, offset - leads.POOL_PAGE))
        nav.append(back.button(ctx.t(N_("◀️ Older"))))
    if offset + len(waiting) < total:
        more = PoolPage(offset=min(offset + leads.POOL_PAGE, MAX_OFFSET))
        nav.append(more.button(ctx.t(N_("Newer ▶️"))))
    if nav:
        rows.append(nav)
    if edit:
        ctx.edit("\n".join(lines), rows)
    else:
        ctx.reply("\n".join(lines), rows)


@router.command("claim", help=N_("take a lead from the pool"), usage=N_("<id>"))
async def cmd_claim(ctx: Context) -> None:
    """Make a pool lead the sender's own."""
    await _claim(ctx, customer_id_arg(ctx.incoming.args, N_("Send it like this: /claim 12")))


async def _claim(ctx: Context, customer_id: int, *, edit: bool = False) -> None:
    member, _ = ctx.staff()
    customer = await leads.claim_lead(
        ctx.session, actor=member, customer_id=customer_id, now=ctx.now()
    )
    show_with_card(
        ctx,
        ctx.t(N_("✅ {who} is your lead now. Good luck!"), who=who(customer)),
        customer,
        edit=edit,
    )


@router.button(ClaimLead)
async def on_claim(ctx: Context, pressed: ClaimLead) -> None:
    """Take the lead on the pressed button."""
    await _claim(ctx, pressed.customer_id, edit=True)


@admin_router.button(PickAssignee)
async def on_pick_assignee(ctx: Context, pressed: PickAssignee) -> None:
    """Offer the members who could take a lead, one button each."""
    member, _ = ctx.staff()
    customer = await get_visible(ctx.session, actor=member, customer_id=pressed.customer_id)
    people = [m for m, _ in await teams.list_members(ctx.session, actor=member)][:MAX_PICK]
    rows = [
        [AssignLead(customer_id=customer.id, member_id=m.id).button(m.display_name)]
        for m in people
    ]
    ctx.edit(ctx.t(N_("Who should take {who}?"), who=who(customer)), rows)


@admin_router.button(AssignLead)
async def on_assign(ctx: Context, pressed: AssignLead) -> None:
    """Give the lead to the member picked."""
    await assign(ctx, pressed.customer_id, str(pressed.member_id), edit=True)


@admin_router.command("assign", help=N_("give a lead to a rep"), usage=N_("<id> <member>"))
async def cmdassign(ctx: Context) -> None:
    """Give a customer to the member named."""
    first, rest = two_args(ctx, N_("Send it like this: /assign 12 Li"))
    await assign(ctx, customer_id_arg(first, N_("Send it like this: /assign 12 Li")), rest)


async def assign(ctx: Context, customer_id: int, ref: str, *, edit: bool = False) -> None:
    """Give a visible lead to the member ``ref`` names, and tell them."""
    member, _ = ctx.staff()
    owner = await teams.find_member(ctx.session, actor=member, ref=ref)
    await leads.assign_customer(
        ctx.session, actor=member, customer_id=customer_id, owner=owner, now=ctx.now()
    )
    customer = await get_visible(ctx.session, actor=member, customer_id=customer_id)
    text = ctx.t(
        N_("✅ {who} now belongs to {member}."), who=who(customer), member=owner.display_name
    )
    show_with_card(ctx, text, customer, edit=edit)
    if owner.id != member.id:
        note = N_("📥 {member} gave you {who}.")
        await notify_member(ctx, owner, note, member=member.display_name, who=who(customer))


@admin_router.command(
    "leaddays", help=N_("days before an untouched lead returns to the pool"), usage=N_("<days>")
)
async def cmd_leaddays(ctx: Context) -> None:
    """Show or set after how many days without follow-up a lead returns to the pool."""
    member, workspace = ctx.staff()
    arg = ctx.incoming.args.strip()
    if arg:
        if not arg.isdigit():
            raise InvalidInput(N_("Send it like this: /leaddays 14 (0 turns it off)"))
        await leads.set_return_days(ctx.session, actor=member, workspace=workspace, days=int(arg))
    days = workspace.lead_return_days
    off = N_("⏰ Leads never return to the pool by themselves.")
    on = P_(
        "⏰ A lead without follow-up for {days} day returns to the pool.",
        "⏰ A lead without follow-up for {days} days returns to the pool.",
        by="days",
    )
    ctx.reply(ctx.t(on, days=days) if days else ctx.t(off))
