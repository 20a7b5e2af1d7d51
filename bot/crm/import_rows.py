"""Import rows: checking each row of an uploaded file on its own, before the database.

Runs in the importer's worker process, so everything a row is checked against comes
in a picklable ``Rules`` value: the shop's phone region, grades, today's date, and
for each column of choices (stage, kind, the shop's option fields) the spellings it
accepts, as stored keys, the shop's labels and built-in names in either language.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.crm.birthdays import parse_birthday
from bot.crm.companies import MAX_LEVELS, SEPARATOR
from bot.crm.fields import FIELDS, fold
from bot.crm.models import CustomerKind
from bot.crm.phones import normalize_phone
from bot.crm.spreadsheet import Table
from bot.errors import InvalidInput
from bot.i18n import N_

MAX_NAME = 200
MAX_COMPANY = 200
MAX_REGION = 64
MAX_TAG = 40
MAX_NOTES = 2000
TAG_SEPARATORS = (",", "，", ";", "；", "、")
Problems = list[tuple[str, dict[str, object]]]


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one line of the file, as a message id and its parameters."""

    line: int
    key: str
    params: dict[str, object]


@dataclass(frozen=True, slots=True)
class Rules:
    """What rows are checked against: region, grades, today and each choice's spellings.

    ``choices`` maps a column to its accepted spellings (folded) and their keys;
    ``shown`` names a column's choices in an error, in the reader's language;
    ``headers`` maps header titles (lower case) to columns, in every language;
    ``names`` names the columns in errors, in the reader's language.
    """

    region: str | None
    grades: frozenset[str]
    today: date
    choices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    shown: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CleanRows:
    """A file's rows after the checks that need no database: clean rows and row errors."""

    format: str
    columns: tuple[str, ...]
    unknown: tuple[str, ...]
    total: int
    rows: tuple[tuple[int, dict[str, Any]], ...]
    errors: tuple[RowError, ...]


def clean_table(table: Table, rules: Rules) -> CleanRows:
    """Check each row of ``table`` on its own (names, phones, choices, numbers)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    for line, cells in table.rows:
        row, problems = _clean(table.columns, cells, rules)
        for key, params in problems:
            if "column" in params:
                params["column"] = rules.names.get(str(params["column"]), params["column"])
            errors.append(RowError(line, key, params))
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


def _clean(
    columns: dict[str, int], cells: Sequence[str], rules: Rules
) -> tuple[dict[str, Any], Problems]:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    problems: Problems = []
    row: dict[str, Any] = {
        "id": int(cell("id")) if cell("id").isdigit() else None,
        "name": plain(cell("name")),
        "company": _company_path(cell("company")),
        "region": plain(cell("region")) or None,
        "tags": [t for t in (plain(t) for t in split_list(cell("tags"))) if t],
        "notes": cell("notes") or None,
    }
    if not row["name"]:
        problems.append((N_("the name is missing"), {}))
    for key, limit in (("name", MAX_NAME), ("region", MAX_REGION), ("notes", MAX_NOTES)):
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
            row["phone"] = normalize_phone(phone, region=rules.region)
        except InvalidInput:
            problems.append((N_("“{value}” isn't a valid phone number"), {"value": phone[:30]}))
    row["stage"] = _choice(cell("stage"), "stage", rules, problems) or "new"
    kind = _choice(cell("kind"), "kind", rules, problems)
    row["kind"] = CustomerKind(kind) if kind else CustomerKind.LEAD
    for name, spec in FIELDS.items():
        if spec.multi:
            keys = [_choice(v, name, rules, problems) for v in split_list(cell(name)) if v.strip()]
            row[name] = list(dict.fromkeys(k for k in keys if k)) or None
        else:
            row[name] = _choice(cell(name), name, rules, problems)
    row["birthday_date"] = None
    if birthday := cell("birthday"):
        try:
            row["birthday_date"] = parse_birthday(birthday, today=rules.today)
        except InvalidInput:
            problems.append((N_("birthday “{value}” isn't a date"), {"value": birthday[:20]}))
    grade = cell("grade").upper()
    if grade and grade not in rules.grades:
        problems.append(
            (
                N_("grade “{value}” isn't one of {choices}"),
                {"value": grade[:10], "choices": ", ".join(sorted(rules.grades))},
            )
        )
    row["grade"] = grade or None
    row["score"] = _number(cell("score"), "score", -100_000, 100_000, problems) or 0
    row["route_order"] = _number(cell("route_order"), "route_order", 0, 1_000_000, problems)
    return row, problems


def plain(text: str) -> str:
    """Return text without control characters and with single spaces."""
    cleaned = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(cleaned.split())


def _company_path(text: str) -> tuple[str, ...] | None:
    """Return the names of a company path (``Wang Tea / Shanghai``), top first; None if empty."""
    names = tuple(name for name in (plain(part) for part in text.split(SEPARATOR)) if name)
    return names or None


def split_list(text: str) -> list[str]:
    """Return the items of a cell listing several (tags, preferences), split at any comma."""
    for separator in TAG_SEPARATORS[1:]:
        text = text.replace(separator, TAG_SEPARATORS[0])
    return text.split(TAG_SEPARATORS[0])


def _choice(value: str, column: str, rules: Rules, problems: Problems) -> str | None:
    if not value:
        return None
    accepted = rules.choices.get(column, {})
    key = accepted.get(fold(value))
    if key is not None:
        return key
    shown = rules.shown.get(column) or ", ".join(dict.fromkeys(accepted.values()))
    problems.append(
        (
            N_("{column} “{value}” isn't one of {choices}"),
            {"column": column, "value": value[:30], "choices": shown},
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
