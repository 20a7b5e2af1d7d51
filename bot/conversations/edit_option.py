"""The one-step dialog behind /fields' Add and Rename: the name of a field's option.

``data`` holds the ``field`` and, for a rename, the ``option_id``. The name is
checked and saved as it is received, so a bad or taken name is asked again with
a hint; then the field's options are shown once more.
"""

from __future__ import annotations

from enum import StrEnum

from bot.chat import engine
from bot.chat.context import Context
from bot.chat.engine import DONE, Data, dialog
from bot.crm import fields
from bot.i18n import N_
from bot.views.field_lists import field_screen
from bot.views.fields import field_name

NAME_HINT = N_("Please send a short name of up to {max} characters, like Oolong.")


class OptionStep(StrEnum):
    """The single question of adding or renaming an option, persisted by value."""

    NAME = "name"


async def ask_name(ctx: Context, data: Data) -> None:
    """Ask for the new option's name, or an option's new name."""
    if data.get("option_id"):
        text = ctx.t(
            N_("✏️ New name for <b>{option}</b> ({field})?"),
            option=data["shown"],
            field=field_name(ctx.t, data["field"]),
        )
    else:
        text = ctx.t(
            N_("➕ Name of the new option for <b>{field}</b>?"),
            field=field_name(ctx.t, data["field"]),
        )
    ctx.reply(text + "\n" + ctx.t(N_("(/cancel to stop)")))


async def receive_name(ctx: Context, data: Data) -> str:
    """Save the name: a new option at the end of the list, or the option renamed."""
    member, _ = ctx.staff()
    label = engine.text_answer(ctx, NAME_HINT, most=fields.MAX_LABEL, max=fields.MAX_LABEL)
    if data.get("option_id"):
        option = await fields.rename_option(
            ctx.session, actor=member, option_id=data["option_id"], label=label
        )
    else:
        option = await fields.add_option(
            ctx.session, actor=member, field=data["field"], label=label
        )
    data["saved"] = option.label
    return DONE


async def finish(ctx: Context, data: Data) -> None:
    """Say it is saved and show the field's options again."""
    member, _ = ctx.staff()
    ctx.reply(ctx.t(N_("✅ Saved “{option}”."), option=data["saved"]))
    listed = await fields.options(
        ctx.session, workspace_id=member.workspace_id, field=data["field"]
    )
    ctx.reply(*field_screen(ctx, data["field"], listed))


EDIT_OPTION = dialog("edit_option", OptionStep, finish)
