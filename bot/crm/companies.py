"""Companies: customers' companies and their branches, at most three levels deep.

A company is found by its path from the top: ``Wang Tea / Shanghai / Pudong``
names a top-level company, its branch and the branch's branch. Top-level
companies are matched by name among companies without a parent, branches by
name under their parent.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit
from bot.crm.guards import require_role
from bot.crm.models import Company, Member, Role
from bot.crm.names import check_name_text
from bot.errors import InvalidInput, NotFound
from bot.i18n import N_

MAX_LEVELS = 3
MAX_NAME = 200
SEPARATOR = "/"


def parse_path(text: str) -> list[str]:
    """Return the company names of a typed path like ``Wang Tea / Shanghai branch``.

    Raises:
        InvalidInput: when a name is empty, too long or has a control character, or the
            path is deeper than three levels.
    """
    check_name_text(text)
    names = [" ".join(part.split()) for part in text.split(SEPARATOR)]
    if not text.strip() or text.strip().startswith("/") or any(not n for n in names):
        raise InvalidInput(
            N_("Please send a company name, like Wang Tea, or a branch: Wang Tea / Shanghai.")
        )
    _check_depth(len(names))
    if any(len(n) > MAX_NAME for n in names):
        raise InvalidInput(N_("Please keep company names under {max} characters."), max=MAX_NAME)
    return names


async def find_or_create(
    session: AsyncSession, *, actor: Member, name: str, parent: Company | None
) -> Company:
    """Return the company called ``name`` under ``parent`` (top level when None), creating it.

    Raises:
        PermissionDenied: when the actor is not an active member.
        InvalidInput: when the new company would be a fourth level or its name has a
            control character.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    # Checked before the lookup: PostgreSQL refuses a NUL even in a query parameter.
    check_name_text(name)
    query = select(Company).where(Company.workspace_id == actor.workspace_id, Company.name == name)
    if parent is None:
        query = query.where(Company.parent_id.is_(None))
    else:
        query = query.where(Company.parent_id == parent.id)
    found = await session.scalar(query.order_by(Company.id).limit(1))
    if found is not None:
        return found
    return await _create(session, actor=actor, name=name, parent=parent)


async def create_branch(
    session: AsyncSession, *, actor: Member, parent_id: int, name: str
) -> Company:
    """Create a branch under a company of the actor's workspace.

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the parent is not in the actor's workspace.
        InvalidInput: when the branch would be a fourth level or its name has a control
            character.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    parent = await session.scalar(
        select(Company).where(Company.id == parent_id, Company.workspace_id == actor.workspace_id)
    )
    if parent is None:
        raise NotFound(N_("That company doesn't exist."))
    return await _create(session, actor=actor, name=parse_path(name)[-1], parent=parent)


async def resolve_path(session: AsyncSession, *, actor: Member, path: Sequence[str]) -> Company:
    """Return the last company of a path from the top, creating missing levels.

    Raises:
        PermissionDenied: when the actor is not an active member.
        InvalidInput: when the path is empty or deeper than three levels.
    """
    if not path or len(path) > MAX_LEVELS:
        raise InvalidInput(N_("Companies go at most {max} levels deep."), max=MAX_LEVELS)
    company: Company | None = None
    for name in path:
        company = await find_or_create(session, actor=actor, name=name, parent=company)
    assert company is not None  # noqa: S101 - the path is not empty
    return company


async def chain(session: AsyncSession, *, workspace_id: int, company_id: int) -> list[Company]:
    """Return a company and its parents, from the top-level company down."""
    found: list[Company] = []
    next_id: int | None = company_id
    while next_id is not None and len(found) < MAX_LEVELS:
        company = await session.scalar(
            select(Company).where(Company.id == next_id, Company.workspace_id == workspace_id)
        )
        if company is None:
            break
        found.append(company)
        next_id = company.parent_id
    return found[::-1]


def describe(companies: Sequence[Company]) -> str:
    """Return a company chain as one line, like ``Wang Tea / Shanghai branch``."""
    return f" {SEPARATOR} ".join(c.name for c in companies)


async def _create(
    session: AsyncSession, *, actor: Member, name: str, parent: Company | None
) -> Company:
    check_name_text(name)
    level = parent.level + 1 if parent else 1
    _check_depth(level)
    company = Company(
        workspace_id=actor.workspace_id,
        name=name,
        parent_id=parent.id if parent else None,
        level=level,
    )
    session.add(company)
    await session.flush()
    await audit.record_change(
        session, actor, "company.create", company, {"parent_id": company.parent_id, "level": level}
    )
    return company


def _check_depth(levels: int) -> None:
    """Refuse a company path deeper than ``MAX_LEVELS``.

    Raises:
        InvalidInput: when it is.
    """
    if levels > MAX_LEVELS:
        raise InvalidInput(
            N_(
                "Companies go at most {max} levels deep (company / branch / sub-branch). "
                "Please shorten it."
            ),
            max=MAX_LEVELS,
        )
