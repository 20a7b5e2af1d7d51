"""A survey comment typed without a button: the next text after a low score.

After a low survey score the customer is told they can just type what went
wrong. This dialog waits for that text, so the dispatcher hands it here before
the inbox would relay it as a conversation message. It asks nothing when it
opens (the thank-you already invited the comment), re-asks only after a wrong
answer, and expires like any dialog; a command or /cancel still works. The
comment is then handled exactly as one given through the 💬 button.
"""

from __future__ import annotations

from enum import StrEnum

from bot.chat import engine
from bot.chat.context import Context
from bot.chat.engine import DONE, Data, dialog
from bot.conversations import complain
from bot.crm import complaints, surveys
from bot.crm.models import Workspace
from bot.i18n import N_

HINT = N_("Please write your comment as a text message, or send /cancel to leave it.")


class TypedCommentStep(StrEnum):
    """The single question of a typed survey comment, persisted by value."""

    COMMENT = "comment"


async def start_after_low_score(
    ctx: Context, workspace: Workspace, *, answer_id: int, complaint_id: int | None
) -> None:
    """Take the customer's next text as the comment on their low survey answer."""
    data: Data = {"answer_id": answer_id, "complaint_id": complaint_id}
    await complain.start_for_customer(ctx, workspace, TYPED_COMMENT, data)


async def ask_comment(ctx: Context, data: Data) -> None:
    """Say nothing: the thank-you for the score already asked for a comment."""


async def receive_comment(ctx: Context, data: Data) -> str:
    """Store the comment's text; anything but text is asked again with a way out."""
    text = engine.text_answer(ctx, HINT)
    data["comment"] = complaints.clean_text(text, surveys.MAX_COMMENT)
    return DONE


async def finish_typed_comment(ctx: Context, data: Data) -> None:
    """Save the comment and pass it on, as the 💬 button's dialog does."""
    await complain.finish_comment(ctx, data)


# Every kind of message reaches ``receive_comment``, so a photo or a voice note gets
# the hint that names /cancel rather than the engine's generic one.
TYPED_COMMENT = dialog(
    "survey_comment_typed",
    TypedCommentStep,
    finish_typed_comment,
    media={TypedCommentStep.COMMENT},
    quiet=True,
)
