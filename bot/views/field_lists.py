"""The /fields screens: the shop's choice fields, one field's options, and one option."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from bot.callbacks import CallbackData, Choice, Id
from bot.chat.context import Context
from bot.crm import fields
from bot.crm.models import FieldOption
from bot.i18n import N_
from bot.messaging import Button
from bot.views.fields import field_name, option_buttons, option_name

Screen = tuple[str, list[list[Button]]]


class FieldsHome(CallbackData, prefix="fd:h"):
    """Show every choice field of the shop with its options."""


class FieldsShow(CallbackData, prefix="fd:f"):
    """Show one field's options as buttons, with Add."""

    field: Annotated[str, Choice(fields.FIELDS)]


class FieldsAdd(CallbackData, prefix="fd:a"):
    """Ask for the name of a new option of one field."""

    field: Annotated[str, Choice(fields.FIELDS)]


class FieldsOption(CallbackData, prefix="fd:o"):
    """Show one option with Rename, Up, Down and Remove."""

    option_id: Annotated[int, Id("field_option")]


class FieldsRename(CallbackData, prefix="fd:r"):
    """Ask for an option's new name."""

    option_id: Annotated[int, Id("field_option")]


class FieldsMove(CallbackData, prefix="fd:m"):
    """Move an option one place up (``u``) or down (``d``) its list."""

    direction: Annotated[str, Choice(("u", "d"))]
    option_id: Annotated[int, Id("field_option")]


class FieldsRemove(CallbackData, prefix="fd:x"):
    """Remove an option (asking first when customers hold it)."""

    option_id: Annotated[int, Id("field_option")]


class FieldsRemoveSure(CallbackData, prefix="fd:y"):
    """Remove an option customers hold, clearing it from them."""

    option_id: Annotated[int, Id("field_option")]


def home_screen(ctx: Context, listed: Sequence[FieldOption]) -> Screen:
    """Return the shop's choice fields, each with its options, and a button per field."""
    _, workspace = ctx.staff()
    lines = [ctx.t(N_("🗂 <b>Customer fields</b> — what the card asks about each customer:"))]
    for spec in fields.fields_of(workspace.kind):
        names = [option_name(ctx.t, o) for o in listed if o.field == spec.name]
        title = field_name(ctx.t, spec.name)
        if spec.multi:
            title = ctx.t(N_("{field} (several)"), field=title)
        lines.append(
            ctx.t(N_("• <b>{field}</b>: {options}"), field=title, options=", ".join(names) or "—")
        )
    lines.append(ctx.t(N_("🎂 Birthday and 🗒 notes are typed on the card.")))
    lines.append(ctx.t(N_("Tap a field to add, rename, reorder or remove its options.")))
    buttons = [
        FieldsShow(field=spec.name).button(field_name(ctx.t, spec.name))
        for spec in fields.fields_of(workspace.kind)
    ]
    return "\n".join(lines), [buttons]


def field_screen(ctx: Context, field: str, listed: Sequence[FieldOption]) -> Screen:
    """Return one field's options as buttons, with Add and a way back."""
    mine = [o for o in listed if o.field == field]
    text = ctx.t(
        N_("🏷 <b>{field}</b> · options: {count}. Tap one to rename, move or remove it."),
        field=field_name(ctx.t, field),
        count=len(mine),
    )
    buttons = option_buttons(ctx.t, mine, lambda o: FieldsOption(option_id=o.id))
    buttons.append(
        [
            FieldsAdd(field=field).button(ctx.t(N_("➕ Add an option"))),
            FieldsHome().button(ctx.t(N_("⬅️ All fields"))),
        ]
    )
    return text, buttons


def option_screen(ctx: Context, option: FieldOption, holders: int) -> Screen:
    """Return one option: its field, how many customers hold it, and what to do with it."""
    text = ctx.t(
        N_("🏷 <b>{option}</b> ({field}) · customers with it: {count}"),
        option=option_name(ctx.t, option),
        field=field_name(ctx.t, option.field),
        count=holders,
    )
    buttons = [
        [
            FieldsRename(option_id=option.id).button(ctx.t(N_("✏️ Rename"))),
            FieldsMove(direction="u", option_id=option.id).button("⬆"),
            FieldsMove(direction="d", option_id=option.id).button("⬇"),
        ],
        [
            FieldsRemove(option_id=option.id).button(ctx.t(N_("🗑 Remove"))),
            FieldsShow(field=option.field).button(ctx.t(N_("⬅️ Back"))),
        ],
    ]
    return text, buttons


def remove_question(ctx: Context, option: FieldOption, holders: int) -> Screen:
    """Return the question asked before removing an option customers hold."""
    text = ctx.t(
        N_(
            "⚠️ Customers with <b>{option}</b>: {count}. Remove it from the list and "
            "clear it from them?"
        ),
        count=holders,
        option=option_name(ctx.t, option),
    )
    buttons = [
        [
            FieldsRemoveSure(option_id=option.id).button(ctx.t(N_("🗑 Remove and clear"))),
            FieldsOption(option_id=option.id).button(ctx.t(N_("Keep it"))),
        ]
    ]
    return text, buttons
