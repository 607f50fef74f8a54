"""Turning text cells into typed columns by the data contract, naming every bad cell.

Validation is vectorised with Polars: each column is parsed in one pass, and
the cells whose text was present but did not parse become problems that name
file, row, column, value and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from soko.data.contract import WEEKDAYS, Column, Entity, Kind
from soko.data.readers import ROW
from soko.errors import ErrorCode

SOURCE = "_source"
MONEY = pl.Decimal(18, 4)

DTYPES: dict[Kind, pl.DataType] = {
    Kind.TEXT: pl.String(),
    Kind.INTEGER: pl.Int64(),
    Kind.DECIMAL: MONEY,
    Kind.DATE: pl.Date(),
    Kind.DATETIME: pl.Datetime("us"),
    Kind.BOOLEAN: pl.Boolean(),
    Kind.CHOICE: pl.String(),
    Kind.WEEKDAYS: pl.String(),
}

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as precisely as the input allows."""

    file: str
    row: int
    column: str
    value: str | None
    expected: str
    code: ErrorCode

    def line(self) -> str:
        if not self.row and not self.column and self.value is None:  # about the whole file
            said = (
                self.expected
                if self.expected.startswith(self.file)
                else (f"{self.file}: {self.expected}")
            )
            return f"{said} [{self.code}]"
        shown = "(empty)" if self.value is None else repr(self.value)
        where = f"{self.file}: row {self.row}" if self.row else f"{self.file}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {shown}: expected {self.expected} [{self.code}]"


def parse_expr(column: Column, raw: pl.Expr) -> pl.Expr:
    """The typed value of a text cell, or null where it does not parse."""
    text = raw.str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    match column.kind:
        case Kind.TEXT:
            return text
        case Kind.INTEGER:
            return text.str.replace_all(",", "", literal=True).cast(pl.Int64, strict=False)
        case Kind.DECIMAL:
            cleaned = text.str.replace_all(r"[,¥￥]", "")
            return cleaned.cast(MONEY, strict=False)
        case Kind.DATE:
            dashed = text.str.replace_all("/", "-", literal=True)
            return pl.coalesce(
                dashed.str.strptime(pl.Date, "%Y-%m-%d", strict=False, exact=True),
                _datetime(dashed).dt.date(),
            )
        case Kind.DATETIME:
            return _datetime(text.str.replace_all("/", "-", literal=True))
        case Kind.BOOLEAN:
            low = text.str.to_lowercase()
            return (
                pl.when(low.is_in(TRUE_WORDS))
                .then(True)
                .when(low.is_in(FALSE_WORDS))
                .then(False)
                .otherwise(None)
            )
        case Kind.CHOICE:
            low = text.str.to_lowercase()
            return pl.when(low.is_in(column.choices)).then(low).otherwise(None)
        case Kind.WEEKDAYS:
            low = text.str.to_lowercase().str.replace_all(" ", "", literal=True)
            ok = low.str.split(",").list.eval(pl.element().is_in(WEEKDAYS)).list.all()
            return pl.when(ok).then(low).otherwise(None)


def _datetime(text: pl.Expr) -> pl.Expr:
    spaced = text.str.replace("T", " ", literal=True)
    return pl.coalesce(
        *(
            spaced.str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True)
            for fmt in ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
        )
    )


def parse_entity(
    entity: Entity,
    frame: pl.DataFrame,
    source: str,
    *,
    shown_names: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, list[Problem]]:
    """Typed frame with every contract column of ``entity``, and the problems found.

    ``frame`` holds text cells in contract column names plus ``_row``;
    ``shown_names`` maps a contract column to the name the user's file gave it,
    so that errors from a mapped export speak the export's language.
    """
    names = shown_names or {}
    problems: list[Problem] = []
    present = [c for c in entity.columns if c.name in frame.columns]
    for col in entity.columns:
        if col.required and col.name not in frame.columns:
            problems.append(
                Problem(
                    source,
                    1,
                    names.get(col.name, col.name),
                    None,
                    "this required column in the header",
                    ErrorCode.missing_column,
                )
            )
    if problems:
        return frame.clear(), problems

    parsed = frame.select(
        pl.col(ROW),
        *(parse_expr(c, pl.col(c.name)).alias(c.name) for c in present),
    )
    checks: list[tuple[Column, pl.Expr, ErrorCode, str]] = []
    for col in present:
        raw_text = pl.col(col.name).str.strip_chars()
        has_text = raw_text.is_not_null() & (raw_text != "")
        value = pl.col(f"__{col.name}")
        checks.append((col, has_text & value.is_null(), ErrorCode.invalid_value, col.expected()))
        if col.required:
            checks.append((col, ~has_text, ErrorCode.missing_value, col.expected()))
        if col.minimum is not None:
            checks.append((col, value < col.minimum, ErrorCode.below_minimum, col.expected()))
    if checks:
        both = frame.select(
            pl.col(ROW),
            *(pl.col(c.name) for c in present),
            *(parsed.get_column(c.name).alias(f"__{c.name}") for c in present),
        )
        flags = both.select(
            pl.col(ROW),
            *(pl.col(c.name) for c in present),
            *(expr.fill_null(False).alias(f"__bad{i}") for i, (_, expr, _, _) in enumerate(checks)),
        )
        for i, (col, _, code, expected) in enumerate(checks):
            bad = flags.filter(pl.col(f"__bad{i}")).select(ROW, col.name)
            problems.extend(
                Problem(source, row, names.get(col.name, col.name), value, expected, code)
                for row, value in bad.iter_rows()
            )

    missing = [c for c in entity.columns if c.name not in frame.columns]
    typed = parsed.with_columns(
        *(pl.lit(None, dtype=DTYPES[c.kind]).alias(c.name) for c in missing),
        pl.lit(source).alias(SOURCE),
    ).select(SOURCE, ROW, *entity.names)
    problems.extend(_duplicate_keys(entity, typed, source, names))
    return typed, problems


def _duplicate_keys(
    entity: Entity, typed: pl.DataFrame, source: str, names: dict[str, str]
) -> list[Problem]:
    if not entity.key:
        return []
    keyed = typed.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in entity.key))
    dup = keyed.with_columns(
        pl.col(ROW).first().over(entity.key).alias("__first"),
    ).filter(pl.col(ROW) != pl.col("__first"))
    label = " and ".join(names.get(k, k) for k in entity.key)
    return [
        Problem(
            source,
            row,
            names.get(entity.key[-1], entity.key[-1]),
            " / ".join(str(v) for v in key_values),
            f"a {label} not already used in row {first}",
            ErrorCode.duplicate_key,
        )
        for row, first, *key_values in dup.select(ROW, "__first", *entity.key).iter_rows()
    ]


def unknown_columns(entity: Entity, header: list[str], source: str) -> list[Problem]:
    """Header names that are not in the contract: refused, so a typo is never silently lost."""
    known = set(entity.names)
    return [
        Problem(
            source,
            1,
            name,
            name,
            f"a column of {entity.name}: " + ", ".join(entity.names),
            ErrorCode.unknown_column,
        )
        for name in header
        if name != ROW and name not in known
    ]
