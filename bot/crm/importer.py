"""Customer import: read a CSV or XLSX file, check every row, then insert all rows or none.

The file has the export's columns (English or Chinese headers); ``name`` is
required. Checking never writes: it returns an ``ImportPlan`` with row-by-row
errors and the rows skipped as duplicates (same phone in the file or in the
shop, or an exported row whose id and name are already in the shop).
``import_rows`` inserts a plan without errors in the caller's transaction.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit
from bot.crm.classification import CHOICES
from bot.crm.export import COLUMNS, FORMULA_STARTS
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
from bot.errors import InvalidInput
from bot.i18n import N_

MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024
MAX_COLUMNS = 60
MAX_UNPACKED = 50 * 1024 * 1024
UNREADABLE = N_("I can't read that file. Please send a CSV (UTF-8) or XLSX file.")
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
ALIASES = {
    "编号": "id",
    "姓名": "name",
    "名字": "name",
    "客户": "name",
    "电话": "phone",
    "手机": "phone",
    "手机号": "phone",
    "电话号码": "phone",
    "mobile": "phone",
    "tel": "phone",
    "公司": "company",
    "阶段": "stage",
    "客户类型": "kind",
    "等级": "grade",
    "级别": "grade",
    "分数": "score",
    "评分": "score",
    "标签": "tags",
    "tag": "tags",
    "区域": "region",
    "地区": "region",
    "路序": "route_order",
    "所有制": "ownership",
    "业态": "business_type",
    "经营类型": "business_type",
    "位置类型": "location_type",
    "商圈": "location_type",
    "负责人": "owner",
    "同意": "consent",
    "创建日期": "created",
    "最近联系": "last_contact",
}
TAG_SEPARATORS = (",", "，", ";", "；", "、")


@dataclass(frozen=True, slots=True)
class Table:
    """The cells of an uploaded file: known columns by index and the data rows by line."""

    format: str
    columns: dict[str, int]
    unknown: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]


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


def read_table(content: bytes, filename: str) -> Table:
    """Return the header and rows of a CSV or XLSX file.

    Raises:
        InvalidInput: when the file is too big, unreadable, has no name column or
            more than ``MAX_ROWS`` rows.
    """
    if len(content) > MAX_BYTES:
        raise InvalidInput(N_("That file is too big; please send at most 2 MB."))
    is_xlsx = filename.lower().endswith(".xlsx") or content[:2] == b"PK"
    lines = _xlsx_lines(content) if is_xlsx else _csv_lines(content)
    header = next(lines, None)
    if header is None:
        raise InvalidInput(N_("That file is empty. Please send a CSV or XLSX file."))
    columns: dict[str, int] = {}
    unknown: list[str] = []
    for index, title in enumerate(header):
        name = _column(title)
        if name in COLUMNS and name not in columns:
            columns[name] = index
        elif title.strip():
            unknown.append(title.strip()[:40])
    if "name" not in columns:
        raise InvalidInput(
            N_("I can't find a “name” column in the first row. Columns I know: {columns}."),
            columns=", ".join(COLUMNS),
        )
    rows: list[tuple[int, tuple[str, ...]]] = []
    for line, cells in enumerate(lines, start=2):
        if not any(cells):
            continue
        if len(rows) == MAX_ROWS:
            raise InvalidInput(
                N_("That file has more than {max} rows; please split it into smaller files."),
                max=MAX_ROWS,
            )
        rows.append((line, cells))
    return Table("xlsx" if is_xlsx else "csv", columns, tuple(unknown), tuple(rows))


async def check_rows(session: AsyncSession, *, actor: Member, table: Table) -> ImportPlan:
    """Check every row of ``table`` and return the plan; nothing is written.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    workspace = await session.get(Workspace, actor.workspace_id)
    region = workspace.region if workspace else None
    grades = {*(workspace.grade_thresholds if workspace else {}), "C"}
    plan = ImportPlan(total=len(table.rows))
    cleaned: list[tuple[int, dict[str, Any]]] = []
    for line, cells in table.rows:
        row, problems = _clean(table.columns, cells, region=region, grades=grades)
        plan.errors.extend(RowError(line, key, params) for key, params in problems)
        if not problems:
            cleaned.append((line, row))
    phones = {row["phone"] for _, row in cleaned if row["phone"]}
    taken = await _existing_phones(session, actor.workspace_id, phones)
    exported = await _existing_ids(
        session, actor.workspace_id, [(r["id"], r["name"]) for _, r in cleaned if r["id"]]
    )
    tag_names = {tag for _, row in cleaned for tag in row["tags"]}
    known_tags = await _tag_ids(session, actor.workspace_id, tag_names)
    plan.unknown_tags = sorted(tag_names - known_tags.keys())
    seen: set[str] = set()
    for _, row in cleaned:
        if row["phone"] in taken or (row["id"], row["name"]) in exported:
            plan.duplicates_in_shop += 1
        elif row["phone"] and row["phone"] in seen:
            plan.duplicates_in_file += 1
        else:
            seen.add(row["phone"])
            row["tags"] = [t for t in row["tags"] if t in known_tags]
            plan.rows.append(row)
    return plan


async def import_rows(session: AsyncSession, *, actor: Member, plan: ImportPlan, fmt: str) -> int:
    """Insert the plan's rows as customers owned by the actor; return how many.

    Companies are found by name among top-level companies or created. The caller's
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
    created: list[tuple[Customer, list[str]]] = []
    for row in plan.rows:
        customer = Customer(
            workspace_id=ws,
            owner_member_id=actor.id,
            company_id=companies.get(row["company"]) if row["company"] else None,
            source="import",
            **{k: v for k, v in row.items() if k not in ("id", "company", "tags")},
        )
        created.append((customer, row["tags"]))
    session.add_all([customer for customer, _ in created])
    await session.flush()
    session.add_all(
        CustomerTag(workspace_id=ws, customer_id=customer.id, tag_id=tags[name])
        for customer, names in created
        for name in names
    )
    await audit.record(
        session,
        workspace_id=ws,
        actor_member_id=actor.id,
        action="customer.import",
        entity="customer",
        entity_id=None,
        details={
            "format": fmt,
            "rows": len(created),
            "duplicates": plan.duplicates_in_file + plan.duplicates_in_shop,
        },
    )
    await session.flush()
    return len(created)


def _column(title: str) -> str:
    text = title.strip().lstrip("\ufeff").strip().lower()
    text = ALIASES.get(text, text)
    return "_".join(text.replace("-", " ").split())


def _csv_lines(content: bytes) -> Iterator[tuple[str, ...]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # Excel on a Chinese system saves CSV in GB18030 (GBK)
            text = content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise InvalidInput(UNREADABLE) from exc
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            yield tuple(_unquote(c.strip()) for c in cells[:MAX_COLUMNS])
    except csv.Error as exc:
        raise InvalidInput(UNREADABLE) from exc


def _xlsx_lines(content: bytes) -> Iterator[tuple[str, ...]]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED:  # a "zip bomb" would fill the memory
            raise InvalidInput(N_("That file is too big; please send at most 2 MB."))
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(UNREADABLE) from exc
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            cells = [_text(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            yield tuple(cells)
    finally:
        book.close()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value).strip()


def _unquote(value: str) -> str:
    """Undo the quote the export puts before text a spreadsheet would run as a formula."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


Problems = list[tuple[str, dict[str, object]]]


def _clean(
    columns: dict[str, int], cells: Sequence[str], *, region: str | None, grades: set[str]
) -> tuple[dict[str, Any], Problems]:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    problems: Problems = []
    row: dict[str, Any] = {
        "id": int(cell("id")) if cell("id").isdigit() else None,
        "name": _plain(cell("name")),
        "company": _plain(cell("company")) or None,
        "region": _plain(cell("region")) or None,
        "tags": [t for t in (_plain(t) for t in _split_tags(cell("tags"))) if t],
    }
    if not row["name"]:
        problems.append((N_("the name is missing"), {}))
    for key, limit in (("name", MAX_NAME), ("company", MAX_COMPANY), ("region", MAX_REGION)):
        if row[key] and len(row[key]) > limit:
            problems.append(
                (N_("{column} is longer than {max} characters"), {"column": key, "max": limit})
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


async def _company_ids(session: AsyncSession, ws: int, names: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(names)):
        result = await session.execute(
            select(Company.name, Company.id)
            .where(
                Company.workspace_id == ws, Company.parent_id.is_(None), Company.name.in_(chunk)
            )
            .order_by(Company.id)
        )
        for row in result:
            found.setdefault(row.name, row.id)
    missing = [
        Company(workspace_id=ws, name=name, level=1) for name in sorted(names - found.keys())
    ]
    if missing:
        session.add_all(missing)
        await session.flush()
        found.update((company.name, company.id) for company in missing)
    return found


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
