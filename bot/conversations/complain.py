"""The customer's dialogs about the shop: /complain (text, then a photo) and a survey comment.

Customers have no workspace on their context, so each dialog keeps the shop it
concerns in its data and its state row is stored under that shop.
"""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import CallbackData
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.engine import DONE, Data, Dialog, dialog
from bot.crm import complaints, surveys
from bot.crm.models import Complaint, Member, Workspace
from bot.errors import InvalidInput
from bot.i18n import N_, P_
from bot.messaging import Kind
from bot.views.complaint import notify_assignee, notify_detail

SKIP = "skip"
SKIP_WORDS = frozenset({SKIP, "/skip", "跳过"})


class ComplainStep(StrEnum):
    """The questions of /complain, persisted by value."""

    TEXT = "text"
    PHOTO = "photo"


class CommentStep(StrEnum):
    """The single question of a survey comment, persisted by value."""

    COMMENT = "comment"


class SkipPhoto(CallbackData, prefix="cq:skip"):
    """Go on with a complaint without a photo."""


async def start_for_customer(
    ctx: Context, workspace: Workspace, dialog: Dialog, data: Data
) -> None:
    """Open a customer's dialog stored under the shop it concerns."""
    previous = ctx.workspace
    ctx.workspace = workspace
    try:
        await engine.start(ctx, dialog, {**data, "workspace_id": workspace.id})
    finally:
        ctx.workspace = previous


async def ask_text(ctx: Context, data: Data) -> None:
    """Ask what went wrong."""
    ctx.reply(
        ctx.t(
            N_(
                "😔 We're sorry something went wrong with <b>{shop}</b>. "
                "Tell us what happened in one message. (/cancel to stop)"
            ),
            shop=data["shop"],
        )
    )


async def receive_text(ctx: Context, data: Data) -> str:
    """Store the complaint's text."""
    text = engine.text_answer(ctx, N_("Please describe the problem in a text message."))
    data["text"] = complaints.clean_text(text, complaints.MAX_TEXT)
    return ComplainStep.PHOTO


async def ask_photo(ctx: Context, data: Data) -> None:
    """Offer to attach a photo, with a Skip button."""
    ctx.reply(
        ctx.t(N_("📷 Want to add a photo? Send it now, or tap Skip.")),
        [[SkipPhoto().button(ctx.t(N_("Skip")))]],
    )


async def receive_photo(ctx: Context, data: Data) -> str:
    """Store the photo's file id, or go on without one."""
    incoming = ctx.incoming
    file = incoming.file
    # A photo sent "as a file" arrives as a document; either way it is the photo.
    if file is not None and (
        incoming.kind is Kind.PHOTO or (file.mime_type or "").startswith("image/")
    ):
        data["photo"] = file.file_id
        return DONE
    if incoming.command == SKIP or incoming.text.strip().lower() in SKIP_WORDS:
        data["photo"] = None
        return DONE
    raise InvalidInput(N_("Please send a photo, or tap Skip."))


async def finish_complaint(ctx: Context, data: Data) -> None:
    """Open the complaint, thank the customer and tell the member who handles it."""
    opened = await complaints.open_complaint(
        ctx.session,
        workspace_id=data["workspace_id"],
        customer_id=data["customer_id"],
        text=data["text"],
        photo_file_id=data.get("photo"),
        source="customer",
        now=ctx.now(),
    )
    ctx.reply(
        ctx.t(
            P_(
                "✅ Thank you. Complaint #{id} is with <b>{shop}</b>; they'll get back to "
                "you within {hours} hour.",
                "✅ Thank you. Complaint #{id} is with <b>{shop}</b>; they'll get back to "
                "you within {hours} hours.",
                by="hours",
            ),
            id=opened.complaint.id,
            shop=data["shop"],
            hours=data["hours"],
        )
    )
    await notify_assignee(ctx, opened, photo_file_id=data.get("photo"))


async def ask_comment(ctx: Context, data: Data) -> None:
    """Ask for the survey comment."""
    ctx.reply(ctx.t(N_("💬 What would you like to tell us? (/cancel to stop)")))


async def receive_comment(ctx: Context, data: Data) -> str:
    """Store the comment's text."""
    text = engine.text_answer(ctx, N_("Please write your comment as a text message."))
    data["comment"] = complaints.clean_text(text, surveys.MAX_COMMENT)
    return DONE


async def finish_comment(ctx: Context, data: Data) -> None:
    """Save the comment on the answer, and pass it on when the answer opened a complaint."""
    comment = data["comment"]
    await surveys.add_comment(
        ctx.session, tg_user_id=ctx.user_id, answer_id=data["answer_id"], comment=comment
    )
    ctx.reply(ctx.t(N_("🙏 Thanks, we've noted your comment.")))
    complaint_id = data.get("complaint_id")
    if complaint_id is None:
        return
    complaint = await complaints.add_detail(
        ctx.session, workspace_id=data["workspace_id"], complaint_id=complaint_id, text=comment
    )
    rep = await _assignee(ctx, complaint)
    if rep is not None:
        await notify_detail(ctx, rep, complaint, comment)


async def _assignee(ctx: Context, complaint: Complaint) -> Member | None:
    if complaint.assigned_member_id is None:
        return None
    rep = await ctx.session.get(Member, complaint.assigned_member_id)
    return rep if rep is not None and rep.active else None


COMPLAIN = dialog("complain", ComplainStep, finish_complaint, files={ComplainStep.PHOTO})
SURVEY_COMMENT = dialog("survey_comment", CommentStep, finish_comment)
# /complain with the text on the command line goes straight to the photo question.
COMPLAIN_PHOTO = dialog(
    "complain_photo",
    ComplainStep,
    finish_complaint,
    first=ComplainStep.PHOTO,
    files={ComplainStep.PHOTO},
)
