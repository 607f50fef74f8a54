"""Server-side tables: filter, sort and page rows on the server; download them as CSV or Excel.

A page describes its columns once (``Column``) and hands over every row as a
mapping of column key to value; ``TableQuery`` reads the request's choices
(``q``, ``sort``, ``dir``, ``page`` and the page's own choice filters),
``apply`` filters and sorts, ``TableView`` is one page of it for the
``_table.html`` macro, and ``csv_download`` / ``xlsx_download`` write exactly
the filtered, sorted rows (all of them, not just the page) with the column
labels in the reader's language.

CSV comes as UTF-8 with a byte-order mark (so Excel recognises it) or as
CP932, the Windows code page of Japanese Excel; a character CP932 cannot hold
is written as ``?`` rather than refusing the whole file.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlencode

import xlsxwriter
from fastapi.responses import Response

Row = Mapping[str, Any]
SEARCH_KEY = "_search"  # a row's extra text the filter looks in (e.g. its product's name)
PAGE_SIZE = 50
MAX_QUERY = 100


class Kind(StrEnum):
    """How a column's values are shown, compared and written to a file."""

    text = "text"
    int = "int"
    money = "money"
    days = "days"  # a float shown without decimals; None is "no limit"
    percent = "percent"  # a share in [0, 1]
    choice = "choice"  # a code shown through its label (e.g. a flag)


class Encoding(StrEnum):
    utf8 = "utf-8"
    cp932 = "cp932"


@dataclass(frozen=True)
class Column:
    """One column: ``label`` is the English message, translated when shown."""

    key: str
    label: str
    kind: Kind = Kind.text
    sortable: bool = True
    searchable: bool = False  # the free-text filter looks in this column
    note: str = ""  # a short explanation under the heading
    choices: Mapping[str, str] = field(default_factory=dict)  # code → English label
    default_desc: bool = False  # first click sorts largest first (figures)

    @property
    def numeric(self) -> bool:
        return self.kind not in (Kind.text, Kind.choice)


@dataclass(frozen=True)
class TableQuery:
    """The reader's choices, from the query string; anything unknown falls back to defaults."""

    q: str = ""
    sort: str = ""
    desc: bool = False
    page: int = 1
    filters: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)  # the page's own (e.g. ``by``)

    @classmethod
    def parse(
        cls,
        params: Mapping[str, str],
        columns: Sequence[Column],
        *,
        default_sort: str,
        default_desc: bool = False,
        extra: Mapping[str, str] | None = None,
    ) -> TableQuery:
        by_key = {c.key: c for c in columns}
        sort = params.get("sort", "")
        if sort not in by_key or not by_key[sort].sortable:
            sort, desc = default_sort, default_desc
        else:
            direction = params.get("dir", "")
            desc = (
                direction == "desc" if direction in ("asc", "desc") else by_key[sort].default_desc
            )
        try:
            page = max(1, min(int(params.get("page", "1")), 1_000_000))
        except ValueError:
            page = 1
        filters = {
            c.key: params[c.key]
            for c in columns
            if c.kind == Kind.choice and params.get(c.key) in c.choices
        }
        return cls(
            q=params.get("q", "").strip()[:MAX_QUERY],
            sort=sort,
            desc=desc,
            page=page,
            filters=filters,
            extra=dict(extra or {}),
        )

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """The query string's pairs with ``changes``; empty values and page 1 are left out."""
        state: dict[str, Any] = {
            **self.extra,
            "q": self.q,
            **self.filters,
            "sort": self.sort,
            "dir": "desc" if self.desc else "asc",
            "page": self.page,
        }
        state.update(changes)
        return [
            (k, str(v))
            for k, v in state.items()
            if v not in ("", None) and not (k == "page" and int(v) <= 1)
        ]

    def link(self, path: str, **changes: Any) -> str:
        pairs = self.params(**changes)
        return f"{path}?{urlencode(pairs)}" if pairs else path


def _sort_key(kind: Kind, value: Any) -> Any:
    if kind == Kind.days and value is None:
        return math.inf  # no sales: unbounded cover sorts past every finite one
    if isinstance(value, str):
        return value.casefold()
    return value


def apply(rows: Sequence[Row], columns: Sequence[Column], query: TableQuery) -> list[Row]:
    """The rows that pass the filters, in the chosen order (missing values always last)."""
    needle = query.q.casefold()
    searchable = [c.key for c in columns if c.searchable] + [SEARCH_KEY]
    kept = [
        r
        for r in rows
        if all(str(r.get(k)) == v for k, v in query.filters.items())
        and (not needle or any(needle in str(r.get(k) or "").casefold() for k in searchable))
    ]
    column = next((c for c in columns if c.key == query.sort), None)
    if column is None:
        return kept
    present = [r for r in kept if _sort_key(column.kind, r.get(column.key)) is not None]
    missing = [r for r in kept if _sort_key(column.kind, r.get(column.key)) is None]
    present.sort(key=lambda r: _sort_key(column.kind, r.get(column.key)), reverse=query.desc)
    return present + missing


@dataclass(frozen=True)
class TableView:
    """One page of a filtered, sorted table, with what ``_table.html`` needs to draw it."""

    id: str
    path: str
    columns: Sequence[Column]
    query: TableQuery
    rows: Sequence[Row]
    total_rows: int
    all_rows: int  # before filtering, to tell "nothing yet" from "nothing matches"
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_rows // self.page_size))

    @property
    def first_row(self) -> int:
        return (self.query.page - 1) * self.page_size + 1

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1

    def link(self, **changes: Any) -> str:
        return self.query.link(self.path, **changes)

    @property
    def clear_link(self) -> str:
        """The table without its text and choice filters, keeping sort and the page's own."""
        return self.link(q="", page=1, **dict.fromkeys(self.query.filters, ""))

    def sort_link(self, column: Column) -> str:
        """Click a heading: sort by it (its natural direction), or flip it if already sorted."""
        if column.key == self.query.sort:
            return self.link(dir="asc" if self.query.desc else "desc", page=1)
        return self.link(sort=column.key, dir="desc" if column.default_desc else "asc", page=1)

    def hidden_fields(self, *, without: Sequence[str] = ()) -> list[tuple[str, str]]:
        """The current choices as hidden form fields (for the filter and download forms)."""
        return [(k, v) for k, v in self.query.params(page=1) if k not in without]


def page_of(
    rows: Sequence[Row],
    columns: Sequence[Column],
    query: TableQuery,
    *,
    table_id: str,
    path: str,
    page_size: int = PAGE_SIZE,
    filtered: Sequence[Row] | None = None,
) -> TableView:
    """Filter, sort and cut out the requested page (the last one if asked past the end);
    ``filtered`` is ``apply(rows, columns, query)`` when the caller already has it."""
    kept = apply(rows, columns, query) if filtered is None else filtered
    pages = max(1, -(-len(kept) // page_size))
    page = min(query.page, pages)
    if page != query.page:
        query = TableQuery(
            q=query.q,
            sort=query.sort,
            desc=query.desc,
            page=page,
            filters=query.filters,
            extra=query.extra,
        )
    start = (page - 1) * page_size
    return TableView(
        id=table_id,
        path=path,
        columns=columns,
        query=query,
        rows=kept[start : start + page_size],
        total_rows=len(kept),
        all_rows=len(rows),
        page_size=page_size,
    )


Translate = Callable[[str], str]


def file_value(column: Column, value: Any, translate: Translate) -> Any:
    """A value as a spreadsheet wants it: numbers as numbers, codes as their label."""
    if value is None:
        return ""
    if column.kind == Kind.choice:
        return translate(column.choices.get(str(value), str(value)))
    if column.kind == Kind.days:
        return round(float(value))
    if column.kind == Kind.percent:
        return round(float(value) * 100, 1)
    if isinstance(value, Decimal):
        return value
    return value


def file_heading(column: Column, translate: Translate) -> str:
    label = translate(column.label)
    return f"{label} (%)" if column.kind == Kind.percent else label


def csv_bytes(
    rows: Sequence[Row], columns: Sequence[Column], translate: Translate, encoding: Encoding
) -> bytes:
    """The rows as CSV: a heading row of translated labels, then one line per row."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([file_heading(c, translate) for c in columns])
    for row in rows:
        writer.writerow([file_value(c, row.get(c.key), translate) for c in columns])
    text = buffer.getvalue()
    if encoding == Encoding.cp932:
        return text.encode("cp932", errors="replace")
    return text.encode("utf-8-sig")


def xlsx_bytes(
    rows: Sequence[Row], columns: Sequence[Column], translate: Translate, *, sheet: str
) -> bytes:
    """The rows as an Excel workbook with one sheet, a bold frozen heading and number formats."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    page = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    formats = {
        Kind.int: book.add_format({"num_format": "#,##0"}),
        Kind.money: book.add_format({"num_format": "#,##0"}),
        Kind.days: book.add_format({"num_format": "#,##0"}),
        Kind.percent: book.add_format({"num_format": "0.0"}),
    }
    for col, column in enumerate(columns):
        page.write_string(0, col, file_heading(column, translate), bold)
        page.set_column(col, col, 22 if column.kind == Kind.text else 12)
    for line, row in enumerate(rows, start=1):
        for col, column in enumerate(columns):
            value = file_value(column, row.get(column.key), translate)
            if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                page.write_number(line, col, float(value), formats.get(column.kind))
            else:
                page.write_string(line, col, str(value))
    page.freeze_panes(1, 0)
    page.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    book.close()
    return buffer.getvalue()


def _attachment(name: str) -> str:
    """``Content-Disposition`` with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    ascii_name = name.encode("ascii", errors="replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def download(
    rows: Sequence[Row],
    columns: Sequence[Column],
    translate: Translate,
    *,
    file_format: str,
    encoding: str,
    name: str,
) -> Response:
    """The filtered, sorted rows as a CSV (``encoding``) or Excel (``file_format=xlsx``) file."""
    if file_format == "xlsx":
        return Response(
            xlsx_bytes(rows, columns, translate, sheet=name),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": _attachment(f"{name}.xlsx")},
        )
    chosen = Encoding.cp932 if encoding == Encoding.cp932.value else Encoding.utf8
    charset = "shift_jis" if chosen == Encoding.cp932 else "utf-8"
    return Response(
        csv_bytes(rows, columns, translate, chosen),
        media_type=f"text/csv; charset={charset}",
        headers={"Content-Disposition": _attachment(f"{name}.csv")},
    )
