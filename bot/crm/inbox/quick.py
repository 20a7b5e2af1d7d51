"""Quick replies: a shop's saved answers, by key and language, that members send with a tap.

Every member may list and read them; the owner and admins write them. The text
is template source filled in with the customer's variables when it is sent, so
it must pass the same check as admin-edited templates before it is saved. That
check runs in the campaign layer's render pool, which this layer may not import:
callers run ``bot.campaigns.template_checks.check`` on the text and pass its
result here, and render it with ``template_checks.render_one`` when sending.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit
from bot.crm.guards import require_role
from bot.crm.models import Member, QuickReply, Role
from bot.errors import Conflict, InvalidInput, NotFound
from bot.i18n import N_

LOCALES = ("en", "zh-CN")
MAX_TEXT = 3500
# Letters of any script: a Chinese shop names its answers 价格 or 地址.
_KEY = re.compile(r"^[^\W_][\w-]{0,31}$")
KEY_HINT = N_("A quick reply's key is 1 to 32 letters, digits, - or _, like “price”.")
NOT_FOUND = N_("There's no quick reply “{name}” ({locale}). See /quick.")


def clean_key(text: str) -> str:
    """Return a quick reply's key, lower-cased.

    Raises:
        InvalidInput: when it is not 1 to 32 letters, digits, "-" or "_".
    """
    key = text.strip().lower()
    if not _KEY.match(key):
        raise InvalidInput(KEY_HINT)
    return key


async def list_quick(
    session: AsyncSession, *, actor: Member, locale: str | None = None
) -> list[QuickReply]:
    """Return the shop's quick replies by key (only ``locale``'s, if given).

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, *Role)
    query = select(QuickReply).where(QuickReply.workspace_id == actor.workspace_id)
    if locale is not None:
        query = query.where(QuickReply.locale == _locale(locale))
    return list(await session.scalars(query.order_by(QuickReply.key, QuickReply.locale)))


async def get_quick(session: AsyncSession, *, actor: Member, key: str, locale: str) -> QuickReply:
    """Return one quick reply in one language.

    Raises:
        PermissionDenied: when the actor is not an active member.
        InvalidInput: when the key or language cannot be used.
        NotFound: when the shop has no such quick reply.
    """
    require_role(actor, *Role)
    reply = await _find(session, actor, clean_key(key), _locale(locale))
    if reply is None:
        raise NotFound(NOT_FOUND, name=key, locale=locale)
    return reply


async def quick_by_id(session: AsyncSession, *, actor: Member, quick_id: int) -> QuickReply:
    """Return one of the shop's quick replies by id (a button's row).

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the shop has no such row (deleted, or another shop's).
    """
    require_role(actor, *Role)
    reply = await session.get(QuickReply, quick_id)
    if reply is None or reply.workspace_id != actor.workspace_id:
        raise NotFound(NOT_FOUND, name=f"#{quick_id}", locale="—")
    return reply


async def pick_quick(
    session: AsyncSession, *, actor: Member, key: str, locale: str | None
) -> QuickReply:
    """Return a quick reply in the customer's language, else in any other one.

    Raises:
        PermissionDenied: when the actor is not an active member.
        InvalidInput: when the key cannot be used.
        NotFound: when the shop has no quick reply with this key.
    """
    require_role(actor, *Role)
    wanted = locale if locale in LOCALES else LOCALES[0]
    rows = await session.scalars(
        select(QuickReply).where(
            QuickReply.workspace_id == actor.workspace_id, QuickReply.key == clean_key(key)
        )
    )
    found = sorted(rows, key=lambda r: (r.locale != wanted, LOCALES.index(r.locale)))
    if not found:
        raise NotFound(NOT_FOUND, name=key, locale=wanted)
    return found[0]


async def add_quick(
    session: AsyncSession, *, actor: Member, key: str, locale: str, text: str, now: datetime
) -> QuickReply:
    """Save a new quick reply; ``text`` has passed the template check (see the module).

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        InvalidInput: when the key, language or text cannot be used.
        Conflict: when the key exists in that language already.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    key, locale, text = clean_key(key), _locale(locale), _text(text)
    if await _find(session, actor, key, locale) is not None:
        raise Conflict(
            N_("Quick reply “{name}” ({locale}) exists already."), name=key, locale=locale
        )
    reply = QuickReply(
        workspace_id=actor.workspace_id,
        key=key,
        locale=locale,
        text=text,
        updated_by_member_id=actor.id,
        updated_at=now,
    )
    session.add(reply)
    await session.flush()
    await _audit(session, actor, "quick_reply.add", reply)
    return reply


async def edit_quick(
    session: AsyncSession, *, actor: Member, key: str, locale: str, text: str, now: datetime
) -> QuickReply:
    """Replace a quick reply's text; ``text`` has passed the template check (see the module).

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        InvalidInput: when the key, language or text cannot be used.
        NotFound: when the shop has no such quick reply.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    reply = await get_quick(session, actor=actor, key=key, locale=locale)
    reply.text = _text(text)
    reply.updated_by_member_id = actor.id
    reply.updated_at = now
    await _audit(session, actor, "quick_reply.edit", reply)
    await session.flush()
    return reply


async def delete_quick(session: AsyncSession, *, actor: Member, key: str, locale: str) -> None:
    """Delete a quick reply in one language.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        InvalidInput: when the key or language cannot be used.
        NotFound: when the shop has no such quick reply.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    reply = await get_quick(session, actor=actor, key=key, locale=locale)
    await _audit(session, actor, "quick_reply.delete", reply)
    await session.delete(reply)
    await session.flush()


async def _find(session: AsyncSession, actor: Member, key: str, locale: str) -> QuickReply | None:
    return await session.scalar(
        select(QuickReply).where(
            QuickReply.workspace_id == actor.workspace_id,
            QuickReply.key == key,
            QuickReply.locale == locale,
        )
    )


def _locale(locale: str | None) -> str:
    for known in LOCALES:
        if locale is not None and locale.strip().lower() == known.lower():
            return known
    raise InvalidInput(N_("Please name a language: en or zh-CN."))


def _text(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidInput(N_("Please describe it in 1 to {max} characters."), max=MAX_TEXT)
    return text


async def _audit(session: AsyncSession, actor: Member, action: str, reply: QuickReply) -> None:
    details = {"key": reply.key, "locale": reply.locale}
    await audit.record_change(session, actor, action, reply, details)
