"""Template versions: the admin services that list, show, save and roll back template texts.

Every service takes the acting member and requires an owner or admin of the
template's workspace. Saving checks the text first (``templates.compile_template``)
and writes an audit entry; versions are never changed, a rollback adds one
whose origin is ``rollback:<n>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns import template_checks
from bot.campaigns.render_pool import RenderPool
from bot.campaigns.template_store import (
    ORIGIN_EDIT,
    add_template,
    ensure_defaults,
)
from bot.campaigns.templates import DEFAULT_KEYS, TEMPLATE_NAMES
from bot.crm import audit
from bot.crm.guards import require_role
from bot.crm.models import Member, MessageTemplate, Role, TemplateVersion
from bot.crm.tags import GRADE_NAME
from bot.errors import InvalidInput, NotFound
from bot.i18n import LOCALES, N_, translate

HISTORY_LIMIT = 10
_KEY = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


@dataclass(frozen=True, slots=True)
class TemplateText:
    """One version of a template, with who saved it and where it came from."""

    template_id: int
    key: str
    locale: str
    variant: str
    version: int
    current_version: int
    body: str
    origin: str
    author: str | None
    saved_at: datetime


async def list_templates(session: AsyncSession, *, actor: Member) -> list[MessageTemplate]:
    """Return the workspace's templates, defaults first, by key, language and variant.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
    """
    _require_manager(actor)
    await ensure_defaults(session, workspace_id=actor.workspace_id)
    found = await session.scalars(
        select(MessageTemplate).where(MessageTemplate.workspace_id == actor.workspace_id)
    )
    order = {key: i for i, key in enumerate(DEFAULT_KEYS)}
    return sorted(
        found, key=lambda t: (order.get(t.key, len(order)), t.key, t.locale != "en", t.variant)
    )


async def current_text(
    session: AsyncSession, *, actor: Member, key: str, locale: str, variant: str
) -> TemplateText | None:
    """Return the current version of one template, or None when it has no text yet.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
    """
    _require_manager(actor)
    await ensure_defaults(session, workspace_id=actor.workspace_id)
    template = await session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.workspace_id == actor.workspace_id,
            MessageTemplate.key == key,
            MessageTemplate.locale == locale,
            MessageTemplate.variant == variant,
        )
    )
    if template is None:
        return None
    return (await _versions(session, template, version=template.current_version))[0]


async def get_template(
    session: AsyncSession, *, actor: Member, template_id: int
) -> MessageTemplate:
    """Return one of the workspace's templates by id.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        NotFound: when the workspace has no such template.
    """
    _require_manager(actor)
    template = await session.get(MessageTemplate, template_id)
    if template is None or template.workspace_id != actor.workspace_id:
        raise NotFound(N_("That template doesn't exist any more. Send /templates to see them."))
    return template


async def save_version(
    session: AsyncSession,
    *,
    actor: Member,
    key: str,
    locale: str,
    variant: str,
    body: str,
    now: datetime,
    origin: str = ORIGIN_EDIT,
    renders: RenderPool | None = None,
) -> TemplateText:
    """Check a new text and save it as the template's next version (creating the template).

    The text is tried on the sample customer in ``renders`` (the bot's render
    workers, with their hard time limit); without it, in this process.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        InvalidInput: when the key, language or variant is malformed or the text is refused,
            including one that takes too long to fill in.
        RenderUnavailable: when no render worker could be had in time.
    """
    _require_manager(actor)
    key, locale, variant = parse_key(key), parse_locale(locale), parse_variant(variant)
    await template_checks.check(renders, body)
    await ensure_defaults(session, workspace_id=actor.workspace_id)
    template = await session.scalar(
        select(MessageTemplate)
        .where(
            MessageTemplate.workspace_id == actor.workspace_id,
            MessageTemplate.key == key,
            MessageTemplate.locale == locale,
            MessageTemplate.variant == variant,
        )
        .with_for_update()
    )
    if template is None:
        template = await add_template(
            session, actor.workspace_id, key, locale, variant, body, actor=actor, now=now
        )
    else:
        latest = await session.scalar(
            select(func.max(TemplateVersion.version)).where(
                TemplateVersion.template_id == template.id
            )
        )
        template.current_version = (latest or 0) + 1
        template.updated_at = now
        session.add(
            TemplateVersion(
                workspace_id=actor.workspace_id,
                template_id=template.id,
                version=template.current_version,
                body=body,
                origin=origin,
                created_by_member_id=actor.id,
                created_at=now,
            )
        )
        await session.flush()
    details = {
        "key": key,
        "locale": locale,
        "variant": variant,
        "origin": origin,
        "version": template.current_version,
    }
    await audit.record_change(session, actor, "template.save", template, details)
    return (await _versions(session, template, version=template.current_version))[0]


async def history(
    session: AsyncSession, *, actor: Member, template_id: int, limit: int = HISTORY_LIMIT
) -> list[TemplateText]:
    """Return a template's latest versions, newest first.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        NotFound: when the workspace has no such template.
    """
    template = await get_template(session, actor=actor, template_id=template_id)
    return await _versions(session, template, limit=limit)


async def rollback(
    session: AsyncSession,
    *,
    actor: Member,
    template_id: int,
    version: int,
    now: datetime,
    renders: RenderPool | None = None,
) -> TemplateText:
    """Make an earlier version's text current again, as a new version ``rollback:<n>``.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        NotFound: when the workspace has no such template or version.
        InvalidInput: when that version is already the current text, or is refused now.
        RenderUnavailable: when no render worker could be had in time.
    """
    template = await get_template(session, actor=actor, template_id=template_id)
    if version == template.current_version:
        raise InvalidInput(N_("Version {version} is already the current text."), version=version)
    old = await _versions(session, template, version=version)
    if not old:
        raise NotFound(N_("There's no version {version} of this template."), version=version)
    return await save_version(
        session,
        actor=actor,
        key=template.key,
        locale=template.locale,
        variant=template.variant,
        body=old[0].body,
        now=now,
        origin=f"rollback:{version}",
        renders=renders,
    )


def parse_key(text: str) -> str:
    """Return a template key such as ``weekly_touchpoint``, or refuse with a hint."""
    key = text.strip().lower()
    for known, name in TEMPLATE_NAMES.items():
        if key in {translate(locale, name).casefold() for locale in LOCALES}:
            return known
    if not _KEY.match(key):
        raise InvalidInput(
            N_("A template name uses lowercase letters, digits and _, like weekly_touchpoint.")
        )
    return key


def parse_locale(text: str) -> str:
    """Return ``en`` or ``zh-CN`` for the ways people write them, or refuse with a hint."""
    code = text.strip().lower().replace("_", "-")
    if code in ("en", "english"):
        return "en"
    if code.startswith("zh") or code in ("cn", "chinese", "中文"):
        return "zh-CN"
    raise InvalidInput(N_("Templates are in en or zh-CN."))


def parse_variant(text: str) -> str:
    """Return a grade variant (``A``, ``B``…) or "" for the text everyone gets."""
    variant = text.strip().upper()
    if variant and not GRADE_NAME.match(variant):
        raise InvalidInput(N_("A variant is a grade such as A, B or C."))
    return variant


async def _versions(
    session: AsyncSession,
    template: MessageTemplate,
    *,
    version: int | None = None,
    limit: int = HISTORY_LIMIT,
) -> list[TemplateText]:
    query = (
        select(TemplateVersion, Member.display_name)
        .outerjoin(Member, Member.id == TemplateVersion.created_by_member_id)
        .where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.workspace_id == template.workspace_id,
        )
        .order_by(TemplateVersion.version.desc())
        .limit(limit)
    )
    if version is not None:
        query = query.where(TemplateVersion.version == version)
    rows = await session.execute(query)
    return [
        TemplateText(
            template_id=template.id,
            key=template.key,
            locale=template.locale,
            variant=template.variant,
            version=v.version,
            current_version=template.current_version,
            body=v.body,
            origin=v.origin,
            author=author,
            saved_at=v.created_at,
        )
        for v, author in rows
    ]


def _require_manager(actor: Member) -> None:
    require_role(actor, Role.OWNER, Role.ADMIN)
