"""The member's one-step dialog that resolves a complaint with what was done about it."""

from __future__ import annotations

from enum import StrEnum

from bot.chat.context import Context
from bot.chat.engine import DONE, Data, dialog, text_answer
from bot.crm import complaints
from bot.i18n import N_
from bot.views.complaint import tell_customer_resolved


class ResolveStep(StrEnum):
    """The single question of resolving, persisted by value."""

    RESOLUTION = "resolution"


async def ask_resolution(ctx: Context, data: Data) -> None:
    """Ask what was done, for the customer to read."""
    ctx.reply(
        ctx.t(
            N_(
                "✍️ How was complaint #{id} of {name} resolved? "
                "The customer will read this. (/cancel to stop)"
            ),
            id=data["complaint_id"],
            name=data["customer_name"],
        )
    )


async def receive_resolution(ctx: Context, data: Data) -> str:
    """Store the resolution text."""
    text = text_answer(ctx, N_("Please write what was done in a text message."))
    data["resolution"] = complaints.clean_text(text, complaints.MAX_RESOLUTION)
    return DONE


async def finish_resolve(ctx: Context, data: Data) -> None:
    """Resolve the complaint, tell the customer and ask whether they are satisfied."""
    member, workspace = ctx.staff()
    complaint, customer = await complaints.resolve(
        ctx.session,
        actor=member,
        complaint_id=data["complaint_id"],
        resolution=data["resolution"],
        now=ctx.now(),
    )
    if tell_customer_resolved(ctx, complaint, customer, workspace):
        ctx.reply(
            ctx.t(
                N_("✅ Complaint #{id} resolved. I told {name} and asked if they're satisfied."),
                id=complaint.id,
                name=customer.name,
            )
        )
        return
    ctx.reply(
        ctx.t(
            N_(
                "✅ Complaint #{id} resolved. {name} can't be reached here, "
                "so please let them know yourself."
            ),
            id=complaint.id,
            name=customer.name,
        )
    )


RESOLVE = dialog("resolve_complaint", ResolveStep, finish_resolve)
