"""Uploaded spreadsheets: the cells of a CSV (any common encoding) or XLSX file, within limits.

Every limit is checked before the work it protects: the upload's size first, then
an XLSX archive's table of contents (total unpacked size and each member's
compression ratio, so a zip bomb is refused before a byte is inflated), then the
columns, rows and cell lengths while reading. A CSV may be comma-, semicolon- or
tab-separated and in UTF-8 (with or without a BOM), UTF-16 (Excel's "Unicode
text"), GB18030/GBK or Big5; ``charset-normalizer`` tells them apart.

Reading is CPU-bound and synchronous; the importer runs it in a worker process.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from charset_normalizer import from_bytes

from bot.crm.export import COLUMNS, FORMULA_STARTS
from bot.errors import InvalidInput
from bot.i18n import N_

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 60
MAX_CELL = 1000
# Unpacked, a real 2 MB workbook of 5,000 rows is well under this.
MAX_UNPACKED = 30 * 1024 * 1024
# Apache POI's default: refuse an archive member that inflates more than 100 times.
MAX_RATIO = 100
# Tiny members (styles, content types) may compress better than that harmlessly.
RATIO_FROM = 1024 * 1024
# The encodings spreadsheets from Chinese-speaking offices come in.
ENCODINGS = ("utf_8", "utf_16", "utf_32", "gb18030", "big5")
DELIMITERS = (",", ";", "\t")
UNREADABLE = N_(
    "I can't read that file. Please send a CSV (UTF-8, UTF-16, GBK or Big5) or XLSX file."
)
TOO_BIG = N_("That file is too big; please send at most 2 MB.")
UNPACKS_TOO_BIG = N_(
    "That workbook unpacks to more than {max} MB, which is more than a customer list needs. "
    "Please save it again with only the customer sheet, or send a CSV."
)
TOO_MANY_COLUMNS = N_("That file has more than {max} columns; please keep only the customer ones.")
TOO_MANY_ROWS = N_("That file has more than {max} rows; please split it into smaller files.")
CELL_TOO_LONG = N_(
    "Row {line} has a cell longer than {max} characters; "
    "please shorten it and send the file again."
)
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
    "性别": "gender",
    "年龄段": "age_band",
    "偏好": "preferences",
    "喜好": "preferences",
    "生日": "birthday",
    "备注": "notes",
    "负责人": "owner",
    "同意": "consent",
    "创建日期": "created",
    "最近联系": "last_contact",
    # Traditional characters, as in Big5 files from Taiwan and Hong Kong.
    "編號": "id",
    "客戶": "name",
    "電話": "phone",
    "手機": "phone",
    "手機號": "phone",
    "電話號碼": "phone",
    "階段": "stage",
    "客戶類型": "kind",
    "等級": "grade",
    "級別": "grade",
    "評分": "score",
    "標籤": "tags",
    "區域": "region",
    "地區": "region",
    "業態": "business_type",
    "經營類型": "business_type",
    "位置類型": "location_type",
    "負責人": "owner",
    "創建日期": "created",
    "最近聯繫": "last_contact",
}


@dataclass(frozen=True, slots=True)
class Table:
    """The cells of an uploaded file: known columns by index and the data rows by line."""

    format: str
    columns: dict[str, int]
    unknown: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]


def read_table(content: bytes, filename: str, headers: Mapping[str, str] | None = None) -> Table:
    """Return the header and rows of a CSV or XLSX file.

    ``headers`` maps more header titles (lower case) to columns: the exports' own
    headers in every language.

    Raises:
        InvalidInput: when the file is over a limit, unreadable, or has no name column.
    """
    if len(content) > MAX_BYTES:
        raise InvalidInput(TOO_BIG)
    is_xlsx = filename.lower().endswith(".xlsx") or content[:2] == b"PK"
    lines = _xlsx_lines(content) if is_xlsx else _csv_lines(content)
    header = next(lines, None)
    if header is None:
        raise InvalidInput(N_("That file is empty. Please send a CSV or XLSX file."))
    if len(header) > MAX_COLUMNS:
        raise InvalidInput(TOO_MANY_COLUMNS, max=MAX_COLUMNS)
    columns: dict[str, int] = {}
    unknown: list[str] = []
    for index, title in enumerate(header):
        name = column_name(title, headers)
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
            raise InvalidInput(TOO_MANY_ROWS, max=MAX_ROWS)
        if any(len(cell) > MAX_CELL for cell in cells):
            raise InvalidInput(CELL_TOO_LONG, line=line, max=MAX_CELL)
        rows.append((line, cells))
    return Table("xlsx" if is_xlsx else "csv", columns, tuple(unknown), tuple(rows))


def column_name(title: str, headers: Mapping[str, str] | None = None) -> str:
    """Return the export column a header title names (English or Chinese, any case)."""
    text = title.strip().lstrip("\ufeff").strip().lower()
    text = (headers or {}).get(" ".join(text.split()), ALIASES.get(text, text))
    return "_".join(text.replace("-", " ").split())


def check_archive(content: bytes) -> None:
    """Refuse an XLSX archive that would unpack too big, from its table of contents alone.

    Raises:
        InvalidInput: when the file is not a zip archive, or unpacks to more than
            ``MAX_UNPACKED`` bytes, or a member inflates more than ``MAX_RATIO`` times.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidInput(UNREADABLE) from exc
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if total > MAX_UNPACKED or (member.file_size > RATIO_FROM and ratio > MAX_RATIO):
            raise InvalidInput(UNPACKS_TOO_BIG, max=MAX_UNPACKED // (1024 * 1024))


def decode(content: bytes) -> str:
    """Return the text of a CSV file in one of ``ENCODINGS``.

    Raises:
        InvalidInput: when no encoding reads the bytes as text.
    """
    try:  # the export's own files and most others: exact, no guessing needed
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(content, cp_isolation=list(ENCODINGS)).best()
    if best is None or "\x00" in (text := str(best)):
        raise InvalidInput(UNREADABLE)
    return text.lstrip("\ufeff")


def _csv_lines(content: bytes) -> Iterator[tuple[str, ...]]:
    text = decode(content)
    first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first.count)
    try:
        for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            yield tuple(_unquote(c.strip()) for c in cells[: MAX_COLUMNS + 1])
    except csv.Error as exc:
        raise InvalidInput(UNREADABLE) from exc


def _xlsx_lines(content: bytes) -> Iterator[tuple[str, ...]]:
    check_archive(content)
    # Imported here, in the worker that reads the file, never by the bot's own process.
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(UNREADABLE) from exc
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True):
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
