"""Export and import of customer records as CSV or XLSX files."""

from __future__ import annotations

import logging
from typing import Annotated

from bot.callbacks import CallbackData, Choice
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MEMBERS, Router
from bot.conversations import import_file
from bot.conversations.import_file import ImportAnswer
from bot.crm import export, fields, offload
from bot.crm.export import Format
from bot.crm.export_filter import ExportFilter, parse_filter
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.messaging import OutDocument
from bot.views import export_words

logger = logging.getLogger(__name__)
router = Router("transfer", MEMBERS)


class ExportFormat(CallbackData, prefix="im:ex"):
    """Export the member's customers in this file format."""

    fmt: Annotated[Format, Choice(Format)]


@router.command(
    "export", help=N_("your customers as a spreadsheet"), usage=N_("csv|xlsx [stage=… tag=…]")
)
async def cmd_export(ctx: Context) -> None:
    """Send the customers the sender may see as a file, or ask for the format."""
    fmt, _, rest = ctx.incoming.args.strip().partition(" ")
    if not fmt:
        ctx.reply(
            ctx.t(N_("Which format? Add a filter like /export xlsx stage=won to narrow it.")),
            [
                [
                    ExportFormat(fmt=Format.CSV).button("CSV"),
                    ExportFormat(fmt=Format.XLSX).button("Excel (XLSX)"),
                ]
            ],
        )
        return
    if fmt.lower() not in {f.value for f in Format}:
        raise InvalidInput(
            N_("Please say csv or xlsx, e.g. /export xlsx or /export csv grade=A region=east.")
        )
    await _export(ctx, Format(fmt.lower()), parse_filter(rest))


@router.command("import", help=N_("add customers from a CSV or XLSX file"))
async def cmd_import(ctx: Context) -> None:
    """Start the /import dialog."""
    await engine.start(ctx, import_file.IMPORT)


@router.button(ExportFormat)
async def on_export_button(ctx: Context, pressed: ExportFormat) -> None:
    """Export in the format on the pressed button."""
    await _export(ctx, pressed.fmt, ExportFilter())


@router.button(ImportAnswer)
async def on_import_button(ctx: Context, pressed: ImportAnswer) -> None:
    """Import or drop the checked file."""
    await import_file.on_button(ctx, pressed)


async def _export(ctx: Context, fmt: Format, filters: ExportFilter) -> None:
    member, workspace = ctx.staff()
    options = await fields.options(ctx.session, workspace_id=workspace.id)
    said = export_words.words(ctx.locale, workspace, options)
    # A big export takes seconds; other shops' updates must not queue behind it.
    await offload.release_write_lock(ctx.session)
    file = await export.export_customers(
        ctx.session, actor=member, fmt=fmt, filters=filters, now=ctx.now(), words=said
    )
    logger.info("member %s exported %s customers as %s", member.id, file.rows, fmt.value)
    described = " ".join(
        f"{key}={'none' if key == 'owner' and value == 0 else value}"
        for key, value in filters.describe().items()
    )
    if file.rows == 0:
        if described:
            ctx.reply(ctx.t(N_("No customers match {filter}."), filter=described))
        else:
            ctx.reply(ctx.t(N_("You have no customers to export yet.")))
        return
    caption = ctx.t(N_("📤 Customers exported: {count}"), count=file.rows)
    if described:
        caption += " · " + ctx.t(N_("filter: {filter}"), filter=described)
    ctx.outgoing.append(OutDocument(ctx.chat_id, file.filename, file.content, caption))
