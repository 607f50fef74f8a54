"""Generated bad files: each is refused at the right file, row and column, and changes nothing."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from soko.data.contract import BY_NAME, Column, Kind
from soko.data.importer import ImportFailed, import_paths
from soko.settings import Settings
from soko.store.db import make_engine
from tests.integration.test_import import snapshot, write_shop

BAD_VALUES: dict[Kind, st.SearchStrategy[str]] = {
    Kind.INTEGER: st.sampled_from(["abc", "1.5", "12個", "1e3", "--1"]),
    Kind.DECIMAL: st.sampled_from(["12x", "¥¥", "1.2.3", "N/A", "三千"]),
    Kind.DATE: st.sampled_from(["2024-02-30", "31/12/2024", "tomorrow", "2024-13-01"]),
    Kind.DATETIME: st.sampled_from(["2024-01-01 25:00", "yesterday", "2024-01-32 10:00"]),
    Kind.BOOLEAN: st.sampled_from(["perhaps", "2", "はい"]),
    Kind.CHOICE: st.text(alphabet="xyzQ!", min_size=1, max_size=6),
    Kind.WEEKDAYS: st.sampled_from(["monday", "mon;thu", "funday", "mon,,"]),
}


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store holding the small shop, and the shop's files."""
    root = tmp_path_factory.mktemp("props")
    shop = write_shop(root / "shop")
    import_paths(Settings(data_dir=root / "store"), [shop])
    return root / "store", shop


@st.composite
def corruption(draw: st.DrawFn) -> tuple[str, int, Column, str]:
    """A file of the shop, a data row, a column of it and a value that column must refuse."""
    name = draw(st.sampled_from(["products", "order_lines", "customers", "locations"]))
    entity = BY_NAME[name]
    header_cols = {
        "products": [
            "sku",
            "product_code",
            "product_name",
            "color",
            "size",
            "item_type",
            "unit_cost",
            "price",
            "tax_rate",
            "price_includes_tax",
            "case_pack",
            "moq",
            "order_weekdays",
        ],
        "order_lines": [
            "order_id",
            "channel_code",
            "location_code",
            "customer_id",
            "ordered_at",
            "sku",
            "quantity",
            "unit_price",
            "discount",
        ],
        "customers": ["customer_id", "joined_on", "prefecture"],
        "locations": ["location_code", "name", "kind", "prefecture"],
    }[name]
    column = entity.column(draw(st.sampled_from(header_cols)))
    rows = {"products": 3, "order_lines": 4, "customers": 2, "locations": 1}[name]
    row = draw(st.integers(2, rows + 1))
    if column.references:
        value = "ZZ-" + draw(st.text(alphabet="ABCDEFG0123", min_size=1, max_size=5))
    elif column.kind is Kind.TEXT:
        if not column.required:
            # free text is always valid; damage the row's quantity-like neighbour instead
            value = ""
            column = entity.column(
                {
                    "products": "case_pack",
                    "order_lines": "quantity",
                    "customers": "joined_on",
                    "locations": "kind",
                }[name]
            )
            value = draw(BAD_VALUES[column.kind])
        else:
            value = ""
    else:
        value = draw(BAD_VALUES[column.kind])
    return f"{name}.csv", row, column, value


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bad=corruption())
def test_a_generated_bad_cell_is_named_and_changes_nothing(
    bad: tuple[str, int, Column, str],
    loaded: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    store_dir, shop = loaded
    file_name, row, column, value = bad
    work = tmp_path_factory.mktemp("bad")
    shutil.copytree(shop, work / "shop")
    rows = _rows(work / "shop" / file_name)
    rows[row - 1][rows[0].index(column.name)] = value
    _write(work / "shop" / file_name, rows)

    engine: Engine = make_engine(Settings(data_dir=store_dir))
    before = snapshot(engine)
    with pytest.raises(ImportFailed) as failed:
        import_paths(Settings(data_dir=store_dir), [work / "shop"])
    located = {(p.file, p.row, p.column) for p in failed.value.errors}
    assert (file_name, row, column.name) in located, failed.value.lines()
    assert all(
        p.value == value or p.value is None or p.column != column.name
        for p in failed.value.errors
        if (p.file, p.row) == (file_name, row)
    )
    assert snapshot(engine) == before
    engine.dispose()


@settings(max_examples=40, deadline=None)
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))
def test_any_file_is_either_imported_or_refused_with_a_located_error(
    body: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("noise")
    path = work / "upload.csv"
    path.write_bytes(body)
    problems = []
    try:
        import_paths(Settings(data_dir=work / "store"), [path])
    except ImportFailed as failed:
        problems = failed.errors
        assert problems, "a refused file names at least one problem"
    assert all(p.file == "upload.csv" and p.expected for p in problems)
