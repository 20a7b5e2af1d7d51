"""The dispatcher: one unit of work per update, routing, and the single error handler."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import callbacks
from bot.chat import engine, turns
from bot.chat.context import AppInfo, Clock, Context, OutCommands, OutLater, Sessions
from bot.chat.menus import Menus
from bot.chat.router import ButtonSpec, Router
from bot.crm import consent, customers, members
from bot.crm.models import ProcessedUpdate, UserPref, Workspace
from bot.crm.store import insert_of, unit_of_work
from bot.errors import DeliveryError, DomainError, NotFound
from bot.i18n import N_, normalize_locale, translate
from bot.messaging import (
    CommandScope,
    Incoming,
    Kind,
    Messenger,
    OutAnswer,
    OutDocument,
    OutEdit,
    Outgoing,
    OutPhoto,
    OutText,
)
from bot.metrics import METRICS

logger = logging.getLogger(__name__)
PRUNE_EVERY = 1000
KEEP_UPDATE_IDS = timedelta(days=2)
# SQLite admits one writer: an update that waited its whole busy timeout for the
# write lock is handled again (its transaction rolled back, nothing was sent) rather
# than lost, a bounded number of times with a short pause between.
BUSY_ATTEMPTS = 3
BUSY_PAUSE_SECONDS = 0.2
_REPLY_KINDS: dict[type, str] = {
    OutText: "text",
    OutEdit: "edit",
    OutDocument: "document",
    OutPhoto: "photo",
    OutAnswer: "answer",
    OutCommands: "commands",
}


class Dispatcher:
    """Handle each update in its own transaction and send the replies after commit."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        app: AppInfo,
        clock: Clock,
        routers: Sequence[Router],
        *,
        chat_turns: bool = False,
    ) -> None:
        self._sessions = sessions
        # Several workers on PostgreSQL: one chat's updates take turns across them.
        self._chat_turns = chat_turns
        self._app = app
        self._clock = clock
        self._routers = tuple(routers)
        self._buttons = button_table(self._routers)
        self._menus = Menus(routers)
        self._handled = 0

    @property
    def menus(self) -> Menus:
        """Return the menus derived from this dispatcher's routers."""
        return self._menus

    async def __call__(self, incoming: Incoming, messenger: Messenger) -> None:
        """Handle one update and send its replies.

        Callers keep one chat's updates in order (the adapters' ``ChatSequencer``, or
        with several workers Telegram, which sends a chat's next update only once the
        webhook answered the one before); different chats may be handled concurrently.
        With ``chat_turns`` the update first takes its chat's turn (``turns``), so two
        deliveries of one chat never run at once on two workers.

        Raises:
            DBAPIError: with ``chat_turns``, when the chat's turn was not had within the
                lock timeout or the connection was dead (nothing was committed; the
                webhook answers 503 and Telegram delivers the update again).
        """
        began = time.perf_counter()
        outgoing, outcome = await self._handle(incoming, messenger)
        await _deliver(outgoing, messenger, self._sessions)
        METRICS.handler_seconds.observe(time.perf_counter() - began)
        METRICS.updates.labels(incoming.kind.value, outcome).inc()
        self._handled += 1
        if self._handled % PRUNE_EVERY == 0:
            await self.prune()

    async def prune(self) -> None:
        """Forget handled update ids older than Telegram would ever redeliver."""
        async with unit_of_work(self._sessions) as session:
            cutoff = self._clock() - KEEP_UPDATE_IDS
            await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < cutoff))

    async def _handle(
        self, incoming: Incoming, messenger: Messenger
    ) -> tuple[list[Outgoing | OutCommands | OutLater], str]:
        for attempt in range(1, BUSY_ATTEMPTS):
            try:
                return await self._attempt(incoming, messenger)
            except OperationalError as exc:
                if not _busy(exc):
                    raise
                logger.warning(
                    "update %s waited too long for the database, handling it again (%d/%d)",
                    incoming.update_id,
                    attempt + 1,
                    BUSY_ATTEMPTS,
                )
                await asyncio.sleep(BUSY_PAUSE_SECONDS * attempt)
        return await self._attempt(incoming, messenger, last=True)

    async def _attempt(
        self, incoming: Incoming, messenger: Messenger, *, last: bool = False
    ) -> tuple[list[Outgoing | OutCommands | OutLater], str]:
        """Handle the update once; return its replies and its outcome for /metrics."""
        locale = normalize_locale(incoming.user.language_code, self._app.default_locale)
        try:
            async with unit_of_work(self._sessions) as session:
                # One statement claims the update: a redelivered one (even on another
                # worker at the same moment) inserts nothing and is skipped. With
                # chat turns the same statement first waits for the chat's turn.
                if self._chat_turns:
                    fresh = await turns.claim(
                        session,
                        update_id=incoming.update_id,
                        chat_id=incoming.chat_id,
                        at=self._clock(),
                    )
                else:
                    fresh = (
                        await session.scalar(
                            insert_of(session)(ProcessedUpdate)
                            .values(update_id=incoming.update_id, at=self._clock())
                            .on_conflict_do_nothing(index_elements=[ProcessedUpdate.update_id])
                            .returning(ProcessedUpdate.update_id)
                        )
                        is not None
                    )
                if not fresh:
                    logger.info("update %s already handled, skipped", incoming.update_id)
                    return [], "duplicate"
                ctx = await self._context(session, incoming, messenger)
                locale = ctx.locale
                await self._route(ctx)
                return ctx.outgoing, "ok"
        except NotFound as exc:
            # A button whose data or row is gone gets the one answer and nothing else.
            if incoming.kind is Kind.CALLBACK and incoming.callback_id:
                expired = translate(locale, callbacks.EXPIRED)
                return [OutAnswer(incoming.callback_id, expired)], "not_found"
            text = "⚠️ " + translate(locale, exc.key, **exc.params)
            return _with_answer(incoming, text), "not_found"
        except DomainError as exc:
            # The transaction was rolled back, so dialog state is exactly as before.
            text = "⚠️ " + translate(locale, exc.key, **exc.params)
            return _with_answer(incoming, text), "refused"
        except Exception as exc:
            if not last and isinstance(exc, OperationalError) and _busy(exc):
                raise
            if self._chat_turns and turns.deliver_again(exc):
                raise
            logger.exception("update %s failed", incoming.update_id)
            text = translate(locale, N_("😔 Sorry, something went wrong on my side. Try again?"))
            return _with_answer(incoming, text), "error"

    async def _context(
        self, session: AsyncSession, incoming: Incoming, messenger: Messenger
    ) -> Context:
        member = await members.active_member(session, tg_user_id=incoming.user.id)
        workspace = await session.get(Workspace, member.workspace_id) if member else None
        if member is not None:
            members.note_username(member, incoming.user.username)
        former = (
            None if member else await members.former_shop(session, tg_user_id=incoming.user.id)
        )
        pref = await session.get(UserPref, incoming.user.id)
        default = workspace.locale if workspace else self._app.default_locale
        locale = pref.locale if pref else normalize_locale(incoming.user.language_code, default)
        return Context(
            session=session,
            incoming=incoming,
            app=replace(self._app, bot_username=messenger.username),
            menus=self._menus,
            clock=self._clock,
            locale=locale,
            member=member,
            workspace=workspace,
            former_shop=former,
            download=messenger.download,
        )

    async def _route(self, ctx: Context) -> None:
        kind = ctx.incoming.kind
        if kind in (Kind.BLOCKED, Kind.UNBLOCKED):
            await _set_reachable(ctx, reachable=kind is Kind.UNBLOCKED)
        elif kind is Kind.CALLBACK:
            await self._callback(ctx)
        elif kind is Kind.COMMAND:
            await self._command(ctx)
        else:
            await self._message(ctx)

    async def _callback(self, ctx: Context) -> None:
        data = ctx.incoming.data
        found = callbacks.lookup(self._buttons, data)
        pressed = found[1].kind.parse(data) if found is not None else None
        if found is None or pressed is None:
            raise ctx.expired()
        router, spec = found
        if not router.allows(ctx):
            raise ctx.refusal(N_("Sorry, your role can't do that."))
        await spec.handler(ctx, pressed)
        answered = any(isinstance(item, OutAnswer) for item in ctx.outgoing)
        if not answered and ctx.incoming.callback_id:
            # Every press is answered, first, so the client stops its spinner at once.
            ctx.outgoing.insert(0, OutAnswer(ctx.incoming.callback_id))

    async def _command(self, ctx: Context) -> None:
        name = ctx.incoming.command or ""
        if name == "skip":
            state = await engine.current(ctx)
            if state is not None:
                await engine.answer(ctx, state)
                return
        refused = False
        # One name may serve two audiences (the owner's /shop settings, a customer's
        # /shop switch): the first router whose guard the sender passes takes it.
        for router in self._routers:
            spec = router.commands.get(name)
            if spec is None:
                continue
            if not router.allows(ctx):
                refused = True
                continue
            await spec.handler(ctx)
            return
        if refused:
            raise ctx.refusal(
                N_("Sorry, /{command} isn't available to you. Send /help to see what you can do."),
                command=name,
            )
        ctx.reply(
            ctx.t(N_("I don't know /{command}. Send /help to see what I can do."), command=name)
        )

    async def _message(self, ctx: Context) -> None:
        state = await engine.current(ctx)
        text = ctx.incoming.text
        if state is not None:
            if ctx.incoming.kind is Kind.TEXT and engine.is_cancel(text):
                await ctx.session.delete(state)
                ctx.reply(ctx.t(N_("OK, cancelled. Nothing was saved.")))
            else:
                await engine.answer(ctx, state)
        elif ctx.incoming.kind is Kind.TEXT and engine.is_cancel(text):
            ctx.reply(ctx.t(N_("There's nothing to cancel.")))
        elif await self._taken(ctx):
            return
        elif ctx.incoming.kind is Kind.TEXT:
            ctx.reply(ctx.t(N_("I didn't catch that. Send /help to see what I can do.")))
        else:
            ctx.reply(
                ctx.t(
                    N_(
                        "Thanks! I can only read text messages and commands here. "
                        "Send /help to see what I can do."
                    )
                )
            )

    async def _taken(self, ctx: Context) -> bool:
        for router in self._routers:
            if router.messages and router.allows(ctx):
                for handler in router.messages:
                    if await handler(ctx):
                        return True
        return False


def button_table(routers: Sequence[Router]) -> dict[str, tuple[Router, ButtonSpec]]:
    """Return each button prefix with the router that handles it.

    Raises:
        ValueError: when two routers (or one router listed twice) handle a prefix.
    """
    table: dict[str, tuple[Router, ButtonSpec]] = {}
    for router in routers:
        for prefix, spec in router.buttons.items():
            if prefix in table:
                first = table[prefix][0].name
                msg = f"button prefix {prefix!r} is handled by {first} and {router.name}"
                raise ValueError(msg)
            table[prefix] = (router, spec)
    return table


def _with_answer(incoming: Incoming, text: str) -> list[Outgoing | OutCommands | OutLater]:
    out: list[Outgoing | OutCommands | OutLater] = []
    if incoming.callback_id:
        out.append(OutAnswer(incoming.callback_id))
    out.append(OutText(incoming.chat_id, text))
    return out


async def _deliver(
    outgoing: Sequence[Outgoing | OutCommands | OutLater],
    messenger: Messenger,
    sessions: Sessions,
) -> None:
    for item in outgoing:
        try:
            if isinstance(item, OutLater):
                await item.run(messenger, sessions)
            else:
                await _send(item, messenger)
                METRICS.replies.labels(_REPLY_KINDS.get(type(item), "other")).inc()
        except DeliveryError as exc:
            logger.warning("reply %s not delivered: %s", type(item).__name__, exc.description)
        except Exception:
            if not isinstance(item, OutLater):
                raise
            # The update is committed; what failed after it must not stop the rest.
            logger.exception("work after commit failed")


async def _send(item: Outgoing | OutCommands, messenger: Messenger) -> None:
    match item:
        case OutText():
            await messenger.send_text(item.chat_id, item.text, item.buttons)
        case OutEdit():
            await messenger.edit_text(item.chat_id, item.message_id, item.text, item.buttons)
        case OutAnswer():
            await messenger.answer_callback(item.callback_id, item.text, item.alert)
        case OutDocument():
            await messenger.send_document(item.chat_id, item.filename, item.content, item.caption)
        case OutPhoto():
            await messenger.send_photo(item.chat_id, item.content, item.caption)
        case OutCommands():
            scope = CommandScope(chat_id=item.chat_id, language_code=item.language_code)
            await messenger.set_commands(item.commands, scope)


async def _set_reachable(ctx: Context, *, reachable: bool) -> None:
    """Mark the account's customer records (un)reachable after a block or unblock."""
    records = await customers.for_account(ctx.session, tg_user_id=ctx.user_id)
    consent.set_reachable(ctx.session, records, reachable=reachable, now=ctx.now())


def _busy(error: OperationalError) -> bool:
    """Return whether ``error`` is SQLite's "database is locked" (the write lock was busy)."""
    return "database is locked" in str(error.orig)
