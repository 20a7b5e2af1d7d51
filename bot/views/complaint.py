"""Messages about a complaint to the member handling it and to the customer who made it."""

from __future__ import annotations

import html
import logging
from typing import Annotated

from bot.callbacks import CallbackData, Choice, Id
from bot.chat.context import Context
from bot.crm import members
from bot.crm.complaints import Opened
from bot.crm.models import Complaint, Customer, Member, Workspace
from bot.errors import DeliveryError
from bot.i18n import N_, Raw, translate
from bot.messaging import Button, OutPhoto

logger = logging.getLogger(__name__)
OPEN_LABEL = N_("📣 Open complaint")
STATUS_NAMES = {
    "open": N_("open"),
    "in_progress": N_("in progress"),
    "resolved": N_("resolved"),
}


class ComplaintAction(CallbackData, prefix="cm"):
    """A member's button on a complaint: open (``o``), take, resolve or see the photo."""

    action: Annotated[str, Choice(("o", "t", "r", "p"))]
    complaint_id: Annotated[int, Id("complaint")]


class ResolutionAnswer(CallbackData, prefix="cq:ok"):
    """The customer's yes (``y``) or no (``n``) to how their complaint was resolved."""

    complaint_id: Annotated[int, Id("complaint")]
    answer: Annotated[str, Choice(("y", "n"))]


def open_button(complaint_id: int, locale: str) -> list[Button]:
    """Return the button row that opens a complaint's card for a member."""
    opened = ComplaintAction(action="o", complaint_id=complaint_id)
    return [opened.button(translate(locale, OPEN_LABEL))]


async def notify_assignee(ctx: Context, opened: Opened, *, photo_file_id: str | None) -> None:
    """Tell the assignee about a new complaint, with its photo when there is one."""
    rep = opened.assignee
    if rep is None:
        logger.warning("complaint %d has nobody to go to", opened.complaint.id)
        return
    locale = await members.locale_of(
        ctx.session, tg_user_id=rep.tg_user_id, workspace_id=rep.workspace_id
    )
    key = (
        N_("📣 New complaint #{id} from {name} after a low survey score.")
        if opened.complaint.source == "survey"
        else N_("📣 New complaint #{id} from {name}.")
    )
    lines = [translate(locale, key, id=opened.complaint.id, name=opened.customer.name)]
    if opened.complaint.text:
        lines.append(f"<i>{html.escape(opened.complaint.text)}</i>")
    ctx.send(rep.chat_id, "\n".join(lines), [open_button(opened.complaint.id, locale)])
    if photo_file_id is not None:
        await send_photo(ctx, rep.chat_id, photo_file_id, f"#{opened.complaint.id}")


async def notify_detail(ctx: Context, rep: Member, complaint: Complaint, text: str) -> None:
    """Tell the assignee that the customer added words to their complaint."""
    locale = await members.locale_of(
        ctx.session, tg_user_id=rep.tg_user_id, workspace_id=rep.workspace_id
    )
    ctx.send(
        rep.chat_id,
        translate(locale, N_("💬 The customer added to complaint #{id}:"), id=complaint.id)
        + f"\n<i>{html.escape(text)}</i>",
        [open_button(complaint.id, locale)],
    )


async def send_photo(ctx: Context, chat_id: int, file_id: str, caption: str) -> None:
    """Forward a photo the customer sent (downloaded now, uploaded after commit)."""
    try:
        content = await ctx.download(file_id)
    except DeliveryError as exc:
        logger.warning("complaint photo not downloaded: %s", exc.description)
        return
    ctx.outgoing.append(OutPhoto(chat_id, content, caption))


def tell_customer_resolved(
    ctx: Context, complaint: Complaint, customer: Customer, workspace: Workspace
) -> bool:
    """Send the customer the resolution and ask whether they are satisfied; False: no chat."""
    if customer.chat_id is None or customer.erased_at is not None:
        return False
    locale = customer.locale or workspace.locale
    text = translate(
        locale,
        N_("✅ <b>{shop}</b> resolved your complaint #{id}:\n{resolution}"),
        shop=workspace.name,
        id=complaint.id,
        resolution=Raw(f"<i>{html.escape(complaint.resolution or '')}</i>"),
    )
    text += "\n\n" + translate(locale, N_("Are you satisfied with how it was resolved?"))
    buttons = [
        [
            ResolutionAnswer(complaint_id=complaint.id, answer="y").button(
                translate(locale, N_("👍 Yes"))
            ),
            ResolutionAnswer(complaint_id=complaint.id, answer="n").button(
                translate(locale, N_("👎 No"))
            ),
        ]
    ]
    ctx.send(customer.chat_id, text, buttons)
    return True
