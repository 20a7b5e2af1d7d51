"""The dialog engine: steps by name, state in ``conversation_state``, re-ask on a wrong answer.

A dialog is a table of steps. Each step has ``ask`` (send the prompt) and
``receive`` (parse the answer, store it in ``data`` and return the next step's
name, or ``DONE``). ``receive`` raises ``InvalidInput`` for a wrong answer: the
engine then re-asks with the hint and leaves the state exactly as it was.

A dialog module declares its steps as a ``StrEnum`` (values are persisted) and
writes ``ask_<step>`` and ``receive_<step>`` for each member; ``dialog`` builds
the table from them, so the enum is the one list of steps.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select

from bot.chat.context import Context
from bot.crm.models import ConversationState
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.messaging import Kind

DONE = "__done__"
CANCEL_WORDS = frozenset({"cancel", "取消"})
Data = dict[str, Any]
Ask = Callable[[Context, Data], Awaitable[None]]
Receive = Callable[[Context, Data], Awaitable[str]]
Finish = Callable[[Context, Data], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Step:
    """One question of a dialog: how to ask it and how to read the answer."""

    ask: Ask
    receive: Receive
    accepts_files: bool = False
    # Takes any message a person can send (media, a location...), not only text.
    accepts_media: bool = False


@dataclass(frozen=True, slots=True)
class Dialog:
    """A named dialog: its steps, the first step and what to do when all are answered."""

    name: str
    first: str
    steps: Mapping[str, Step]
    finish: Finish
    # A dialog the person never knowingly opened (a survey's typed comment) ends
    # without telling them when it expires.
    quiet: bool = False


_DIALOGS: dict[str, Dialog] = {}


def register(dialog: Dialog) -> Dialog:
    """Make a dialog resumable by name after a restart."""
    _DIALOGS[dialog.name] = dialog
    return dialog


def dialog(
    name: str,
    steps: type[StrEnum],
    finish: Finish,
    *,
    first: StrEnum | None = None,
    files: Collection[StrEnum] = (),
    media: Collection[StrEnum] = (),
    quiet: bool = False,
) -> Dialog:
    """Declare a dialog whose steps are ``steps``' members, and register it.

    Member ``X`` is asked by ``ask_x`` and answered by ``receive_x`` (the member's
    name in lower case), found beside ``finish`` in its module. The first member is
    the first step unless ``first`` says otherwise; ``files`` take a file or photo,
    ``media`` any message a person can send; a ``quiet`` dialog expires without a word.

    Raises:
        TypeError: when a step has no ``ask_`` or ``receive_`` function.
    """
    scope = vars(sys.modules[finish.__module__])
    table: dict[str, Step] = {}
    for member in steps:
        ask, receive = (scope.get(f"{verb}_{member.name.lower()}") for verb in ("ask", "receive"))
        if not (callable(ask) and callable(receive)):
            msg = f"dialog {name}: step {member.name} needs ask_ and receive_ functions"
            raise TypeError(msg)
        table[member] = Step(
            ask, receive, accepts_files=member in files, accepts_media=member in media
        )
    return register(Dialog(name, first or next(iter(steps)), table, finish, quiet))


async def current(ctx: Context) -> ConversationState | None:
    """Return the sender's open dialog in this chat, dropping it if it has expired.

    A customer has no workspace on the context: their dialog is stored under the
    shop it concerns, so it is found by chat and user alone (the latest one).
    """
    scope = [ConversationState.chat_id == ctx.chat_id, ConversationState.user_id == ctx.user_id]
    if ctx.workspace is not None:
        scope.append(ConversationState.workspace_id == ctx.workspace.id)
    state = await ctx.session.scalar(
        select(ConversationState).where(*scope).order_by(ConversationState.id.desc()).limit(1)
    )
    if state is not None and (state.expires_at <= ctx.now() or state.dialog not in _DIALOGS):
        await ctx.session.delete(state)
        known = _DIALOGS.get(state.dialog)
        if known is None or not known.quiet:
            ctx.reply(ctx.t("Your unfinished dialog timed out, so I closed it."))
        return None
    return state


async def start(ctx: Context, dialog: Dialog, data: Data | None = None) -> None:
    """Open ``dialog`` for the sender (replacing any open one) and ask its first step."""
    if ctx.workspace is None:
        msg = "dialogs need a workspace"
        raise RuntimeError(msg)
    await _clear(ctx)
    state = ConversationState(
        workspace_id=ctx.workspace.id,
        chat_id=ctx.chat_id,
        user_id=ctx.user_id,
        dialog=dialog.name,
        step=dialog.first,
        data=dict(data or {}),
        expires_at=_expiry(ctx),
    )
    ctx.session.add(state)
    await dialog.steps[dialog.first].ask(ctx, dict(state.data))


async def answer(ctx: Context, state: ConversationState) -> None:
    """Feed the sender's message to the open dialog's current step."""
    dialog = _DIALOGS[state.dialog]
    step = dialog.steps[state.step]
    data: Data = dict(state.data)
    incoming = ctx.incoming
    media = step.accepts_media and incoming.kind is not Kind.OTHER
    if (
        incoming.kind not in (Kind.TEXT, Kind.COMMAND)
        and not media
        and not (step.accepts_files and incoming.kind in (Kind.DOCUMENT, Kind.PHOTO))
    ):
        hint = (
            N_("Please send the file as a document (📎 → File).")
            if step.accepts_files
            else N_("Please answer with a text message.")
        )
        await _reask(ctx, step, data, ctx.t(hint))
        return
    try:
        next_step = await step.receive(ctx, data)
    except InvalidInput as exc:
        await _reask(ctx, step, dict(state.data), ctx.t(exc.key, **exc.params))
        return
    if next_step == DONE:
        await ctx.session.delete(state)
        await dialog.finish(ctx, data)
        return
    # Assign a new dict: SQLAlchemy's JSON column does not see in-place mutation.
    state.data = data
    state.step = next_step
    state.expires_at = _expiry(ctx)
    await dialog.steps[next_step].ask(ctx, data)


async def press(ctx: Context, dialog: Dialog, steps: Collection[str], value: str) -> None:
    """Answer the open ``dialog`` with a button's value, as if typed, at one of ``steps``.

    Raises:
        ButtonExpired: when the sender has no such dialog waiting at one of ``steps``.
    """
    state = await _waiting(ctx, dialog, steps)
    ctx.incoming = replace(ctx.incoming, kind=Kind.TEXT, text=value, command=None)
    await answer(ctx, state)


async def cancel_pressed(ctx: Context, dialog: Dialog) -> None:
    """Close the open ``dialog`` from its Cancel button and say nothing was saved.

    Raises:
        ButtonExpired: when the sender has no such dialog open.
    """
    state = await _waiting(ctx, dialog, dialog.steps)
    await ctx.session.delete(state)
    ctx.edit(ctx.t(N_("OK, cancelled. Nothing was saved.")))


async def cancel(ctx: Context) -> bool:
    """Close the sender's open dialog; return whether there was one."""
    state = await current(ctx)
    if state is None:
        return False
    await ctx.session.delete(state)
    return True


def text_answer(ctx: Context, hint: str, *, most: int | None = None, **params: object) -> str:
    """Return the typed answer, stripped, when it is text of 1 to ``most`` characters.

    Raises:
        InvalidInput: with ``hint`` for a command, a file, an empty or a too long answer.
    """
    text = ctx.incoming.text.strip()
    too_long = most is not None and len(text) > most
    if ctx.incoming.kind is not Kind.TEXT or not text or text.startswith("/") or too_long:
        raise InvalidInput(hint, **params)
    return text


def is_cancel(text: str) -> bool:
    """Return whether a message asks to cancel the dialog."""
    return text.strip().lower() in CANCEL_WORDS


async def _waiting(ctx: Context, dialog: Dialog, steps: Collection[str]) -> ConversationState:
    state = await current(ctx)
    if state is None or state.dialog != dialog.name or state.step not in steps:
        raise ctx.expired()
    return state


async def _reask(ctx: Context, step: Step, data: Data, hint: str) -> None:
    ctx.reply("⚠️ " + hint)
    await step.ask(ctx, data)


async def _clear(ctx: Context) -> None:
    assert ctx.workspace is not None  # noqa: S101 - start() checked it
    await ctx.session.execute(
        delete(ConversationState).where(
            ConversationState.workspace_id == ctx.workspace.id,
            ConversationState.chat_id == ctx.chat_id,
            ConversationState.user_id == ctx.user_id,
        )
    )


def _expiry(ctx: Context) -> datetime:
    return ctx.now() + timedelta(minutes=ctx.app.conversation_ttl_minutes)
