"""Owner's /backup: the newest nightly backup of the shop's database, sent as a file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from bot.chat.context import Context
from bot.chat.router import Router
from bot.crm import backup
from bot.crm.models import Role, Workspace
from bot.i18n import N_, P_
from bot.localtime import show_minute
from bot.messaging import OutDocument

router = Router("backups", frozenset({Role.OWNER}))
# Telegram lets a bot send documents of up to 50 MB.
SEND_LIMIT_BYTES = 50 * 1024 * 1024


@router.command("backup", help=N_("get the newest backup of your shop's data as a file"))
async def cmd_backup(ctx: Context) -> None:
    """Send the owner the newest backup file, when it holds their shop alone."""
    ctx.staff()
    if not ctx.app.backup_dir:
        ctx.reply(
            ctx.t(
                N_(
                    "🗄 Backups are off on this server. Whoever runs the bot can turn them "
                    "on with <code>backup.dir</code> in config.toml."
                )
            )
        )
        return
    shops = await ctx.session.scalar(select(func.count()).select_from(Workspace)) or 0
    if shops > 1:
        # A backup is the whole database: other shops' customers must never reach this chat.
        ctx.reply(
            ctx.t(
                P_(
                    "🗄 This server keeps {count} shop in one database, so I can't send "
                    "its backups in a chat. Whoever runs the bot has them on the server.",
                    "🗄 This server keeps {count} shops in one database, so a backup holds "
                    "other shops' data and I can't send it in a chat. Whoever runs the bot "
                    "has them on the server.",
                ),
                count=shops,
            )
        )
        return
    newest = await asyncio.to_thread(backup.latest, Path(ctx.app.backup_dir))
    if newest is None:
        ctx.reply(
            ctx.t(
                N_(
                    "🗄 There is no backup yet. The first one is taken a few minutes after "
                    "the bot starts, then one every night."
                )
            )
        )
        return
    size = (await asyncio.to_thread(newest.stat)).st_size
    if size > SEND_LIMIT_BYTES:
        ctx.reply(
            ctx.t(
                N_(
                    "🗄 The newest backup ({name}, {size} MB) is larger than Telegram lets a "
                    "bot send (50 MB). Whoever runs the bot finds it on the server."
                ),
                name=newest.name,
                size=size // (1024 * 1024),
            )
        )
        return
    content = await asyncio.to_thread(newest.read_bytes)
    when = backup.taken_at(newest)
    caption = ctx.t(
        N_(
            "🗄 Backup of {when}. Keep it somewhere safe: it holds every customer's "
            "details. Whoever runs the bot restores it with <code>scrm-bot restore</code>."
        ),
        when=show_minute(when, ctx.tz) if when is not None else newest.name,
    )
    ctx.outgoing.append(OutDocument(ctx.chat_id, newest.name, content, caption))
