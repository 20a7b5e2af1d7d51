"""The /import dialog: receive a CSV or XLSX file, report what it holds, import on a tap."""

from __future__ import annotations

import logging
import secrets
from enum import StrEnum
from typing import Annotated

from bot.callbacks import CallbackData, Choice, Text
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.engine import DONE, Data, dialog
from bot.crm import fields, importer, offload, spreadsheet
from bot.crm.importer import CleanRows, ImportPlan
from bot.errors import DeliveryError, InvalidInput
from bot.i18n import N_, P_
from bot.messaging import Kind
from bot.views import export_words

logger = logging.getLogger(__name__)
NAME = "import"
SHOWN_ERRORS = 20
YES_WORDS = frozenset({"yes", "import", "ok", "是", "导入", "确认"})
SUFFIXES = (".csv", ".xlsx")


class ImportStep(StrEnum):
    """The questions of /import, persisted by value."""

    FILE = "file"
    CONFIRM = "confirm"


class ImportAnswer(CallbackData, prefix="im"):
    """Import (``go``) or drop (``no``) the checked file; ``token`` ties it to that file."""

    action: Annotated[str, Choice(("go", "no"))]
    token: Annotated[str, Text(16, ref="import")]


async def ask_file(ctx: Context, data: Data) -> None:
    """Ask for the spreadsheet to import (briefly when a file was already refused)."""
    if data.get("retry"):
        ctx.reply(ctx.t(N_("Send the corrected file, or /cancel.")))
        return
    ctx.reply(
        ctx.t(
            N_(
                "📥 Send me a CSV or XLSX file with your customers, one per row. "
                "The first row names the columns: <b>name</b> is required; phone, company, "
                "stage, grade, tags, region and the other columns of /export are optional "
                "(姓名, 电话, 公司 … work too). Up to {max_rows} rows and 2 MB. /cancel to stop."
            ),
            max_rows=spreadsheet.MAX_ROWS,
        )
    )


async def receive_file(ctx: Context, data: Data) -> str:
    """Read and check the file; report its errors, or move on to the confirmation."""
    file = ctx.incoming.file
    if ctx.incoming.kind is not Kind.DOCUMENT or file is None:
        raise InvalidInput(N_("Please send the customers as a file (CSV or XLSX)."))
    filename = file.file_name or ""
    if not filename.lower().endswith(SUFFIXES):
        raise InvalidInput(N_("Please send a .csv or .xlsx file."))
    if file.file_size is not None and file.file_size > spreadsheet.MAX_BYTES:
        raise InvalidInput(spreadsheet.TOO_BIG)
    table, plan = await _check(ctx, file.file_id, filename)
    if plan.errors:
        ctx.reply(error_report(ctx, filename, plan))
        data["retry"] = True
        return ImportStep.FILE
    data.update(
        token=secrets.token_hex(4),  # ties the buttons to this file, not a later one
        file_id=file.file_id,
        filename=filename,
        rows=len(plan.rows),
        in_shop=plan.duplicates_in_shop,
        in_file=plan.duplicates_in_file,
        unknown_columns=list(table.unknown),
        unknown_tags=plan.unknown_tags[:10],
        consent="consent" in table.columns,
    )
    return ImportStep.CONFIRM if plan.rows else DONE


async def ask_confirm(ctx: Context, data: Data) -> None:
    """Show what the file holds and offer to import it."""
    ctx.reply(
        summary(ctx, data),
        [
            [
                ImportAnswer(action="go", token=data["token"]).button(
                    ctx.t(N_("✅ Import {count}"), count=data["rows"])
                ),
                ImportAnswer(action="no", token=data["token"]).button(ctx.t(N_("Cancel"))),
            ]
        ],
    )


async def receive_confirm(ctx: Context, data: Data) -> str:
    """Accept a typed yes as a tap on Import."""
    if ctx.incoming.text.strip().lower() in YES_WORDS:
        return DONE
    raise InvalidInput(N_("Tap “Import” to import the customers, or /cancel."))


async def finish(ctx: Context, data: Data) -> None:
    """Check the file again and import every new row in this one transaction."""
    if not data["rows"]:
        ctx.reply(summary(ctx, data) + "\n" + ctx.t(N_("Nothing new to import.")))
        return
    member, _ = ctx.staff()
    table, plan = await _check(ctx, str(data["file_id"]), str(data["filename"]))
    if plan.errors:
        ctx.reply(error_report(ctx, data["filename"], plan))
        return
    count = await importer.import_rows(ctx.session, actor=member, plan=plan, fmt=table.format)
    logger.info("member %s imported %s customers", member.id, count)
    skipped = plan.duplicates_in_shop + plan.duplicates_in_file
    ctx.reply(
        ctx.t(
            N_(
                "✅ Imported customers: {count} (they are yours now). "
                "Skipped duplicates: {skipped}."
            ),
            count=count,
            skipped=skipped,
        )
    )


async def on_button(ctx: Context, pressed: ImportAnswer) -> None:
    """Import or cancel from the confirmation buttons, if their dialog is still open.

    Raises:
        ButtonExpired: when the file they were shown for is no longer waiting.
    """
    state = await engine.current(ctx)
    if (
        state is None
        or state.dialog != NAME
        or state.step != ImportStep.CONFIRM
        or state.data.get("token") != pressed.token
    ):
        raise ctx.expired()
    data = dict(state.data)
    await ctx.session.delete(state)
    if pressed.action == "go":
        ctx.edit(summary(ctx, data))
        await finish(ctx, data)
    else:
        ctx.edit(ctx.t(N_("OK, cancelled. Nothing was imported.")))


def summary(ctx: Context, data: Data) -> str:
    """Return what a checked file holds: new rows, duplicates, ignored columns."""
    lines = [
        ctx.t(
            N_("📋 <b>{file}</b> — new customers to import: {rows}."),
            file=data["filename"],
            rows=data["rows"],
        )
    ]
    if data["in_shop"] or data["in_file"]:
        lines.append(
            ctx.t(
                N_(
                    "⏭ Skipped as duplicates: {in_shop} already in the shop, "
                    "{in_file} repeated in the file."
                ),
                in_shop=data["in_shop"],
                in_file=data["in_file"],
            )
        )
    if data["unknown_columns"]:
        lines.append(
            ctx.t(
                N_("Ignored columns I don't know: {columns}."),
                columns=", ".join(data["unknown_columns"]),
            )
        )
    if data["unknown_tags"]:
        lines.append(
            ctx.t(
                N_("Tags not defined in the shop, left out: {tags}."),
                tags=", ".join(data["unknown_tags"]),
            )
        )
    if data["consent"]:
        lines.append(ctx.t(N_("Consent isn't imported: customers opt in themselves.")))
    return "\n".join(lines)


def error_report(ctx: Context, filename: str, plan: ImportPlan) -> str:
    """Return the file's problems row by row (the first ``SHOWN_ERRORS``), then a count."""
    rows = len({error.line for error in plan.errors})
    lines = [
        ctx.t(
            P_(
                "❌ <b>{file}</b>: {rows} of {total} rows has problems, so nothing was imported:",
                "❌ <b>{file}</b>: {rows} of {total} rows have problems, so nothing was imported:",
                by="rows",
            ),
            file=filename,
            rows=rows,
            total=plan.total,
        )
    ]
    for error in plan.errors[:SHOWN_ERRORS]:
        lines.append(
            ctx.t(N_("Row {line}:"), line=error.line) + " " + ctx.t(error.key, **error.params)
        )
    if len(plan.errors) > SHOWN_ERRORS:
        lines.append(ctx.t(N_("…and {more} more problems."), more=len(plan.errors) - SHOWN_ERRORS))
    return "\n".join(lines)


async def _check(ctx: Context, file_id: str, filename: str) -> tuple[CleanRows, ImportPlan]:
    member, workspace = ctx.staff()
    # Fetching and reading take seconds; other shops' updates must not queue behind them.
    await offload.release_write_lock(ctx.session)
    try:
        content = await ctx.download(file_id)
    except DeliveryError as exc:
        logger.warning("import file download failed: %s", exc.description)
        raise InvalidInput(
            N_("I couldn't fetch that file from Telegram; please send it again.")
        ) from exc
    options = await fields.options(ctx.session, workspace_id=member.workspace_id)
    return await importer.check_file(
        ctx.session,
        actor=member,
        content=content,
        filename=filename,
        words=export_words.every_language(ctx.locale, workspace, options),
    )


IMPORT = dialog(NAME, ImportStep, finish, files={ImportStep.FILE})
