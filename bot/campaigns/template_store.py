"""Template store: each workspace's current template texts, with the files as defaults.

A template is a (key, locale, variant) of one workspace; its texts are numbered
versions (``template_versions`` saves and rolls them back). The files in
``templates/`` are the defaults: they become version 1 in the database the
first time an admin lists, shows or edits templates, and until then delivery
reads them straight from the files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.audiences import recipients
from bot.campaigns.templates import DEFAULT_KEYS, customer_variables
from bot.crm import loyalty
from bot.crm.models import Customer, Member, MessageTemplate, TemplateVersion, Workspace, utcnow
from bot.i18n import LOCALES

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
ORIGIN_DEFAULT = "default"
ORIGIN_EDIT = "edit"
# <key>.<locale>[.<grade>].j2, e.g. weekly_touchpoint.zh-CN.A.j2
_FILE = re.compile(
    r"^(?P<key>[a-z][a-z0-9_]{1,31})\.(?P<locale>[A-Za-z-]+)"
    r"(?:\.(?P<variant>[A-Z0-9+-]{1,8}))?\.j2$"
)
Slot = tuple[str, str]  # (locale, variant)


@dataclass(frozen=True)
class TemplateBody:
    """The current text of one template for one language and variant."""

    template_id: int | None  # None: read from the default file, not in the database yet
    version: int
    body: str
    locale: str
    variant: str


@cache
def default_bodies() -> Mapping[str, Mapping[Slot, str]]:
    """Return the default texts from ``templates/``: key -> (locale, variant) -> text."""
    found: dict[str, dict[Slot, str]] = {}
    for path in sorted(TEMPLATES_DIR.glob("*.j2")):
        match = _FILE.match(path.name)
        if match is None or match["locale"] not in LOCALES:
            continue
        slot = (match["locale"], match["variant"] or "")
        found.setdefault(match["key"], {})[slot] = path.read_text(encoding="utf-8").rstrip()
    return found


async def current_bodies(
    session: AsyncSession, workspace_id: int, key: str
) -> dict[Slot, TemplateBody]:
    """Return each (locale, variant) of a key with its current text; {} for an unknown key."""
    rows = await session.execute(
        select(MessageTemplate, TemplateVersion.body)
        .join(
            TemplateVersion,
            and_(
                TemplateVersion.template_id == MessageTemplate.id,
                TemplateVersion.version == MessageTemplate.current_version,
            ),
        )
        .where(MessageTemplate.workspace_id == workspace_id, MessageTemplate.key == key)
    )
    bodies = {
        (t.locale, t.variant): TemplateBody(t.id, t.current_version, body, t.locale, t.variant)
        for t, body in rows
    }
    for (locale, variant), body in default_bodies().get(key, {}).items():
        bodies.setdefault((locale, variant), TemplateBody(None, 1, body, locale, variant))
    return bodies


def pick(
    bodies: Mapping[Slot, TemplateBody],
    *,
    locale: str | None,
    grade: str | None,
    fallback_locale: str,
) -> TemplateBody | None:
    """Choose the text for a customer's language and grade, falling back step by step."""
    order: list[Slot] = []
    for language in (locale, fallback_locale):
        if language is None:
            continue
        if grade:
            order.append((language, grade.upper()))
        order.append((language, ""))
    order.append(("en", ""))
    for slot in order:
        if slot in bodies:
            return bodies[slot]
    return None


def delivery_locale(locale: str | None, fallback_locale: str) -> str:
    """Return the language delivery writes to a customer in: theirs when known, else the shop's."""
    return locale if locale in LOCALES else fallback_locale


def pick_for(
    bodies: Mapping[Slot, TemplateBody],
    *,
    locale: str | None,
    grade: str | None,
    fallback_locale: str,
) -> TemplateBody | None:
    """Choose the text one customer gets, exactly as delivery does (their language, then grade)."""
    return pick(
        bodies,
        locale=delivery_locale(locale, fallback_locale),
        grade=grade,
        fallback_locale=fallback_locale,
    )


async def reach(
    session: AsyncSession,
    workspace_id: int,
    bodies: Mapping[Slot, TemplateBody],
    fallback_locale: str,
) -> dict[Slot, int]:
    """Return how many customers a campaign could reach today get each (locale, variant).

    Every slot of ``bodies`` is in the answer, with 0 when nobody gets it.
    """
    everyone = recipients(workspace_id, {}).order_by(None)
    rows = await session.execute(
        select(Customer.locale, Customer.grade, func.count())
        .where(Customer.id.in_(everyone))
        .group_by(Customer.locale, Customer.grade)
    )
    counts = dict.fromkeys(bodies, 0)
    for locale, grade, many in rows:
        body = pick_for(bodies, locale=locale, grade=grade, fallback_locale=fallback_locale)
        if body is not None:
            slot = (body.locale, body.variant)
            counts[slot] = counts.get(slot, 0) + int(many)
    return counts


async def keys(session: AsyncSession, workspace_id: int) -> list[str]:
    """Return the default template keys, then the workspace's own ones by name."""
    custom = await session.scalars(
        select(MessageTemplate.key)
        .where(MessageTemplate.workspace_id == workspace_id)
        .where(MessageTemplate.key.not_in(DEFAULT_KEYS))
        .distinct()
        .order_by(MessageTemplate.key)
    )
    return [*DEFAULT_KEYS, *custom]


async def customer_variables_for(
    session: AsyncSession, *, customer: Customer, workspace: Workspace, locale: str, today: date
) -> dict[str, object]:
    """Return a customer's template variables, with their current points balance."""
    owner = (
        await session.get(Member, customer.owner_member_id) if customer.owner_member_id else None
    )
    return customer_variables(
        name=customer.name,
        grade=customer.grade,
        owner=owner.display_name if owner is not None and owner.active else workspace.name,
        points=await loyalty.balance(session, workspace.id, customer.id),
        merchant=workspace.name,
        today=today,
        locale=locale,
    )


# Writing defaults (no role check: every reader may trigger it)


async def ensure_defaults(session: AsyncSession, *, workspace_id: int) -> int:
    """Copy the default files into the workspace as version 1 where missing; return how many."""
    rows = await session.execute(
        select(MessageTemplate.key, MessageTemplate.locale, MessageTemplate.variant).where(
            MessageTemplate.workspace_id == workspace_id
        )
    )
    existing = {(key, locale, variant) for key, locale, variant in rows}
    added = 0
    for key, slots in default_bodies().items():
        for (locale, variant), body in slots.items():
            if (key, locale, variant) in existing:
                continue
            try:
                async with session.begin_nested():
                    await add_template(session, workspace_id, key, locale, variant, body)
            except IntegrityError:
                continue  # another process copied it first; theirs is the same text
            added += 1
    return added


async def add_template(
    session: AsyncSession,
    workspace_id: int,
    key: str,
    locale: str,
    variant: str,
    body: str,
    *,
    actor: Member | None = None,
    now: datetime | None = None,
) -> MessageTemplate:
    """Insert a template with its first version (a default when no actor saves it)."""
    at = now or utcnow()
    template = MessageTemplate(
        workspace_id=workspace_id,
        key=key,
        locale=locale,
        variant=variant,
        current_version=1,
        updated_at=at,
    )
    session.add(template)
    await session.flush()
    session.add(
        TemplateVersion(
            workspace_id=workspace_id,
            template_id=template.id,
            version=1,
            body=body,
            origin=ORIGIN_EDIT if actor else ORIGIN_DEFAULT,
            created_by_member_id=actor.id if actor else None,
            created_at=at,
        )
    )
    await session.flush()
    return template
