"""Customer export: the rows a member may see, streamed into a CSV or XLSX file.

The file speaks the requester's language: ``Words`` (built by the views, which own
the labels) name the columns and the values of every enumerated column; without
it, columns and values are the stored keys.

Rows are read here in batches and sent, batch by batch, to a worker process that
writes the file (``bot.crm.offload``): openpyxl spends seconds of pure-Python CPU
on a 100,000-row workbook, which on the event loop would stall every shop.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.crm import audit, offload, workspaces
from bot.crm.companies import SEPARATOR
from bot.crm.export_filter import ExportFilter
from bot.crm.guards import require_role
from bot.crm.models import (
    Company,
    Customer,
    CustomerTag,
    Member,
    Role,
    Tag,
    WorkspaceKind,
)
from bot.crm.scope import visible_customers
from bot.crm.search import SEGMENT_NAMES
from bot.localtime import local_day, show_day, zone

BATCH = 1000
WRITE_SECONDS = 300.0
HEAD = ("id", "name", "phone", "company", "stage", "kind", "grade", "score", "tags")
# The shop's own fields (``bot.crm.fields``) sit between the head and the tail.
KIND_COLUMNS = {
    WorkspaceKind.RETAIL: ("gender", "age_band", "preferences", "birthday", "notes"),
    WorkspaceKind.TRADE: (
        ("region", "route_order", "ownership", "business_type", "location_type")
        + ("birthday", "notes")
    ),
}
TAIL = ("owner", "consent", "created", "last_contact", "value_tier", "segment", "clv")
# Every column an export of either kind writes: what an import reads.
COLUMNS = (
    tuple(
        dict.fromkeys(
            HEAD + KIND_COLUMNS[WorkspaceKind.TRADE] + KIND_COLUMNS[WorkspaceKind.RETAIL]
        )
    )
    + TAIL
)
# A spreadsheet runs a cell starting with these as a formula; text is quoted instead.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Format(StrEnum):
    """The spreadsheet formats an export can be written in."""

    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class Words:
    """A spreadsheet's words in one language: column headers and enumerated values.

    ``headers`` maps a column to its header; ``values`` maps a column to its stored
    keys and the names they are shown as. A column or key missing is written as stored.
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def header(self, column: str) -> str:
        """Return a column's header."""
        return self.headers.get(column, column)

    def value(self, column: str, key: str | None) -> str | None:
        """Return how a stored key of an enumerated column is written."""
        if key is None:
            return None
        return self.values.get(column, {}).get(key, key)


# The stored keys, as files were written before they spoke a language.
RAW = Words(values={"segment": SEGMENT_NAMES})


@dataclass(frozen=True, slots=True)
class ExportFile:
    """A finished export: its file name, bytes and how many customers it holds."""

    filename: str
    content: bytes
    rows: int


async def export_customers(
    session: AsyncSession,
    *,
    actor: Member,
    fmt: Format,
    filters: ExportFilter,
    now: datetime,
    words: Words = RAW,
) -> ExportFile:
    """Write the customers the actor may see (and the filter keeps) into a file.

    ``words`` names the columns and enumerated values in the requester's language.

    Staff get the customers they own plus those shared with them; owners and
    admins their whole workspace (a team admin: the team's and the pool). Rows
    are read in batches of ``BATCH``, never all at once. The export is audited.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    workspace = await workspaces.of_member(session, actor)
    tz = zone(workspace.timezone)
    columns = columns_for(workspace.kind)
    count = 0

    async def batches() -> AsyncIterator[list[tuple[object, ...]]]:
        nonlocal count
        result = await session.stream(_query(actor, filters).execution_options(yield_per=BATCH))
        async for batch in result.partitions():
            tags = await _tags_of(session, actor.workspace_id, [row.id for row in batch])
            yield [_cells(row, tags.get(row.id, ()), tz, columns, words) for row in batch]
            count += len(batch)

    content = await offload.run_in_process(
        write_file,
        fmt,
        [words.header(column) for column in columns],
        feed=batches(),
        deadline=WRITE_SECONDS,
    )
    await audit.record(
        session,
        workspace_id=actor.workspace_id,
        actor_member_id=actor.id,
        action="customer.export",
        entity="customer",
        entity_id=None,
        details={"format": fmt.value, "filter": filters.describe(), "rows": count},
    )
    return ExportFile(f"customers-{show_day(now, tz)}.{fmt.value}", content, count)


def columns_for(kind: WorkspaceKind) -> tuple[str, ...]:
    """Return the columns an export of a shop of this kind has, in order."""
    return HEAD + KIND_COLUMNS[kind] + TAIL


def write_file(
    batches: Iterator[Sequence[Sequence[object]]], fmt: Format, header: Sequence[str]
) -> bytes:
    """Write the header and the batches of rows into a file; the worker process's entry point."""
    writer = _XlsxWriter() if fmt is Format.XLSX else _CsvWriter()
    writer.write(header)
    for batch in batches:
        for cells in batch:
            writer.write(cells)
    return writer.finish()


def _query(actor: Member, filters: ExportFilter) -> Select[*tuple[Any, ...]]:
    owner = aliased(Member, name="owner")
    parent = aliased(Company, name="parent")
    grandparent = aliased(Company, name="grandparent")
    query = (
        visible_customers(actor)
        .with_only_columns(
            Customer.id,
            Customer.name,
            Customer.phone,
            grandparent.name.label("company_top"),
            parent.name.label("company_parent"),
            Company.name.label("company"),
            Customer.stage,
            Customer.kind,
            Customer.grade,
            Customer.score,
            Customer.region,
            Customer.route_order,
            Customer.ownership,
            Customer.business_type,
            Customer.location_type,
            Customer.gender,
            Customer.age_band,
            Customer.preferences,
            Customer.birthday_date,
            Customer.notes,
            owner.display_name.label("owner"),
            Customer.consent,
            Customer.created_at,
            Customer.last_contact_at,
            Customer.value_tier,
            Customer.rfm_segment,
            Customer.clv_minor,
            maintain_column_froms=False,
        )
        .select_from(Customer)
        .outerjoin(Company, Customer.company_id == Company.id)
        .outerjoin(parent, Company.parent_id == parent.id)
        .outerjoin(grandparent, parent.parent_id == grandparent.id)
        .outerjoin(owner, Customer.owner_member_id == owner.id)
        .order_by(Customer.id)
    )
    if filters.stage is not None:
        query = query.where(Customer.stage == filters.stage)
    if filters.grade is not None:
        query = query.where(Customer.grade == filters.grade)
    if filters.region is not None:
        query = query.where(Customer.region == filters.region)
    if filters.owner is not None:
        query = query.where(
            Customer.owner_member_id.is_(None)
            if filters.owner == 0
            else Customer.owner_member_id == filters.owner
        )
    if filters.tier is not None:
        query = query.where(Customer.value_tier == filters.tier)
    if filters.segment is not None:
        query = query.where(Customer.rfm_segment == filters.segment)
    if filters.tag is not None:
        tagged = (
            select(CustomerTag.customer_id)
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(Tag.workspace_id == actor.workspace_id, Tag.name == filters.tag)
        )
        query = query.where(Customer.id.in_(tagged))
    return query


async def _tags_of(
    session: AsyncSession, workspace_id: int, customer_ids: Sequence[int]
) -> dict[int, list[str]]:
    if not customer_ids:
        return {}
    result = await session.execute(
        select(CustomerTag.customer_id, Tag.name)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(
            CustomerTag.workspace_id == workspace_id,
            CustomerTag.customer_id.in_(customer_ids),
        )
        .order_by(CustomerTag.customer_id, Tag.name)
    )
    tags: dict[int, list[str]] = {}
    for customer_id, name in result:
        tags.setdefault(customer_id, []).append(name)
    return tags


def _cells(
    row: Any, tags: Iterable[str], tz: ZoneInfo, columns: Sequence[str], words: Words
) -> tuple[object, ...]:
    said = words.value
    values: dict[str, object] = {
        "id": row.id,
        "name": row.name,
        "phone": row.phone,
        "company": company_path(row.company_top, row.company_parent, row.company),
        "stage": said("stage", row.stage),
        "kind": said("kind", str(row.kind)),
        "grade": row.grade,
        "score": row.score,
        "tags": ", ".join(tags),
        "region": row.region,
        "route_order": row.route_order,
        "ownership": said("ownership", row.ownership),
        "business_type": said("business_type", row.business_type),
        "location_type": said("location_type", row.location_type),
        "gender": said("gender", row.gender),
        "age_band": said("age_band", row.age_band),
        "preferences": ", ".join(str(said("preferences", k)) for k in row.preferences or ())
        or None,
        "birthday": row.birthday_date,
        "notes": row.notes,
        "owner": row.owner,
        "consent": said("consent", str(row.consent)),
        "created": _local_date(row.created_at, tz),
        "last_contact": _local_date(row.last_contact_at, tz),
        "value_tier": said("value_tier", _key(row.value_tier)),
        "segment": said("segment", _key(row.rfm_segment)),
        "clv": _major(row.clv_minor),
    }
    return tuple(values[column] for column in columns)


def _key(value: StrEnum | None) -> str | None:
    return str(value) if value is not None else None


def company_path(*names: str | None) -> str | None:
    """Return a company's names from the top down as one path, like ``Wang Tea / Shanghai``."""
    found = [name for name in names if name]
    return f" {SEPARATOR} ".join(found) if found else None


def _major(minor: int | None) -> Decimal | None:
    """Return minor units as a number in major units, as amounts are typed (12850 -> 128.50)."""
    if minor is None:
        return None
    return Decimal(minor).scaleb(-2).quantize(Decimal("0.01"))


def csv_text(value: str) -> str:
    """Return text that a spreadsheet opening the CSV shows as text, never runs as a formula.

    A phone number in E.164 (``+86...``) is left alone; the importer strips the quote.
    """
    if value.startswith(FORMULA_STARTS) and not (value[0] == "+" and value[1:].isdigit()):
        return "'" + value
    return value


def _local_date(value: datetime | None, tz: ZoneInfo) -> date | None:
    return local_day(value, tz) if value is not None else None


class _Writer(Protocol):
    def write(self, cells: Sequence[object]) -> None: ...

    def finish(self) -> bytes: ...


class _CsvWriter:
    """CSV with a UTF-8 byte order mark, so Excel reads Chinese names correctly."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._text = io.TextIOWrapper(self._buffer, encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._text)

    def write(self, cells: Sequence[object]) -> None:
        self._csv.writerow(
            ["" if c is None else csv_text(c) if isinstance(c, str) else c for c in cells]
        )

    def finish(self) -> bytes:
        self._text.flush()
        return self._buffer.getvalue()


class _XlsxWriter:
    """XLSX in openpyxl's write-only mode, which streams rows instead of keeping cells."""

    def __init__(self) -> None:
        # Imported here, in the worker that writes the file: the bot's own process
        # imports this module for its names and never needs openpyxl.
        from openpyxl import Workbook  # type: ignore[import-untyped]

        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet("customers")

    def write(self, cells: Sequence[object]) -> None:
        self._sheet.append([self._cell(c) for c in cells])

    def _cell(self, value: object) -> object:
        if not isinstance(value, str) or not value.startswith("="):
            return value
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

        cell = WriteOnlyCell(self._sheet, value=value)
        cell.data_type = "s"  # openpyxl would store "=..." as a formula otherwise
        return cell

    def finish(self) -> bytes:
        buffer = io.BytesIO()
        self._book.save(buffer)
        return buffer.getvalue()
