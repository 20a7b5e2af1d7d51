"""The complaint desk for members: the list, a complaint's card, take and resolve; /sla.

Staff see the complaints assigned to them; the owner and admins see them all (an
admin limited to a team, those of the customers their team reaches) and may take
one over. The services check the same rules again.
"""

from __future__ import annotations

import html

from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MANAGERS, MEMBERS, Router
from bot.conversations.resolve_complaint import RESOLVE
from bot.crm import complaints
from bot.crm.models import Complaint, ComplaintStatus, Customer, Member
from bot.crm.scope import within_reach
from bot.errors import Conflict, InvalidInput
from bot.i18n import N_, P_, Raw
from bot.localtime import show_short
from bot.messaging import Button, Keyboard
from bot.views.card import card_button
from bot.views.complaint import STATUS_NAMES, ComplaintAction, send_photo

router = Router("complaints.staff", MEMBERS)
admin_router = Router("complaints.admin", MANAGERS)
CARD_HINT = N_("Send it like this: /complaint 12")
MAX_BUTTONS = 8


@router.command("complaints", help=N_("open complaints and their due times"))
async def cmd_complaints(ctx: Context) -> None:
    """List the unresolved complaints the member handles, most urgent first."""
    member, _ = ctx.staff()
    found = await complaints.list_for(ctx.session, actor=member)
    if not found:
        ctx.reply(ctx.t(N_("📣 No open complaints. 🎉")))
        return
    now = ctx.now()
    lines = [ctx.t(N_("📣 <b>Open complaints</b>: {count}"), count=len(found))]
    buttons: list[list[Button]] = []
    for complaint, customer in found:
        mark = "🔴" if complaint.due_at <= now else "🕒"
        lines.append(
            f"{mark} #{complaint.id} · {html.escape(customer.name)} · "
            + ctx.t(
                N_("due {when} · {status}"),
                when=show_short(complaint.due_at, ctx.tz),
                status=ctx.t(STATUS_NAMES[complaint.status.value]),
            )
        )
        if len(buttons) < MAX_BUTTONS:
            label = f"#{complaint.id} {customer.name}"[:40]
            buttons.append([ComplaintAction(action="o", complaint_id=complaint.id).button(label)])
    ctx.reply("\n".join(lines), buttons)


@router.command("complaint", help=N_("a complaint's details"), usage=N_("<id>"))
async def cmd_complaint(ctx: Context) -> None:
    """Show one complaint's card with Take and Resolve buttons."""
    member, _ = ctx.staff()
    arg = ctx.incoming.args.strip().lstrip("#")
    if not arg.isdigit() or len(arg) > 12:
        raise InvalidInput(CARD_HINT)
    complaint, customer = await complaints.get_for(
        ctx.session, actor=member, complaint_id=int(arg)
    )
    text, buttons = await _card(ctx, complaint, customer)
    ctx.reply(text, buttons)


@router.button(ComplaintAction)
async def on_complaint_button(ctx: Context, pressed: ComplaintAction) -> None:
    """Open a card (``cm:o``), take (``cm:t``), resolve (``cm:r``) or show the photo (``cm:p``)."""
    member, _ = ctx.staff()
    action, complaint_id = pressed.action, pressed.complaint_id
    if action == "t":
        complaint, customer = await complaints.take(
            ctx.session, actor=member, complaint_id=complaint_id, now=ctx.now()
        )
        ctx.answer(ctx.t(N_("It's yours now.")))
        text, buttons = await _card(ctx, complaint, customer)
        ctx.edit(text, buttons)
        return
    complaint, customer = await complaints.get_for(
        ctx.session, actor=member, complaint_id=complaint_id
    )
    if action == "o":
        text, buttons = await _card(ctx, complaint, customer)
        ctx.reply(text, buttons)
    elif action == "p" and complaint.photo_file_id:
        await send_photo(ctx, ctx.chat_id, complaint.photo_file_id, f"#{complaint.id}")
    elif action == "r":
        if complaint.status is ComplaintStatus.RESOLVED:
            raise Conflict(N_("Complaint #{id} is already resolved."), id=complaint.id)
        data = {"complaint_id": complaint.id, "customer_name": customer.name}
        await engine.start(ctx, RESOLVE, data)


@admin_router.command(
    "sla", help=N_("hours to resolve a complaint before reminders"), usage=N_("[hours]")
)
async def cmd_sla(ctx: Context) -> None:
    """Show the complaint SLA, or set it from the argument."""
    member, workspace = ctx.staff()
    arg = ctx.incoming.args.strip()
    if not arg:
        ctx.reply(
            ctx.t(
                P_(
                    "⏱ Complaints are due {hours} hour after they're opened. Change it "
                    "with /sla 24.",
                    "⏱ Complaints are due {hours} hours after they're opened. Change it "
                    "with /sla 24.",
                    by="hours",
                ),
                hours=workspace.complaint_sla_hours,
            )
        )
        return
    if not arg.isdigit() or len(arg) > 6:
        raise InvalidInput(N_("Send it like this: /sla 24"))
    await complaints.set_sla(ctx.session, actor=member, workspace=workspace, hours=int(arg))
    ctx.reply(
        ctx.t(
            P_(
                "✅ New complaints are now due {hours} hour after they're opened.",
                "✅ New complaints are now due {hours} hours after they're opened.",
                by="hours",
            ),
            hours=workspace.complaint_sla_hours,
        )
    )


async def _card(ctx: Context, complaint: Complaint, customer: Customer) -> tuple[str, Keyboard]:
    assignee = (
        await ctx.session.get(Member, complaint.assigned_member_id)
        if complaint.assigned_member_id
        else None
    )
    handler = assignee.display_name if assignee else "—"
    if assignee is not None and ctx.member is not None and not within_reach(ctx.member, assignee):
        handler = ctx.t(N_("a colleague outside your team"))
    lines = [
        ctx.t(
            N_("📣 <b>Complaint #{id}</b> · {status}"),
            id=complaint.id,
            status=ctx.t(STATUS_NAMES[complaint.status.value]),
        ),
        ctx.t(N_("👤 {name} (#{id})"), name=customer.name, id=customer.id),
        ctx.t(
            N_("Handled by {member} · due {when}"),
            member=handler,
            when=show_short(complaint.due_at, ctx.tz),
        ),
    ]
    if complaint.source == "survey":
        lines.append(ctx.t(N_("From a low survey score.")))
    if complaint.text:
        lines.append(f"<i>{html.escape(complaint.text)}</i>")
    if complaint.resolution:
        lines.append(
            ctx.t(
                N_("✅ Resolution: {text}"),
                text=Raw(f"<i>{html.escape(complaint.resolution)}</i>"),
            )
        )
    buttons: list[list[Button]] = []
    if complaint.status is not ComplaintStatus.RESOLVED:
        resolve = ComplaintAction(action="r", complaint_id=complaint.id)
        row = [resolve.button(ctx.t(N_("✅ Resolve")))]
        if complaint.status is ComplaintStatus.OPEN or complaint.assigned_member_id != (
            ctx.member.id if ctx.member else None
        ):
            take = ComplaintAction(action="t", complaint_id=complaint.id)
            row.insert(0, take.button(ctx.t(N_("🙋 Take"))))
        buttons.append(row)
    if complaint.photo_file_id:
        photo = ComplaintAction(action="p", complaint_id=complaint.id)
        buttons.append([photo.button(ctx.t(N_("📷 Photo")))])
    buttons.append([card_button(ctx.t, customer.id)])
    return "\n".join(lines), buttons
