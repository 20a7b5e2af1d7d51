"""Spreadsheet files as merchants' tools save them, and hostile ones, built in memory for tests."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

from openpyxl import Workbook  # type: ignore[import-untyped]

BOMB_STRINGS = 48 * 1024 * 1024


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    """Return a workbook with one sheet holding ``rows``."""
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def bomb_xlsx(unpacked: int = BOMB_STRINGS) -> bytes:
    """Return a valid small workbook whose shared-strings part unpacks to ``unpacked`` bytes.

    Like the file in the bug report: about 130 KB on the wire, 48 MB once inflated.
    """
    source = zipfile.ZipFile(io.BytesIO(xlsx([["name"], ["Wu"]])))
    entry = b"<si><t>" + b"A" * 1000 + b"</t></si>"
    count = unpacked // len(entry)
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        + f' count="{count}" uniqueCount="{count}">'.encode()
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            if info.filename != "xl/sharedStrings.xml":
                archive.writestr(info, source.read(info))
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(head)
            block = entry * 1024
            for _ in range(count // 1024):
                part.write(block)
            part.write(b"</sst>")
    return buffer.getvalue()


def unicode_text(rows: Sequence[Sequence[str]]) -> bytes:
    """Return rows as Excel's "Unicode text": tab-separated UTF-16LE with a BOM, CRLF lines."""
    text = "".join("\t".join(row) + "\r\n" for row in rows)
    return "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")


def encoded_csv(rows: Sequence[Sequence[str]], encoding: str) -> bytes:
    """Return comma-separated rows in ``encoding`` (e.g. "gbk", "big5"), without a BOM."""
    return "".join(",".join(row) + "\r\n" for row in rows).encode(encoding)
