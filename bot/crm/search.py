"""Search: finding the customers a member may see by name, phone, company, tag or field.

A query may also hold ``tier:<high|medium|low>`` and ``segment:<name>`` words, which
narrow the matches (alone, they list the customers of that tier or segment, those
of the highest lifetime value first).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.crm import workspaces
from bot.crm.companies import SEPARATOR
from bot.crm.fields import has_option
from bot.crm.guards import require_role
from bot.crm.models import Company, Customer, CustomerTag, Member, Role, Tag
from bot.crm.models.core import Segment, ValueTier
from bot.crm.phones import normalize_phone
from bot.crm.scope import visible_customers
from bot.errors import InvalidInput
from bot.i18n import N_

FIND_LIMIT = 10
MIN_PHONE_DIGITS = 4
_PHONEISH = re.compile(r"^\+?[\d\s\-().]+$")
TIER_HINT = N_("The tier is high, medium or low, like /find tier:high.")
SEGMENT_HINT = N_(
    "The segment is champions, loyal, potential, new, slipping, hibernating or lost, "
    "like /find segment:slipping."
)
# The words /find takes for a segment: its stored key, except the RFM "at_risk",
# which is shown as "slipping" (下滑) so it is not read as /atrisk's churn list.
SEGMENT_NAMES: dict[str, str] = {
    s: ("slipping" if s is Segment.AT_RISK else s.value) for s in Segment
}
_CHINESE_SEGMENTS = {
    "核心": Segment.CHAMPIONS,
    "忠诚": Segment.LOYAL,
    "潜力": Segment.POTENTIAL,
    "新": Segment.NEW,
    "下滑": Segment.AT_RISK,
    "沉睡": Segment.HIBERNATING,
    "流失": Segment.LOST,
}
SEGMENT_WORDS = (
    {name: Segment(key) for key, name in SEGMENT_NAMES.items()}
    | _CHINESE_SEGMENTS
    | {f"{word}客户": segment for word, segment in _CHINESE_SEGMENTS.items()}
    | {"已流失": Segment.LOST, "at_risk": Segment.AT_RISK}
)
# ``tier:high`` and ``分层:高`` (高价值) alike.
TIER_KEYS = frozenset({"tier", "分层", "价值"})
SEGMENT_KEYS = frozenset({"segment", "分群"})
TIER_WORDS = {t.value: t for t in ValueTier} | {
    "高": ValueTier.HIGH,
    "高价值": ValueTier.HIGH,
    "中": ValueTier.MEDIUM,
    "中价值": ValueTier.MEDIUM,
    "低": ValueTier.LOW,
    "低价值": ValueTier.LOW,
}


@dataclass(frozen=True, slots=True)
class FindQuery:
    """A /find query split into its free text and its tier and segment filters."""

    text: str
    tier: ValueTier | None = None
    segment: Segment | None = None

    @property
    def filtered(self) -> bool:
        """Return whether a tier or segment narrows the search."""
        return self.tier is not None or self.segment is not None


def parse_query(text: str) -> FindQuery:
    """Split ``tier:`` and ``segment:`` words off a query; the rest is the text to match.

    Raises:
        InvalidInput: when a tier or segment is not one there is.
    """
    rest: list[str] = []
    tier: ValueTier | None = None
    segment: Segment | None = None
    for word in text.split():
        key, sep, value = word.replace("：", ":").partition(":")
        key, value = key.casefold(), value.casefold().replace("-", "_")
        if sep and key in TIER_KEYS:
            if value not in TIER_WORDS:
                raise InvalidInput(TIER_HINT)
            tier = TIER_WORDS[value]
        elif sep and key in SEGMENT_KEYS:
            if value not in SEGMENT_WORDS:
                raise InvalidInput(SEGMENT_HINT)
            segment = SEGMENT_WORDS[value]
        else:
            rest.append(word)
    return FindQuery(" ".join(rest), tier, segment)


async def find_customers(
    session: AsyncSession,
    *,
    actor: Member,
    text: str,
    limit: int = FIND_LIMIT,
    tier: ValueTier | None = None,
    segment: Segment | None = None,
    options: Sequence[tuple[str, str]] = (),
) -> list[Customer]:
    """Return up to ``limit`` visible customers matching a name, phone, company, tag or field.

    ``tier`` and ``segment`` keep only customers of that value tier or segment; with
    them and no text, the customers of the tier or segment, highest lifetime value first.
    ``options`` are the (field, key) pairs of the shop's options whose names match the
    text (names are in the reader's language, so the caller finds them).

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    text = " ".join(text.split())
    base = visible_customers(actor)
    if tier is not None:
        base = base.where(Customer.value_tier == tier)
    if segment is not None:
        base = base.where(Customer.rfm_segment == segment)
    if not text:
        if tier is None and segment is None:
            return []
        ranked = base.order_by(Customer.clv_minor.desc().nulls_last(), Customer.name, Customer.id)
        return list((await session.scalars(ranked.limit(limit))).all())
    digits = re.sub(r"\D", "", text)
    sqlite = session.get_bind().dialect.name == "sqlite"
    if _PHONEISH.match(text) and len(digits) >= MIN_PHONE_DIGITS:
        return await _find_phone(session, actor, base, text, digits, limit, sqlite=sqlite)
    found = await _all(
        session, base.where(_prefix(Customer.name, text, sqlite=sqlite)), limit, by_name=True
    )
    if found:
        return found
    company_ids = _companies_matching(actor.workspace_id, text)
    tagged = (
        select(CustomerTag.customer_id)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(Tag.workspace_id == actor.workspace_id, Tag.name.icontains(text, autoescape=True))
    )
    matches = or_(
        Customer.name.icontains(text, autoescape=True),
        Customer.company_id.in_(company_ids),
        Customer.id.in_(tagged),
        *(has_option(field, key) for field, key in options),
    )
    return await _all(session, base.where(matches), limit, by_name=True)


def _companies_matching(workspace_id: int, text: str) -> Select[Any]:
    """Return the ids of companies whose name, or a parent's, holds the text.

    A branch is found by its parent's name (``Jade`` finds ``Jade Garden Tea / Hangzhou``)
    and a typed path by its levels (``Jade Garden Tea / Hangzhou``).
    """
    parent = aliased(Company, name="parent")
    grandparent = aliased(Company, name="grandparent")
    names = [n for n in (" ".join(p.split()) for p in text.split(SEPARATOR)) if n] or [text]
    # Top down; a shallower company has no grandparent (or parent), which matches nothing.
    levels: list[Any] = [grandparent, parent, Company]
    # The names match consecutive levels, in order, anywhere along the company's path.
    conditions = (
        false()
        if len(names) > len(levels)
        else or_(
            *(
                and_(
                    *(
                        level.name.icontains(name, autoescape=True)
                        for level, name in zip(levels[start:], names, strict=False)
                    )
                )
                for start in range(len(levels) - len(names) + 1)
            )
        )
    )
    return (
        select(Company.id)
        .outerjoin(
            parent, (parent.id == Company.parent_id) & (parent.workspace_id == workspace_id)
        )
        .outerjoin(
            grandparent,
            (grandparent.id == parent.parent_id) & (grandparent.workspace_id == workspace_id),
        )
        .where(Company.workspace_id == workspace_id, conditions)
    )


async def _find_phone(
    session: AsyncSession,
    actor: Member,
    base: Select[Any],
    text: str,
    digits: str,
    limit: int,
    *,
    sqlite: bool,
) -> list[Customer]:
    region = (await workspaces.of_member(session, actor)).region
    try:
        exact = normalize_phone(text, region=region)
    except InvalidInput:
        exact = None
    if exact is not None:
        found = await _all(session, base.where(Customer.phone == exact), limit)
        if found:
            return found
    if text.startswith("+"):
        prefix = "+" + digits
    elif region:
        prefix = f"+{phonenumbers.country_code_for_region(region)}{digits.lstrip('0')}"
    else:
        prefix = "+" + digits
    found = await _all(session, base.where(_prefix(Customer.phone, prefix, sqlite=sqlite)), limit)
    if found:
        return found
    return await _all(session, base.where(Customer.phone.like(f"%{digits}%")), limit)


def _prefix(column: Any, prefix: str, *, sqlite: bool) -> ColumnElement[bool]:
    """Match a prefix so that SQLite can use the column's index (a range, not LIKE)."""
    if sqlite:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        matched: ColumnElement[bool] = (column >= prefix) & (column < upper)
    else:
        matched = column.startswith(prefix, autoescape=True)
    return matched


async def _all(
    session: AsyncSession, query: Select[Any], limit: int, *, by_name: bool = False
) -> list[Customer]:
    order = (Customer.name, Customer.id) if by_name else (Customer.id,)
    result = await session.execute(query.order_by(*order).limit(limit))
    return list(result.scalars().all())
