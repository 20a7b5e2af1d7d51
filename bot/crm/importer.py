"""Customer import: check every row of an uploaded file, then insert all rows or none.

The file has the export's columns, with headers and values in any language the
exports write (``Words``, one per language, given by the caller) or as stored
keys (read by ``bot.crm.spreadsheet``); ``name`` is required. ``check_file`` reads the file and
cleans its rows in a worker process (``bot.crm.offload``), because parsing a
spreadsheet and checking thousands of phone numbers is CPU work that would stall
every other shop's replies; only the duplicate lookups run here. Checking never
writes: it returns an ``ImportPlan`` with row-by-row errors and the rows skipped
as duplicates (same phone in the file or in the shop, or an exported row whose
id and name are already in the shop). ``import_rows`` inserts a plan without
errors in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, fields, offload, spreadsheet
from bot.crm.companies import MAX_LEVELS
from bot.crm.export import Words
from bot.crm.guards import require_role
from bot.crm.import_rows import CleanRows, RowError, Rules, clean_table
from bot.crm.leads import DEFAULT_LABELS, STAGES
from bot.crm.models import (
    Company,
    Customer,
    CustomerKind,
    CustomerTag,
    Member,
    Role,
    Tag,
    Workspace,
    utcnow,
)
from bot.crm.spreadsheet import Table
from bot.errors import InvalidInput
from bot.i18n import LOCALES, N_, translate

PARSE_SECONDS = 60.0
CHUNK = 500
NOT_IMPORTED = ("id", "owner", "consent", "created", "last_contact")
__all__ = ["CleanRows", "ImportPlan", "RowError", "check_file", "check_rows", "import_rows"]


@dataclass(slots=True)
class ImportPlan:
    """What importing a table would do: new rows, errors, duplicates and unknown tags."""

    total: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicates_in_file: int = 0
    duplicates_in_shop: int = 0
    unknown_tags: list[str] = field(default_factory=list)


def read_and_clean(content: bytes, filename: str, rules: Rules) -> CleanRows:
    """Read an uploaded file and check its rows; the worker process's entry point.

    Raises:
        InvalidInput: when the file is over a limit or unreadable (see ``bot.crm.spreadsheet``).
    """
    table = spreadsheet.read_table(content, filename, rules.headers)
    return clean_table(table, rules)


async def check_file(
    session: AsyncSession,
    *,
    actor: Member,
    content: bytes,
    filename: str,
    words: Sequence[Words] = (),
) -> tuple[CleanRows, ImportPlan]:
    """Read and check an uploaded file off the event loop; return its rows and the plan.

    ``words`` are the exports' words in each language, the reader's first (its names
    are the ones a row's error lists).

    Raises:
        PermissionDenied: when the actor is not an active member.
        InvalidInput: when the file is over a limit, unreadable, or takes too long.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    rules = await _rules(session, actor.workspace_id, words)
    clean = await offload.run_in_process(
        read_and_clean, content, filename, rules, deadline=PARSE_SECONDS
    )
    return clean, await _plan(session, actor.workspace_id, clean)


async def check_rows(
    session: AsyncSession, *, actor: Member, table: Table, words: Sequence[Words] = ()
) -> ImportPlan:
    """Check every row of an already read ``table`` and return the plan; nothing is written.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    clean = clean_table(table, await _rules(session, actor.workspace_id, words))
    return await _plan(session, actor.workspace_id, clean)


async def _rules(session: AsyncSession, ws: int, words: Sequence[Words]) -> Rules:
    """Return what the shop's rows are checked against, spellings in every language."""
    workspace = await session.get(Workspace, ws)
    choices: dict[str, dict[str, str]] = {
        "stage": {fields.fold(key): key for key in STAGES},
        "kind": {fields.fold(key): key for key in CustomerKind},
    }
    for key, label in DEFAULT_LABELS.items():
        for locale in LOCALES:
            choices["stage"].setdefault(fields.fold(translate(locale, label)), key)
    for said in words:
        for column, shown in said.values.items():
            for key, name in shown.items():
                choices.setdefault(column, {}).setdefault(fields.fold(name), key)
    for option in await fields.options(session, workspace_id=ws):
        builtin = fields.builtin_label(option)
        names = [option.key, option.label or ""]
        names += [translate(locale, builtin) for locale in LOCALES] if builtin else []
        spelled = choices.setdefault(option.field, {})
        for name in names:
            if name:
                spelled.setdefault(fields.fold(name), option.key)
    return Rules(
        region=workspace.region if workspace else None,
        grades=frozenset({*(workspace.grade_thresholds if workspace else {}), "C"}),
        today=utcnow().date(),
        choices=choices,
        shown={column: ", ".join(names.values()) for column, names in words[0].values.items()}
        if words
        else {},
        headers={
            " ".join(header.lower().split()): column
            for said in reversed(words)
            for column, header in said.headers.items()
        },
        names=words[0].headers if words else {},
    )


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
    ids = await _insert_customers(session, values)
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


async def _insert_customers(session: AsyncSession, values: list[dict[str, Any]]) -> list[int]:
    """Insert the rows with one multi-row INSERT … RETURNING per chunk; return ids in row order.

    The whole import is one transaction, so it holds SQLite's write lock from the first
    chunk to the commit: every other shop's update waits that long.
    """
    # On SQLite, SQLAlchemy keeps RETURNING in parameter order only by sending the rows
    # one statement each (5,000 rows: 0.8 s under the write lock instead of 0.1 s). One
    # statement there inserts its rows in VALUES order, each taking the largest rowid + 1
    # while this transaction holds the write lock, so ascending ids are the rows' order.
    sqlite = session.get_bind().dialect.name == "sqlite"
    statement = insert(Customer).returning(Customer.id, sort_by_parameter_order=not sqlite)
    ids: list[int] = []
    for chunk in _chunks(values):
        inserted = list(await session.scalars(statement, chunk))
        ids.extend(sorted(inserted) if sqlite else inserted)
    return ids


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
        missing = [
            {"workspace_id": ws, "name": name, "parent_id": parent, "level": depth}
            for parent, name in keys
            if (parent, name) not in known
        ]
        # A bulk INSERT … RETURNING names each new row by its (parent, name), which is
        # unique among the missing ones, so no row order is needed (unlike the ORM's flush,
        # one statement per company on SQLite).
        statement = insert(Company).returning(Company.parent_id, Company.name, Company.id)
        for chunk in _chunks(missing):
            for row in await session.execute(statement, chunk):
                known[(row.parent_id, row.name)] = row.id
        for path in wanted:
            found[path] = known[(found[path[:-1]] if depth > 1 else None, path[-1])]
    return found


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
