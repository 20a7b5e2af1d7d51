"""/fields (owner and admins): the shop's customer fields and their option lists, by taps."""

from __future__ import annotations

from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MANAGERS, Router
from bot.conversations.edit_option import EDIT_OPTION
from bot.crm import fields
from bot.crm.fields import fold
from bot.crm.models import FieldOption
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.views.field_lists import (
    FieldsAdd,
    FieldsHome,
    FieldsMove,
    FieldsOption,
    FieldsRemove,
    FieldsRemoveSure,
    FieldsRename,
    FieldsShow,
    field_screen,
    home_screen,
    option_screen,
    remove_question,
)
from bot.views.fields import field_name, option_name
from bot.views.picks import pressed_option

router = Router("fields", MANAGERS)


@router.command("fields", help=N_("the customer fields and their options"), usage=N_("[field]"))
async def cmd_fields(ctx: Context) -> None:
    """List the shop's fields with their options, or one field's options."""
    member, workspace = ctx.staff()
    listed = await fields.options(ctx.session, workspace_id=member.workspace_id)
    wanted = fold(ctx.incoming.args)
    if not wanted:
        ctx.reply(*home_screen(ctx, listed))
        return
    mine = fields.fields_of(workspace.kind)
    for spec in mine:
        if wanted in (fold(spec.name), fold(field_name(ctx.t, spec.name)), fold(spec.label)):
            ctx.reply(*field_screen(ctx, spec.name, listed))
            return
    raise InvalidInput(
        N_("Send /fields alone, or with one of your fields: {fields}."),
        fields=", ".join(field_name(ctx.t, spec.name) for spec in mine),
    )


@router.button(FieldsHome)
async def on_home(ctx: Context, pressed: FieldsHome) -> None:
    """Show every field of the shop again."""
    member, _ = ctx.staff()
    listed = await fields.options(ctx.session, workspace_id=member.workspace_id)
    ctx.edit(*home_screen(ctx, listed))


@router.button(FieldsShow)
async def on_show(ctx: Context, pressed: FieldsShow) -> None:
    """Show one field's options."""
    member = _own_field(ctx, pressed.field)
    listed = await fields.options(ctx.session, workspace_id=member, field=pressed.field)
    ctx.edit(*field_screen(ctx, pressed.field, listed))


@router.button(FieldsAdd)
async def on_add(ctx: Context, pressed: FieldsAdd) -> None:
    """Ask for the name of a new option."""
    _own_field(ctx, pressed.field)
    await engine.start(ctx, EDIT_OPTION, {"field": pressed.field})


@router.button(FieldsOption)
async def on_option(ctx: Context, pressed: FieldsOption) -> None:
    """Show one option with what can be done to it."""
    option = await pressed_option(ctx, pressed.option_id)
    ctx.edit(*option_screen(ctx, option, await fields.using(ctx.session, option=option)))


@router.button(FieldsRename)
async def on_rename(ctx: Context, pressed: FieldsRename) -> None:
    """Ask for an option's new name."""
    option = await pressed_option(ctx, pressed.option_id)
    data = {"field": option.field, "option_id": option.id, "shown": option_name(ctx.t, option)}
    await engine.start(ctx, EDIT_OPTION, data)


@router.button(FieldsMove)
async def on_move(ctx: Context, pressed: FieldsMove) -> None:
    """Move an option one place up or down and show its list."""
    member, _ = ctx.staff()
    option = await pressed_option(ctx, pressed.option_id)
    offset = -1 if pressed.direction == "u" else 1
    await fields.move_option(ctx.session, actor=member, option_id=option.id, offset=offset)
    listed = await fields.options(
        ctx.session, workspace_id=member.workspace_id, field=option.field
    )
    ctx.answer(ctx.t(N_("Moved.")))
    ctx.edit(*field_screen(ctx, option.field, listed))


@router.button(FieldsRemove)
async def on_remove(ctx: Context, pressed: FieldsRemove) -> None:
    """Remove an option nobody has at once; ask first when customers have it."""
    option = await pressed_option(ctx, pressed.option_id)
    holders = await fields.using(ctx.session, option=option)
    if holders:
        ctx.edit(*remove_question(ctx, option, holders))
        return
    await _remove(ctx, option)


@router.button(FieldsRemoveSure)
async def on_remove_sure(ctx: Context, pressed: FieldsRemoveSure) -> None:
    """Remove an option and clear it from the customers who have it."""
    await _remove(ctx, await pressed_option(ctx, pressed.option_id))


async def _remove(ctx: Context, option: FieldOption) -> None:
    member, _ = ctx.staff()
    shown, field = option_name(ctx.t, option), option.field
    cleared = await fields.remove_option(ctx.session, actor=member, option_id=option.id)
    listed = await fields.options(ctx.session, workspace_id=member.workspace_id, field=field)
    text, buttons = field_screen(ctx, field, listed)
    done = ctx.t(N_("🗑 Removed “{option}”."), option=shown)
    if cleared:
        done += " " + ctx.t(N_("Cleared from customers: {count}."), count=cleared)
    ctx.edit(done + "\n\n" + text, buttons)


def _own_field(ctx: Context, field: str) -> int:
    """Return the sender's workspace id when ``field`` is one of its shop's fields.

    Raises:
        ButtonExpired: for another kind of shop's field.
    """
    member, workspace = ctx.staff()
    if field not in fields.KIND_FIELDS[workspace.kind]:
        raise ctx.expired()
    return member.workspace_id
