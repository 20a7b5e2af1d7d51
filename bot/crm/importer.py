"""Customer import: check every row of an uploaded file, then insert all rows or none.

The file has the export's columns (English or Chinese headers, read by
``bot.crm.spreadsheet``); ``name`` is required. ``check_file`` reads the file and
cleans its rows in a worker process (``bot.crm.offload``), because parsing a
spreadsheet and checking thousands of phone numbers is CPU work that would stall
every other shop's replies; only the duplicate lookups run here. Checking never
writes: it returns an ``ImportPlan`` with row-by-row errors and the rows skipped
as duplicates (same phone in the file or in the shop, or an exported row whose
id and name are already in the shop). ``import_rows`` inserts a plan without
errors in the caller's transaction.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, offload, spreadsheet
from bot.crm.classification import CHOICES
from bot.crm.companies import MAX_LEVELS, SEPARATOR
from bot.crm.guards import require_role
from bot.crm.leads import STAGES
from bot.crm.models import (
    Company,
    Customer,
    CustomerKind,
    CustomerTag,
    Member,
    Role,
    Tag,
    Workspace,
)
from bot.crm.phones import normalize_phone
from bot.crm.spreadsheet import Table
from bot.errors import InvalidInput
from bot.i18n import N_

PARSE_SECONDS = 60.0
CHUNK = 500
MAX_NAME = 200
MAX_COMPANY = 200
MAX_REGION = 64
MAX_TAG = 40
# The classification keys of F2; no other module defines them yet.
# The same keys the /add dialog and the card use.
OWNERSHIPS = tuple(CHOICES["ownership"])
BUSINESS_TYPES = tuple(CHOICES["business_type"])
LOCATION_TYPES = tuple(CHOICES["location_type"])
# Columns the bot sets itself: read for duplicate checks (id) or ignored on import.
NOT_IMPORTED = ("id", "owner", "consent", "created", "last_contact")
TAG_SEPARATORS = (",", "，", ";", "；", "、")


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one line of the file, as a message id and its parameters."""

    line: int
    key: str
    params: dict[str, object]


@dataclass(slots=True)
class ImportPlan:
    """What importing a table would do: new rows, errors, duplicates and unknown tags."""

    total: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicates_in_file: int = 0
    duplicates_in_shop: int = 0
    unknown_tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CleanRows:
    """A file's rows after the checks that need no database: clean rows and row errors."""

    format: str
    columns: tuple[str, ...]
    unknown: tuple[str, ...]
    total: int
    rows: tuple[tuple[int, dict[str, Any]], ...]
    errors: tuple[RowError, ...]


def clean_table(table: Table, *, region: str | None, grades: frozenset[str]) -> CleanRows:
    """Check each row of ``table`` on its own (names, phones, choices, numbers)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    for line, cells in table.rows:
        row, problems = _clean(table.columns, cells, region=region, grades=grades)
        errors.extend(RowError(line, key, params) for key, params in problems)
        if not problems:
            rows.append((line, row))
    return CleanRows(
        table.format,
        tuple(table.columns),
        table.unknown,
        len(table.rows),
        tuple(rows),
        tuple(errors),
    )


def read_and_clean(
    content: bytes, filename: str, region: str | None, grades: frozenset[str]
) -> CleanRows:
    """Read an uploaded file and check its rows; the worker process's entry point.

    Raises:
        InvalidInput: when the file is over a limit or unreadable (see ``bot.crm.spreadsheet``).
    """
    table = spreadsheet.read_table(content, filename)
    return clean_table(table, region=region, grades=grades)


async def check_file(
    session: AsyncSession, *, actor: Member, content: bytes, filename: str
) -> tuple[CleanRows, ImportPlan]:
    """Read and check an uploaded file off the event loop; return its rows and the plan.

    Raises:
        PermissionDenied: when the actor is not an active member.
        InvalidInput: when the file is over a limit, unreadable, or takes too long.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    region, grades = await _rules(session, actor.workspace_id)
    clean = await offload.run_in_process(
        read_and_clean, content, filename, region, grades, deadline=PARSE_SECONDS
    )
    return clean, await _plan(session, actor.workspace_id, clean)


async def check_rows(session: AsyncSession, *, actor: Member, table: Table) -> ImportPlan:
    """Check every row of an already read ``table`` and return the plan; nothing is written.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    region, grades = await _rules(session, actor.workspace_id)
    clean = clean_table(table, region=region, grades=grades)
    return await _plan(session, actor.workspace_id, clean)


async def _rules(session: AsyncSession, ws: int) -> tuple[str | None, frozenset[str]]:
    workspace = await session.get(Workspace, ws)
    region = workspace.region if workspace else None
    return region, frozenset({*(workspace.grade_thresholds if workspace else {}), "C"})


async def _plan(session: AsyncSession, ws: int, clean: CleanRows) -> ImportPlan:
    plan = ImportPlan(total=clean.total, errors=list(clean.errors))
    cleaned = [row for _, row in clean.rows]
    phones = {row["phone"] for row in cleaned if row["phone"]}
    taken = await _existing_phones(session, ws, phones)
    exported = await _existing_ids(session, ws, [(r["id"], r["name"]) for r in cleaned if r["id"]])
    tag_names = {tag for row in cleaned for tag in row["tags"]}
    known_tags = await _tag_ids(session, ws, tag_names)
    plan.unknown_tags = sorted(tag_names - known_tags.keys())
    seen: set[str] = set()
    for row in cleaned:
        if row["phone"] in taken or (row["id"], row["name"]) in exported:
            plan.duplicates_in_shop += 1
        elif row["phone"] and row["phone"] in seen:
            plan.duplicates_in_file += 1
        else:
            seen.add(row["phone"])
            plan.rows.append({**row, "tags": [t for t in row["tags"] if t in known_tags]})
    return plan


async def import_rows(session: AsyncSession, *, actor: Member, plan: ImportPlan, fmt: str) -> int:
    """Insert the plan's rows as customers owned by the actor; return how many.

    Companies are found by their path from the top (``Wang Tea / Shanghai``), level
    by level, and the missing levels created. The caller's
    transaction makes the import all-or-nothing.

    Raises:
        PermissionDenied: when the actor is not an active member.
        InvalidInput: when the plan still has errors.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    if plan.errors:
        raise InvalidInput(N_("The file has errors, so nothing was imported."))
    ws = actor.workspace_id
    companies = await _company_ids(session, ws, {r["company"] for r in plan.rows if r["company"]})
    tags = await _tag_ids(session, ws, {t for r in plan.rows for t in r["tags"]})
    values = [
        {
            **{k: v for k, v in row.items() if k not in ("id", "company", "tags")},
            "workspace_id": ws,
            "owner_member_id": actor.id,
            "company_id": companies.get(row["company"]) if row["company"] else None,
            "source": "import",
        }
        for row in plan.rows
    ]
    # One bulk INSERT … RETURNING per chunk instead of the ORM's per-object flush: an
    # import of thousands of rows holds the write lock a fraction as long.
    ids: list[int] = []
    for chunk in _chunks(values):
        inserted = await session.scalars(
            insert(Customer).returning(Customer.id, sort_by_parameter_order=True), chunk
        )
        ids.extend(inserted)
    links = [
        {"workspace_id": ws, "customer_id": customer_id, "tag_id": tags[name]}
        for customer_id, row in zip(ids, plan.rows, strict=True)
        for name in row["tags"]
    ]
    for chunk in _chunks(links):
        await session.execute(insert(CustomerTag), chunk)
    await audit.record(
        session,
        workspace_id=ws,
        actor_member_id=actor.id,
        action="customer.import",
        entity="customer",
        entity_id=None,
        details={
            "format": fmt,
            "rows": len(ids),
            "duplicates": plan.duplicates_in_file + plan.duplicates_in_shop,
        },
    )
    await session.flush()
    return len(ids)


Problems = list[tuple[str, dict[str, object]]]


def _clean(
    columns: dict[str, int], cells: Sequence[str], *, region: str | None, grades: frozenset[str]
) -> tuple[dict[str, Any], Problems]:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    problems: Problems = []
    row: dict[str, Any] = {
        "id": int(cell("id")) if cell("id").isdigit() else None,
        "name": _plain(cell("name")),
        "company": _company_path(cell("company")),
        "region": _plain(cell("region")) or None,
        "tags": [t for t in (_plain(t) for t in _split_tags(cell("tags"))) if t],
    }
    if not row["name"]:
        problems.append((N_("the name is missing"), {}))
    for key, limit in (("name", MAX_NAME), ("region", MAX_REGION)):
        if row[key] and len(row[key]) > limit:
            problems.append(
                (N_("{column} is longer than {max} characters"), {"column": key, "max": limit})
            )
    if row["company"] and any(len(name) > MAX_COMPANY for name in row["company"]):
        problems.append(
            (
                N_("{column} is longer than {max} characters"),
                {"column": "company", "max": MAX_COMPANY},
            )
        )
    if row["company"] and len(row["company"]) > MAX_LEVELS:
        problems.append(
            (
                N_("the company “{value}” is more than {max} levels deep"),
                {"value": cell("company")[:60], "max": MAX_LEVELS},
            )
        )
    row["tags"] = [t[:MAX_TAG] for t in row["tags"]]
    row["phone"] = None
    if phone := cell("phone"):
        try:
            row["phone"] = normalize_phone(phone, region=region)
        except InvalidInput:
            problems.append((N_("“{value}” isn't a valid phone number"), {"value": phone[:30]}))
    row["stage"] = _choice(cell("stage"), "stage", STAGES, problems) or "new"
    kind = _choice(cell("kind"), "kind", tuple(CustomerKind), problems)
    row["kind"] = CustomerKind(kind) if kind else CustomerKind.LEAD
    row["ownership"] = _choice(cell("ownership"), "ownership", OWNERSHIPS, problems)
    row["business_type"] = _choice(
        cell("business_type"), "business_type", BUSINESS_TYPES, problems
    )
    row["location_type"] = _choice(
        cell("location_type"), "location_type", LOCATION_TYPES, problems
    )
    grade = cell("grade").upper()
    if grade and grade not in grades:
        problems.append(
            (
                N_("grade “{value}” isn't one of {choices}"),
                {"value": grade[:10], "choices": ", ".join(sorted(grades))},
            )
        )
    row["grade"] = grade or None
    row["score"] = _number(cell("score"), "score", -100_000, 100_000, problems) or 0
    row["route_order"] = _number(cell("route_order"), "route_order", 0, 1_000_000, problems)
    return row, problems


def _plain(text: str) -> str:
    """Return text without control characters and with single spaces."""
    cleaned = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(cleaned.split())


def _company_path(text: str) -> tuple[str, ...] | None:
    """Return the names of a company path (``Wang Tea / Shanghai``), top first; None if empty."""
    names = tuple(name for name in (_plain(part) for part in text.split(SEPARATOR)) if name)
    return names or None


def _split_tags(text: str) -> list[str]:
    for separator in TAG_SEPARATORS[1:]:
        text = text.replace(separator, TAG_SEPARATORS[0])
    return text.split(TAG_SEPARATORS[0])


def _choice(value: str, column: str, choices: Iterable[str], problems: Problems) -> str | None:
    if not value:
        return None
    key = "_".join(value.lower().replace("-", " ").split())
    allowed = tuple(choices)
    if key in allowed:
        return key
    problems.append(
        (
            N_("{column} “{value}” isn't one of {choices}"),
            {"column": column, "value": value[:30], "choices": ", ".join(allowed)},
        )
    )
    return None


def _number(value: str, column: str, low: int, high: int, problems: Problems) -> int | None:
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        problems.append(
            (
                N_("{column} “{value}” should be a whole number from {low} to {high}"),
                {"column": column, "value": value[:20], "low": low, "high": high},
            )
        )
        return None
    return number


async def _existing_phones(session: AsyncSession, ws: int, phones: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(phones)):
        result = await session.scalars(
            select(Customer.phone).where(Customer.workspace_id == ws, Customer.phone.in_(chunk))
        )
        found.update(p for p in result if p)
    return found


async def _existing_ids(
    session: AsyncSession, ws: int, pairs: list[tuple[int, str]]
) -> set[tuple[int, str]]:
    found: set[tuple[int, str]] = set()
    for chunk in _chunks(pairs):
        result = await session.execute(
            select(Customer.id, Customer.name).where(
                Customer.workspace_id == ws, tuple_(Customer.id, Customer.name).in_(chunk)
            )
        )
        found.update((row.id, row.name) for row in result)
    return found


async def _tag_ids(session: AsyncSession, ws: int, names: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(names)):
        result = await session.execute(
            select(Tag.name, Tag.id).where(Tag.workspace_id == ws, Tag.name.in_(chunk))
        )
        found.update((row.name, row.id) for row in result)
    return found


async def _company_ids(
    session: AsyncSession, ws: int, paths: set[tuple[str, ...]]
) -> dict[tuple[str, ...], int]:
    """Return the id of each company path, level by level, creating the missing companies."""
    found: dict[tuple[str, ...], int] = {}
    for depth in range(1, MAX_LEVELS + 1):
        wanted = {path[:depth] for path in paths if len(path) >= depth}
        keys = sorted((found[p[:-1]] if depth > 1 else None, p[-1]) for p in wanted)
        known: dict[tuple[int | None, str], int] = {}
        for chunk in _chunks(keys):
            names = {name for _, name in chunk}
            parents = {parent for parent, _ in chunk}
            query = select(Company.parent_id, Company.name, Company.id).where(
                Company.workspace_id == ws, Company.name.in_(names)
            )
            if depth == 1:
                query = query.where(Company.parent_id.is_(None))
            else:
                query = query.where(Company.parent_id.in_(parents))
            for row in await session.execute(query.order_by(Company.id)):
                known.setdefault((row.parent_id, row.name), row.id)
        missing = {
            key: Company(workspace_id=ws, name=key[1], parent_id=key[0], level=depth)
            for key in keys
            if key not in known
        }
        if missing:
            session.add_all(missing.values())
            await session.flush()
            known.update((key, company.id) for key, company in missing.items())
        for path in wanted:
            found[path] = known[(found[path[:-1]] if depth > 1 else None, path[-1])]
    return found


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
