"""Tags and scoring: weighted tags in four dimensions, a customer's score and its grade."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit
from bot.crm.guards import require_role
from bot.crm.models import Customer, CustomerTag, Member, Role, Tag, TagDimension, Workspace
from bot.crm.scope import get_visible
from bot.errors import InvalidInput, NotFound
from bot.i18n import LOCALES, N_, translate

TAG_NAME = re.compile(r"^[\w-]{1,40}$")
GRADE_NAME = re.compile(r"^[A-Za-z0-9+-]{1,8}$")
MAX_WEIGHT = 1000
MAX_GRADES = 6
LOWEST_GRADE = "C"
RESCORE_CHUNK = 500
# A tag created from a button on /tag's answer starts here; /tagdef changes it.
QUICK_DIMENSION = TagDimension.INTEREST
QUICK_WEIGHT = 0


class UnknownTag(InvalidInput):
    """Raised when /tag names a tag the workspace has not defined.

    ``name`` is the tag, ``adding`` whether it was to be added (so an admin may
    create it), ``close`` the defined names that look like it.
    """

    def __init__(self, name: str, *, adding: bool, close: Sequence[str]) -> None:
        if close:
            super().__init__(
                N_("There's no tag called {tag}. Did you mean: {close}? See /tags."),
                tag=name,
                close=", ".join(close),
            )
        else:
            super().__init__(N_("There's no tag called {tag}. See /tags."), tag=name)
        self.name, self.adding, self.close = name, adding, tuple(close)


@dataclass(frozen=True, slots=True)
class Tagged:
    """A customer after a tag change: its tags, score and grade."""

    customer: Customer
    tags: Sequence[Tag]


def clean_tag_name(text: str) -> str:
    """Return a tag name lower-cased without a leading +, - or #.

    Raises:
        InvalidInput: when it has spaces or symbols, or is too long.
    """
    name = text.strip().lstrip("+-#").casefold()
    if not TAG_NAME.match(name):
        raise InvalidInput(
            N_("A tag name is one word of up to 40 letters, digits, - or _, like vip or regular.")
        )
    return name


DIMENSION_LABELS = {
    TagDimension.DEMOGRAPHIC: N_("demographic"),
    TagDimension.INTEREST: N_("interest"),
    TagDimension.SOCIAL: N_("social"),
    TagDimension.BEHAVIOUR: N_("behaviour"),
}


def parse_dimension(text: str) -> TagDimension:
    """Return the dimension named by ``text`` or a prefix of it (``demo``, ``int``…).

    Raises:
        InvalidInput: when no dimension matches.
    """
    wanted = text.strip().casefold()
    for dimension in TagDimension:
        if wanted and dimension.value.startswith(wanted):
            return dimension
        if wanted in {translate(loc, DIMENSION_LABELS[dimension]) for loc in LOCALES}:
            return dimension
    raise InvalidInput(
        N_("The dimension is demographic, interest, social or behaviour (or the first letters).")
    )


def grade_for(thresholds: Mapping[str, Any], score: int) -> str:
    """Return the grade a score earns: the highest threshold it reaches, else the lowest grade."""
    for name, minimum in sorted(thresholds.items(), key=lambda kv: -int(kv[1])):
        if score >= int(minimum):
            return str(name)
    return lowest_grade(thresholds)


def lowest_grade(thresholds: Mapping[str, Any]) -> str:
    """Return the grade below every threshold: C, or the letter after the last one named."""
    letters = [n for n in thresholds if len(n) == 1 and n.isalpha() and n.isupper()]
    if letters and max(letters) >= LOWEST_GRADE:
        return chr(ord(max(letters)) + 1) if max(letters) < "Z" else "-"
    return LOWEST_GRADE


def describe_grades(thresholds: Mapping[str, Any]) -> str:
    """Return thresholds as text, highest first, then the lowest grade: A ≥ 80, B ≥ 50, C."""
    ordered = sorted(thresholds.items(), key=lambda kv: -int(kv[1]))
    return ", ".join(
        [*(f"{name} ≥ {minimum}" for name, minimum in ordered), lowest_grade(thresholds)]
    )


def parse_grades(text: str) -> dict[str, int]:
    """Read thresholds typed like ``A=80 B=50``.

    Raises:
        InvalidInput: when a part is not ``NAME=number`` or names or numbers repeat.
    """
    grades: dict[str, int] = {}
    for part in text.replace(",", " ").split():
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        if not sep or not GRADE_NAME.match(name) or not value.lstrip("-").isdigit():
            raise InvalidInput(N_("Send grades like this: /grades A=80 B=50"))
        grades[name] = int(value)
    if not grades or len(grades) > MAX_GRADES or len(set(grades.values())) != len(grades):
        raise InvalidInput(N_("Send grades like this: /grades A=80 B=50"))
    if lowest_grade(grades) in grades:
        raise InvalidInput(N_("Send grades like this: /grades A=80 B=50"))
    return dict(sorted(grades.items(), key=lambda kv: -kv[1]))


async def list_tags(session: AsyncSession, *, actor: Member) -> Sequence[Tag]:
    """Return the workspace's tags by dimension, heaviest first."""
    require_role(actor, *Role)
    result = await session.execute(
        select(Tag)
        .where(Tag.workspace_id == actor.workspace_id)
        .order_by(Tag.dimension, Tag.weight.desc(), Tag.name)
    )
    return result.scalars().all()


async def define_tag(
    session: AsyncSession, *, actor: Member, name: str, dimension: TagDimension, weight: int
) -> tuple[Tag, bool]:
    """Create a tag or change its dimension and weight; return it and whether it is new.

    Scores and grades of tagged customers follow a changed weight.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        InvalidInput: when the name or weight cannot be used.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    name = clean_tag_name(name)
    if abs(weight) > MAX_WEIGHT:
        raise InvalidInput(N_("A weight is a whole number from -1000 to 1000."))
    tag = await _tag(session, actor.workspace_id, name)
    created = tag is None
    if tag is None:
        tag = Tag(workspace_id=actor.workspace_id, name=name, dimension=dimension, weight=weight)
        session.add(tag)
    else:
        tag.dimension, tag.weight = dimension, weight
    await session.flush()
    details = {"dimension": dimension.value, "weight": weight}
    await audit.record_change(
        session, actor, "tag.create" if created else "tag.update", tag, details
    )
    if not created:
        await _rescore_tagged(session, actor.workspace_id, tag.id)
    return tag, created


async def delete_tag(session: AsyncSession, *, actor: Member, name: str) -> int:
    """Delete a tag from the workspace and its customers; return how many lost it.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        NotFound: when there is no such tag.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    tag = await _tag(session, actor.workspace_id, clean_tag_name(name))
    if tag is None:
        raise NotFound(N_("There's no tag called {tag}. See /tags."), tag=name.strip())
    tagged = await _customers_with(session, actor.workspace_id, tag.id)
    await session.execute(
        delete(CustomerTag).where(
            CustomerTag.workspace_id == actor.workspace_id, CustomerTag.tag_id == tag.id
        )
    )
    await session.delete(tag)
    await session.flush()
    await _rescore(session, actor.workspace_id, tagged)
    await audit.record_change(session, actor, "tag.delete", tag, {"customers": len(tagged)})
    return len(tagged)


async def change_tags(
    session: AsyncSession,
    *,
    actor: Member,
    customer_id: int,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> Tagged:
    """Add and remove defined tags on a visible customer, then update its score and grade.

    Raises:
        NotFound: when the customer is not among the actor's.
        UnknownTag: when a tag is not defined (it names close ones, if any).
    """
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    known = {t.name: t for t in await list_tags(session, actor=actor)}
    wanted_add = [clean_tag_name(n) for n in add]
    wanted_remove = [clean_tag_name(n) for n in remove]
    for name in [*wanted_add, *wanted_remove]:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            raise UnknownTag(name, adding=name in wanted_add, close=close)
    current = set(await _tag_ids(session, customer))
    for name in wanted_add:
        if known[name].id not in current:
            session.add(
                CustomerTag(
                    workspace_id=actor.workspace_id, customer_id=customer.id, tag_id=known[name].id
                )
            )
            current.add(known[name].id)
    drop = {known[n].id for n in wanted_remove} & current
    if drop:
        await session.execute(
            delete(CustomerTag).where(
                CustomerTag.workspace_id == actor.workspace_id,
                CustomerTag.customer_id == customer.id,
                CustomerTag.tag_id.in_(drop),
            )
        )
    await session.flush()
    await _rescore(session, actor.workspace_id, [customer.id])
    await session.refresh(customer)
    if wanted_add or wanted_remove:
        details = {"added": wanted_add, "removed": wanted_remove}
        await audit.record_change(session, actor, "customer.tags", customer, details)
    return Tagged(customer, await customer_tags(session, customer=customer))


async def create_and_add(
    session: AsyncSession, *, actor: Member, customer_id: int, name: str
) -> tuple[Tagged, bool]:
    """Create a tag (``QUICK_DIMENSION``, ``QUICK_WEIGHT``) unless it exists, then add it.

    Returns the customer's tags after the change and whether the tag was created;
    a tag defined meanwhile keeps its dimension and weight.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        NotFound: when the customer is not among the actor's.
        InvalidInput: when the name cannot be a tag's.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    await get_visible(session, actor=actor, customer_id=customer_id)
    name = clean_tag_name(name)
    created = False
    if await _tag(session, actor.workspace_id, name) is None:
        _, created = await define_tag(
            session, actor=actor, name=name, dimension=QUICK_DIMENSION, weight=QUICK_WEIGHT
        )
    tagged = await change_tags(session, actor=actor, customer_id=customer_id, add=[name])
    return tagged, created


async def customer_tags(session: AsyncSession, *, customer: Customer) -> Sequence[Tag]:
    """Return the tags on a customer the caller already holds, heaviest first."""
    result = await session.execute(
        select(Tag)
        .join(CustomerTag, CustomerTag.tag_id == Tag.id)
        .where(
            CustomerTag.workspace_id == customer.workspace_id,
            CustomerTag.customer_id == customer.id,
        )
        .order_by(Tag.weight.desc(), Tag.name)
    )
    return result.scalars().all()


async def set_grades(
    session: AsyncSession, *, actor: Member, workspace: Workspace, thresholds: dict[str, int]
) -> None:
    """Store new grade thresholds and regrade every customer of the workspace.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    workspace.grade_thresholds = dict(thresholds)
    await session.flush()
    await session.execute(
        update(Customer)
        .where(Customer.workspace_id == workspace.id)
        .values(grade=_grade_expression(thresholds))
        .execution_options(synchronize_session=False)
    )
    details = {"grades": thresholds}
    await audit.record_change(session, actor, "workspace.grades", workspace, details)


def _grade_expression(thresholds: Mapping[str, Any]) -> Any:
    ordered = sorted(thresholds.items(), key=lambda kv: -int(kv[1]))
    whens = [(Customer.score >= int(minimum), str(name)) for name, minimum in ordered]
    return case(*whens, else_=lowest_grade(thresholds)) if whens else lowest_grade(thresholds)


async def _rescore(session: AsyncSession, workspace_id: int, customer_ids: Iterable[int]) -> None:
    ids = list(customer_ids)
    for start in range(0, len(ids), RESCORE_CHUNK):
        await _rescore_where(session, workspace_id, ids[start : start + RESCORE_CHUNK])


async def _rescore_where(
    session: AsyncSession, workspace_id: int, ids: list[int] | Select[Any]
) -> None:
    workspace = await session.get(Workspace, workspace_id)
    assert workspace is not None  # noqa: S101 - every customer belongs to a workspace
    total = (
        select(func.coalesce(func.sum(Tag.weight), 0))
        .join(CustomerTag, CustomerTag.tag_id == Tag.id)
        .where(CustomerTag.customer_id == Customer.id)
        .scalar_subquery()
    )
    chosen = (Customer.workspace_id == workspace_id, Customer.id.in_(ids))
    await session.execute(
        update(Customer)
        .where(*chosen)
        .values(score=total)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Customer)
        .where(*chosen)
        .values(grade=_grade_expression(workspace.grade_thresholds or {}))
        .execution_options(synchronize_session=False)
    )


async def _rescore_tagged(session: AsyncSession, workspace_id: int, tag_id: int) -> None:
    tagged = select(CustomerTag.customer_id).where(
        CustomerTag.workspace_id == workspace_id, CustomerTag.tag_id == tag_id
    )
    await _rescore_where(session, workspace_id, tagged)


async def _customers_with(session: AsyncSession, workspace_id: int, tag_id: int) -> list[int]:
    result = await session.execute(
        select(CustomerTag.customer_id).where(
            CustomerTag.workspace_id == workspace_id, CustomerTag.tag_id == tag_id
        )
    )
    return list(result.scalars())


async def _tag_ids(session: AsyncSession, customer: Customer) -> list[int]:
    result = await session.execute(
        select(CustomerTag.tag_id).where(
            CustomerTag.workspace_id == customer.workspace_id,
            CustomerTag.customer_id == customer.id,
        )
    )
    return list(result.scalars())


async def _tag(session: AsyncSession, workspace_id: int, name: str) -> Tag | None:
    return await session.scalar(
        select(Tag).where(Tag.workspace_id == workspace_id, Tag.name == name)
    )
