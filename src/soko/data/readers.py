"""Reading import files into frames of text, whatever their format and encoding.

Every cell is read as text so that validation, not the reader, decides what a
cell means and can name the cell that is wrong. Row numbers are those a
spreadsheet shows: the header is row 1, the first record row 2.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from soko.errors import ErrorCode, SokoError

SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv", ".parquet", ".xlsx", ".xlsm", ".xls")
ROW = "_row"  # spreadsheet row number of each record
HEADER_ROW = 1


@dataclass(frozen=True)
class RawTable:
    """One file read as text: its name (its identity on re-import) and its cells."""

    source: str
    frame: pl.DataFrame  # every column pl.String, plus ROW
    encoding: str = "utf-8"


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named and the import files directly inside folders named, sorted by name.

    Sub-folders are not entered: the demo generator's ``truth/`` beside its
    files is ground truth, not data to import.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and not p.name.startswith(".") and _suffix_ok(p)
            )
            if not inside:
                raise SokoError(
                    ErrorCode.unreadable_file, f"{path}: the folder holds no file to import"
                )
            files.extend(inside)
        elif path.is_file():
            files.append(path)
        else:
            raise SokoError(ErrorCode.unreadable_file, f"{path}: no such file or folder")
    return files


def _suffix_ok(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def decode_text(data: bytes, source: str) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), else CP932 (Shift_JIS as Windows
    writes it, which Japanese sellers' tools export)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("cp932"), "cp932"
        except UnicodeDecodeError:
            line = data[: utf8_error.start].count(b"\n") + 1
            raise SokoError(
                ErrorCode.unreadable_file,
                f"{source}: line {line} is neither UTF-8 nor CP932 text "
                f"(byte {utf8_error.start}); save the file as UTF-8 or CP932",
            ) from None


def read_table(path: Path) -> RawTable:
    """Read one CSV (UTF-8 or CP932, optionally gzip), Parquet or Excel file as text."""
    name = path.name
    lower = name.lower()
    try:
        if lower.endswith(".parquet"):
            frame = pl.read_parquet(path)
            encoding = "parquet"
        elif lower.endswith((".xlsx", ".xlsm", ".xls")):
            frame = pl.read_excel(path, infer_schema_length=0)
            encoding = "excel"
        else:
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            text, encoding = decode_text(data, name)
            separator = "\t" if lower.endswith(".tsv") else ","
            frame = pl.read_csv(
                io.BytesIO(text.encode("utf-8")),
                infer_schema=False,
                separator=separator,
            )
    except SokoError:
        raise
    except Exception as exc:  # any reader failure means: this file cannot be read as its kind
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SokoError(
            ErrorCode.unreadable_file, f"{name}: cannot be read as {_kind(lower)}: {first}"
        ) from None
    names = [c.strip() for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        shown = ", ".join(repr(n) for n in twice)
        raise SokoError(
            ErrorCode.duplicate_key,
            f"{name}: the header names column(s) {shown} more than once; give each column "
            "its own name",
        )
    frame = frame.select(pl.all().cast(pl.String))
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    frame = frame.with_row_index(ROW, offset=HEADER_ROW + 1).with_columns(
        pl.col(ROW).cast(pl.Int64)
    )
    return RawTable(name, frame, encoding)


def _kind(lower: str) -> str:
    if lower.endswith(".parquet"):
        return "Parquet"
    if lower.endswith((".xlsx", ".xlsm", ".xls")):
        return "Excel"
    return "CSV"
