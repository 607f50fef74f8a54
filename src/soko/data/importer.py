"""``soko import``: files in, one all-or-nothing transaction, every error at once.

The import runs in three stages. Read and map every file; parse every part by
the data contract; check every reference against this import and the store.
Only when no stage found a problem does anything get written, and then all of
it in one transaction, so the store is either fully updated or unchanged.

Identity: records with a natural key upsert by it (an empty cell keeps the
stored value; a column absent from the file is left as it is). Event rows
(order lines, receipts, adjustments, restock notices) are identified by their
source file name and row, so importing the same file twice adds nothing the
second time, while identical lines inside one file are all kept.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from sqlalchemy import ColumnElement, Connection, Row, Select, Table, select
from sqlalchemy.orm import InstrumentedAttribute

from soko.data.contract import BY_NAME, Entity, load_order
from soko.data.mappings import MappedFile, map_file, map_soko
from soko.data.readers import ROW, RawTable, expand_paths, read_table
from soko.data.validate import SOURCE, Problem, parse_entity
from soko.errors import ErrorCode, SokoError
from soko.settings import Settings, local_now
from soko.store import bulk
from soko.store.db import make_engine, migrate
from soko.store.tables import (
    Balance,
    Campaign,
    CampaignSku,
    Channel,
    Customer,
    ImportRun,
    Listing,
    Location,
    Movement,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    RestockNotice,
    Sku,
    Source,
    StockAdjustment,
    Supplier,
    table_of,
)


class ImportFailed(Exception):
    """Every problem found; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.errors = sorted(problems, key=lambda p: (p.file, p.row, p.column, p.code))

    def lines(self) -> list[str]:
        return [p.line() for p in self.errors]


@dataclass
class ImportReport:
    """What one import did: rows added per table and how often each rule applied."""

    sources: list[str]
    mappings: dict[str, str]
    added: dict[str, int] = field(default_factory=dict)
    rules: dict[str, dict[str, int]] = field(default_factory=dict)

    def print(self, console: Console) -> None:
        table = RichTable(title="Import", show_edge=False)
        table.add_column("file")
        table.add_column("mapping")
        for source in self.sources:
            table.add_row(source, self.mappings[source])
        console.print(table)
        added = RichTable(title="Rows added (0 means already there)", show_edge=False)
        added.add_column("table")
        added.add_column("rows", justify="right")
        for name, n in self.added.items():
            added.add_row(name, f"{n:,}")
        console.print(added)
        for source, counts in self.rules.items():
            if not counts:
                continue
            rules = RichTable(title=f"Rules applied to {source}", show_edge=False)
            rules.add_column("rule")
            rules.add_column("lines", justify="right")
            for rule, n in counts.items():
                rules.add_row(rule, f"{n:,}")
            console.print(rules)


@dataclass
class Prepared:
    """Typed rows per entity, ready to load."""

    frames: dict[str, pl.DataFrame]
    insert_only: dict[str, pl.DataFrame]
    present: dict[str, set[str]]


def import_paths(
    settings: Settings, paths: list[Path], *, mapping: str | None = None, progress: bool = False
) -> ImportReport:
    """Import files and folders in one transaction (see the module docstring)."""
    try:
        files = expand_paths(paths)
    except SokoError as exc:
        raise ImportFailed(
            [Problem(str(paths[0]) if paths else "", 0, "", None, exc.message, exc.code)]
        ) from None
    with _progress(progress) as bar:
        task = bar.add_task("reading", total=len(files))
        mapped: list[MappedFile] = []
        problems: list[Problem] = []
        for path in files:
            bar.update(task, description=f"reading {path.name}")
            try:
                raw = read_table(path)
            except SokoError as exc:
                problems.append(Problem(path.name, 0, "", None, exc.message, exc.code))
            else:
                mapped.append(map_file(raw, mapping))
            bar.advance(task)
        _same_name_twice(files, problems)
        return _run(settings, mapped, problems, bar)


def import_tables(
    settings: Settings, tables: list[tuple[str, pl.DataFrame]], *, progress: bool = False
) -> ImportReport:
    """Import frames in Soko's own format as if they were files of those names."""
    mapped = []
    for source, frame in tables:
        text = frame.select(_as_text(frame, c) for c in frame.columns)
        text = text.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
        mapped.append(map_soko(RawTable(source, text)))
    with _progress(progress) as bar:
        return _run(settings, mapped, [], bar)


def _as_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A column as the text a CSV export of it would hold."""
    dtype = frame.schema[name]
    if dtype == pl.Datetime:
        return pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S")
    if dtype == pl.Date:
        return pl.col(name).dt.strftime("%Y-%m-%d")
    return pl.col(name).cast(pl.String)


def _same_name_twice(files: list[Path], problems: list[Problem]) -> None:
    seen: dict[str, Path] = {}
    for path in files:
        if path.name in seen and seen[path.name].resolve() != path.resolve():
            problems.append(
                Problem(
                    path.name,
                    0,
                    "",
                    str(path),
                    f"a file name not already used by {seen[path.name]} (a file's name is its "
                    "identity on re-import)",
                    ErrorCode.duplicate_key,
                )
            )
        seen.setdefault(path.name, path)


def _run(
    settings: Settings, mapped: list[MappedFile], problems: list[Problem], bar: Progress
) -> ImportReport:
    for m in mapped:
        problems.extend(m.problems)
    task = bar.add_task("checking", total=None)
    prepared = _prepare(mapped, problems)
    engine = make_engine(settings)
    migrate(engine)
    report = ImportReport(
        sources=[m.source for m in mapped],
        mappings={m.source: m.mapping for m in mapped},
        rules={m.source: m.rules for m in mapped},
    )
    with bulk.load_transaction(engine) as conn:
        problems.extend(_check_references(conn, prepared))
        if problems:
            raise ImportFailed(problems)
        bar.update(task, description="writing", total=len(load_order()), completed=0)
        for entity in load_order():
            bar.update(task, description=f"writing {entity.name}")
            report.added.update(_LOADERS[entity.name](conn, prepared, entity))
            bar.advance(task)
        conn.execute(
            table_of(ImportRun)
            .insert()
            .values(
                finished_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                sources=report.sources,
                rows_added=report.added,
                rule_counts={
                    f"{src}:{rule}": n
                    for src, rules in report.rules.items()
                    for rule, n in rules.items()
                },
            )
        )
    engine.dispose()
    return report


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        transient=True,
        disable=not enabled,
        console=Console(stderr=True),
    )
    with bar:
        yield bar


def _prepare(mapped: list[MappedFile], problems: list[Problem]) -> Prepared:
    """Parse every part; keyed entities must not repeat a key across files either."""
    parsed: dict[str, list[pl.DataFrame]] = defaultdict(list)
    derived: dict[str, list[pl.DataFrame]] = defaultdict(list)
    present: dict[str, set[str]] = defaultdict(set)
    for m in mapped:
        for part in m.parts:
            entity = BY_NAME[part.entity]
            typed, found = parse_entity(entity, part.frame, m.source, shown_names=part.shown_names)
            problems.extend(found)
            (derived if part.insert_only else parsed)[entity.name].append(typed)
            present[entity.name] |= set(part.frame.columns) & set(entity.names)
    frames = {name: pl.concat(fs, how="vertical_relaxed") for name, fs in parsed.items()}
    for name, frame in frames.items():
        entity = BY_NAME[name]
        if entity.key and frame.get_column(SOURCE).n_unique() > 1:
            problems.extend(_repeated_across_files(entity, frame))
    insert_only: dict[str, pl.DataFrame] = {}
    for name, fs in derived.items():
        entity = BY_NAME[name]
        frame = pl.concat(fs, how="vertical_relaxed").unique(
            list(entity.key), keep="first", maintain_order=True
        )
        if name in frames:
            frame = frame.join(frames[name].select(entity.key), on=list(entity.key), how="anti")
        insert_only[name] = frame
    return Prepared(frames, insert_only, dict(present))


def _repeated_across_files(entity: Entity, frame: pl.DataFrame) -> list[Problem]:
    first = frame.group_by(entity.key, maintain_order=True).agg(
        pl.col(SOURCE).first().alias("__src"), pl.col(ROW).first().alias("__row")
    )
    joined = frame.join(first, on=list(entity.key)).filter(pl.col(SOURCE) != pl.col("__src"))
    return [
        Problem(
            src,
            row,
            entity.key[-1],
            str(key),
            f"a key not already given in {fsrc} row {frow}",
            ErrorCode.duplicate_key,
        )
        for src, row, key, fsrc, frow in joined.select(
            SOURCE, ROW, entity.key[-1], "__src", "__row"
        ).iter_rows()
    ]


# --- references ----------------------------------------------------------------------------

CODE_COLUMNS: dict[str, tuple[Table, str]] = {
    "suppliers.supplier_code": (table_of(Supplier), "code"),
    "products.sku": (table_of(Sku), "code"),
    "locations.location_code": (table_of(Location), "code"),
    "channels.channel_code": (table_of(Channel), "code"),
    "customers.customer_id": (table_of(Customer), "code"),
    "campaigns.campaign_code": (table_of(Campaign), "code"),
    "purchase_orders.po_number": (table_of(PurchaseOrder), "number"),
}


def _all(prepared: Prepared, entity: str) -> pl.DataFrame | None:
    frames = [
        f for f in (prepared.frames.get(entity), prepared.insert_only.get(entity)) if f is not None
    ]
    return pl.concat(frames, how="vertical_relaxed") if frames else None


def _check_references(conn: Connection, prepared: Prepared) -> list[Problem]:
    """Every code an import refers to exists in this import or in the store."""
    problems: list[Problem] = []
    known: dict[str, pl.Series] = {}
    for entity in load_order():
        frame = _all(prepared, entity.name)
        if frame is None:
            continue
        for col in entity.columns:
            if col.references is None:
                continue
            if col.references not in known:
                ref_entity, ref_col = col.references.split(".")
                table, code_col = CODE_COLUMNS[col.references]
                stored = pl.Series(
                    ref_col,
                    conn.execute(select(table.c[code_col])).scalars().all(),
                    dtype=pl.String,
                )
                ref_frame = _all(prepared, ref_entity)
                mine = ref_frame.get_column(ref_col) if ref_frame is not None else None
                known[col.references] = pl.concat([stored, mine]) if mine is not None else stored
            values = frame.select(SOURCE, ROW, col.name).filter(
                pl.col(col.name).is_not_null()
                & ~pl.col(col.name).is_in(known[col.references].implode())
            )
            shown = col.references.replace(".", " ")
            problems.extend(
                Problem(
                    src,
                    row,
                    col.name,
                    value,
                    f"a {shown} that exists (in this import or the store)",
                    ErrorCode.unknown_reference,
                )
                for src, row, value in values.iter_rows()
            )
    receipts = prepared.frames.get("receipts")
    if receipts is not None:
        po_lines = _po_line_keys(conn, prepared)
        missing = receipts.join(po_lines, on=["po_number", "sku"], how="anti")
        problems.extend(
            Problem(
                src,
                row,
                "sku",
                sku,
                f"a SKU ordered on purchase order {po}",
                ErrorCode.unknown_reference,
            )
            for src, row, po, sku in missing.select(SOURCE, ROW, "po_number", "sku").iter_rows()
        )
    return problems


def _po_line_keys(conn: Connection, prepared: Prepared) -> pl.DataFrame:
    rows = conn.execute(
        select(PurchaseOrder.number, Sku.code)
        .join(PurchaseOrderLine, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
        .join(Sku, Sku.id == PurchaseOrderLine.sku_id)
    ).all()
    stored = pl.DataFrame(rows, schema={"po_number": pl.String, "sku": pl.String}, orient="row")
    mine = prepared.frames.get("purchase_orders")
    if mine is not None:
        stored = pl.concat([stored, mine.select("po_number", "sku")])
    return stored.unique()


# --- loading -------------------------------------------------------------------------------

Added = dict[str, int]


def _ids(conn: Connection, table: Table, code_col: str = "code") -> pl.DataFrame:
    rows = conn.execute(select(table.c[code_col], table.c.id)).all()
    return pl.DataFrame(rows, schema={"code": pl.String, "id": pl.Int64}, orient="row")


def _with_id(
    frame: pl.DataFrame,
    conn: Connection,
    table: Table,
    column: str,
    id_name: str,
    code_col: str = "code",
) -> pl.DataFrame:
    """``frame`` with ``id_name`` looked up from ``column``'s codes (null where empty)."""
    ids = _ids(conn, table, code_col).rename({"code": column, "id": id_name})
    return frame.join(ids, on=column, how="left")


def _keyed(
    conn: Connection,
    prepared: Prepared,
    entity: str,
    table: Table,
    key: list[str],
    build: Any,
    defaults: dict[str, Any],
    renamed: dict[str, str] | None = None,
) -> int:
    """Upsert the authoritative rows and insert the derived ones that are new."""
    added = 0
    present = prepared.present.get(entity, set())
    for frame, insert_only in (
        (prepared.frames.get(entity), False),
        (prepared.insert_only.get(entity), True),
    ):
        if frame is None or frame.is_empty():
            continue
        rows: pl.DataFrame = build(conn, frame)
        names = _SOURCE_COLUMNS | (renamed or {})
        update = (
            []
            if insert_only
            else [c for c in rows.columns if c not in key and names.get(c, c) in present]
        )
        added += bulk.upsert(conn, table, rows, key, update, defaults)
    return added


_SOURCE_COLUMNS = {  # table column → the contract column it comes from
    "supplier_id": "supplier_code",
    "product_id": "product_code",
    "channel_id": "channel_code",
    "location_id": "location_code",
    "sku_id": "sku",
    "campaign_id": "campaign_code",
    "purchase_order_id": "po_number",
}


def _load_suppliers(conn: Connection, p: Prepared, _e: Entity) -> Added:
    def build(_c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        return f.select(
            pl.col("supplier_code").alias("code"),
            "name",
            "lead_time_days",
            "capacity_per_week",
            "country",
        )

    return {"suppliers": _keyed(conn, p, "suppliers", table_of(Supplier), ["code"], build, {})}


def _load_products(conn: Connection, p: Prepared, _e: Entity) -> Added:
    def build_products(c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        first = f.unique("product_code", keep="first", maintain_order=True)
        first = _with_id(first, c, table_of(Supplier), "supplier_code", "supplier_id")
        return first.select(
            pl.col("product_code").alias("code"),
            pl.col("product_name").alias("name"),
            "category",
            "brand",
            "item_type",
            "season_start",
            "season_end",
            "supplier_id",
        )

    present = p.present.get("products", set())
    p.present["products"] = present | {"product_code"}
    products = _keyed(
        conn,
        p,
        "products",
        table_of(Product),
        ["code"],
        build_products,
        {"item_type": "staple"},
        {"name": "product_name"},
    )

    def build_skus(c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        f = _with_id(f, c, table_of(Product), "product_code", "product_id")
        f = _with_id(f, c, table_of(Supplier), "supplier_code", "supplier_id")
        return f.select(
            pl.col("sku").alias("code"),
            "product_id",
            "jan",
            "color",
            "size",
            "unit_cost",
            "price",
            pl.col("tax_rate").cast(pl.Int64),
            "price_includes_tax",
            "case_pack",
            "moq",
            "supplier_id",
            "lead_time_days",
            "review_period_days",
            "order_weekdays",
            "safety_factor",
            "made_to_order",
        )

    skus = _keyed(
        conn,
        p,
        "products",
        table_of(Sku),
        ["code"],
        build_skus,
        {"price_includes_tax": True, "case_pack": 1, "moq": 1, "made_to_order": False},
    )
    p.present["products"] = present
    return {"products": products, "skus": skus}


def _load_channels(conn: Connection, p: Prepared, _e: Entity) -> Added:
    def build(_c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        return f.select(pl.col("channel_code").alias("code"), "name", "kind")

    return {"channels": _keyed(conn, p, "channels", table_of(Channel), ["code"], build, {})}


def _load_locations(conn: Connection, p: Prepared, _e: Entity) -> Added:
    def build(c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        f = _with_id(f, c, table_of(Channel), "channel_code", "channel_id")
        return f.select(
            pl.col("location_code").alias("code"), "name", "kind", "prefecture", "channel_id"
        )

    return {"locations": _keyed(conn, p, "locations", table_of(Location), ["code"], build, {})}


def _load_listings(conn: Connection, p: Prepared, _e: Entity) -> Added:
    def build(c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        f = _with_id(f, c, table_of(Channel), "channel_code", "channel_id")
        f = _with_id(f, c, table_of(Sku), "sku", "sku_id")
        return f.select("channel_id", "external_id", "sku_id")

    return {
        "listings": _keyed(
            conn, p, "listings", table_of(Listing), ["channel_id", "external_id"], build, {}
        )
    }


def _load_customers(conn: Connection, p: Prepared, _e: Entity) -> Added:
    def build(_c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        return f.select(pl.col("customer_id").alias("code"), "joined_on", "prefecture", "country")

    return {"customers": _keyed(conn, p, "customers", table_of(Customer), ["code"], build, {})}


def _load_campaigns(conn: Connection, p: Prepared, _e: Entity) -> Added:
    def build(c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        f = _with_id(f, c, table_of(Channel), "channel_code", "channel_id")
        return f.select(
            pl.col("campaign_code").alias("code"),
            "name",
            "kind",
            "channel_id",
            "starts_on",
            "ends_on",
            pl.col("discount_pct").cast(pl.Decimal(6, 2)),
            "coupon_code",
        )

    return {"campaigns": _keyed(conn, p, "campaigns", table_of(Campaign), ["code"], build, {})}


def _load_campaign_skus(conn: Connection, p: Prepared, _e: Entity) -> Added:
    def build(c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        f = _with_id(f, c, table_of(Campaign), "campaign_code", "campaign_id")
        f = _with_id(f, c, table_of(Sku), "sku", "sku_id")
        return f.select("campaign_id", "sku_id")

    return {
        "campaign_skus": _keyed(
            conn, p, "campaign_skus", table_of(CampaignSku), ["campaign_id", "sku_id"], build, {}
        )
    }


IN_CHUNK = 5_000  # values per IN (...) list: under SQLite's limit on bound parameters


def _rows_in(
    conn: Connection,
    query: Select[*tuple[Any, ...]],
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: list[Any],
) -> list[Row[*tuple[Any, ...]]]:
    """``query``'s rows whose ``column`` is one of ``values``, in chunks.

    Lookups read only what this import touches, so an import costs the same
    whether the store holds a thousand orders or ten million.
    """
    rows: list[Row[*tuple[Any, ...]]] = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        rows.extend(conn.execute(query.where(column.in_(chunk))).all())
    return rows


def _new_events(conn: Connection, table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Rows whose (source, row) the store does not hold yet, with their ``source_id``."""
    names = frame.select(pl.col(SOURCE).unique().alias("name"))
    bulk.upsert(conn, table_of(Source), names, ["name"], [], {})
    ids = pl.DataFrame(
        conn.execute(
            select(Source.name, Source.id).where(Source.name.in_(names.to_series().to_list()))
        ).all(),
        schema={SOURCE: pl.String, "source_id": pl.Int64},
        orient="row",
    )
    frame = frame.join(ids, on=SOURCE, how="left")
    rows = conn.execute(
        select(table.c.source_id, table.c.source_row).where(
            table.c.source_id.in_(ids.get_column("source_id").to_list())
        )
    ).all()
    if not rows:
        return frame
    seen = pl.DataFrame(rows, schema={"source_id": pl.Int64, ROW: pl.Int64}, orient="row")
    return frame.join(seen, on=["source_id", ROW], how="anti")


def _load_order_lines(conn: Connection, p: Prepared, _e: Entity) -> Added:
    frame = p.frames.get("order_lines")
    if frame is None:
        return {"orders": 0, "order_lines": 0}
    frame = _new_events(conn, table_of(OrderLine), frame)
    frame = _with_id(frame, conn, table_of(Channel), "channel_code", "channel_id")
    orders = frame.group_by("channel_id", "order_id", maintain_order=True).agg(
        pl.col("customer_id").first(), pl.col("ordered_at").first()
    )
    orders = _with_id(orders, conn, table_of(Customer), "customer_id", "customer_ref")
    orders_added = bulk.upsert(
        conn,
        table_of(Order),
        orders.select(
            "channel_id",
            pl.col("order_id").alias("number"),
            pl.col("customer_ref").alias("customer_id"),
            "ordered_at",
        ),
        ["channel_id", "number"],
        [],
        {},
    )
    numbers = orders.get_column("order_id").unique().to_list()
    order_ids = pl.DataFrame(
        _rows_in(conn, select(Order.channel_id, Order.number, Order.id), Order.number, numbers),
        schema={"channel_id": pl.Int64, "order_id": pl.String, "order_ref": pl.Int64},
        orient="row",
    )
    frame = frame.join(order_ids, on=["channel_id", "order_id"], how="left")
    frame = _with_id(frame, conn, table_of(Sku), "sku", "sku_id")
    frame = _with_id(frame, conn, table_of(Location), "location_code", "location_id")
    frame = _with_id(frame, conn, table_of(Campaign), "campaign_code", "campaign_id")
    rows = frame.select(
        pl.col("order_ref").alias("order_id"),
        "source_id",
        pl.col(ROW).alias("source_row"),
        pl.col("kind").fill_null("sale"),
        "sku_id",
        "location_id",
        "quantity",
        "unit_price",
        pl.col("discount").fill_null(pl.lit(0).cast(pl.Decimal(18, 4))),
        "coupon_code",
        "campaign_id",
        pl.col("returned_order_id").alias("returned_order_number"),
    )
    return {"orders": orders_added, "order_lines": bulk.insert(conn, table_of(OrderLine), rows)}


def _load_stock(conn: Connection, p: Prepared, _e: Entity) -> Added:
    """A stock count becomes a ``count`` movement (the change it makes) and the new balance.

    The movement's idempotency key is the file and row, so a count imported
    again is not applied twice over later movements.
    """
    frame = p.frames.get("stock")
    if frame is None:
        return {"balances": 0, "movements": 0}
    frame = frame.with_columns(
        pl.format("import:{}:{}", pl.col(SOURCE), pl.col(ROW)).alias("idempotency_key")
    )
    keys = frame.get_column("idempotency_key").to_list()
    done = [
        key
        for (key,) in _rows_in(
            conn, select(Movement.idempotency_key), Movement.idempotency_key, keys
        )
    ]
    frame = frame.filter(
        ~pl.col("idempotency_key").is_in(pl.Series(done, dtype=pl.String).implode())
    )
    frame = _with_id(frame, conn, table_of(Sku), "sku", "sku_id")
    frame = _with_id(frame, conn, table_of(Location), "location_code", "location_id")
    current = pl.DataFrame(
        conn.execute(select(Balance.sku_id, Balance.location_id, Balance.on_hand)).all(),
        schema={"sku_id": pl.Int64, "location_id": pl.Int64, "before": pl.Int64},
        orient="row",
    )
    frame = frame.join(current, on=["sku_id", "location_id"], how="left")
    now = local_now()
    movements = frame.select(
        "sku_id",
        "location_id",
        pl.lit("count").alias("kind"),
        (pl.col("on_hand") - pl.col("before").fill_null(0)).alias("quantity"),
        pl.col("on_hand").alias("on_hand_after"),
        pl.col("counted_at").fill_null(now).alias("occurred_at"),
        pl.lit("import").alias("actor"),
        pl.format("stock count in {} row {}", pl.col(SOURCE), pl.col(ROW)).alias("reason"),
        "idempotency_key",
    )
    balances = frame.select("sku_id", "location_id", "on_hand", "counted_at")
    added = bulk.upsert(
        conn, table_of(Balance), balances, ["sku_id", "location_id"], ["on_hand", "counted_at"], {}
    )
    return {"balances": added, "movements": bulk.insert(conn, table_of(Movement), movements)}


def _load_adjustments(conn: Connection, p: Prepared, _e: Entity) -> Added:
    frame = p.frames.get("stock_adjustments")
    if frame is None:
        return {"stock_adjustments": 0}
    frame = _new_events(conn, table_of(StockAdjustment), frame)
    frame = _with_id(frame, conn, table_of(Sku), "sku", "sku_id")
    frame = _with_id(frame, conn, table_of(Location), "location_code", "location_id")
    rows = frame.select(
        "source_id",
        pl.col(ROW).alias("source_row"),
        "sku_id",
        "location_id",
        "adjusted_at",
        "quantity",
        "reason",
    )
    return {"stock_adjustments": bulk.insert(conn, table_of(StockAdjustment), rows)}


def _load_purchase_orders(conn: Connection, p: Prepared, _e: Entity) -> Added:
    def build_po(c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        f = f.unique("po_number", keep="first", maintain_order=True)
        f = _with_id(f, c, table_of(Supplier), "supplier_code", "supplier_id")
        f = _with_id(f, c, table_of(Location), "location_code", "location_id")
        return f.select(
            pl.col("po_number").alias("number"), "supplier_id", "location_id", "ordered_on"
        )

    present = p.present.get("purchase_orders", set())
    p.present["purchase_orders"] = present | {"supplier_code", "location_code"}
    pos = _keyed(conn, p, "purchase_orders", table_of(PurchaseOrder), ["number"], build_po, {})

    def build_lines(c: Connection, f: pl.DataFrame) -> pl.DataFrame:
        f = _with_id(f, c, table_of(PurchaseOrder), "po_number", "purchase_order_id", "number")
        f = _with_id(f, c, table_of(Sku), "sku", "sku_id")
        return f.select("purchase_order_id", "sku_id", "quantity", "unit_cost", "promised_on")

    lines = _keyed(
        conn,
        p,
        "purchase_orders",
        table_of(PurchaseOrderLine),
        ["purchase_order_id", "sku_id"],
        build_lines,
        {},
    )
    p.present["purchase_orders"] = present
    return {"purchase_orders": pos, "purchase_order_lines": lines}


def _load_receipts(conn: Connection, p: Prepared, _e: Entity) -> Added:
    frame = p.frames.get("receipts")
    if frame is None:
        return {"receipts": 0}
    frame = _new_events(conn, table_of(Receipt), frame)
    lines = pl.DataFrame(
        conn.execute(
            select(PurchaseOrder.number, Sku.code, PurchaseOrderLine.id)
            .join(PurchaseOrderLine, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
            .join(Sku, Sku.id == PurchaseOrderLine.sku_id)
        ).all(),
        schema={"po_number": pl.String, "sku": pl.String, "purchase_order_line_id": pl.Int64},
        orient="row",
    )
    frame = frame.join(lines, on=["po_number", "sku"], how="left")
    rows = frame.select(
        "source_id",
        pl.col(ROW).alias("source_row"),
        "purchase_order_line_id",
        "received_on",
        "quantity",
    )
    return {"receipts": bulk.insert(conn, table_of(Receipt), rows)}


def _load_restock_notices(conn: Connection, p: Prepared, _e: Entity) -> Added:
    frame = p.frames.get("restock_notices")
    if frame is None:
        return {"restock_notices": 0}
    frame = _new_events(conn, table_of(RestockNotice), frame)
    frame = _with_id(frame, conn, table_of(Customer), "customer_id", "customer_ref")
    frame = _with_id(frame, conn, table_of(Sku), "sku", "sku_id")
    frame = _with_id(frame, conn, table_of(Channel), "channel_code", "channel_id")
    rows = frame.select(
        "source_id",
        pl.col(ROW).alias("source_row"),
        pl.col("customer_ref").alias("customer_id"),
        "sku_id",
        "channel_id",
        "signed_up_at",
        "notified_at",
    )
    return {"restock_notices": bulk.insert(conn, table_of(RestockNotice), rows)}


_LOADERS = {
    "suppliers": _load_suppliers,
    "products": _load_products,
    "channels": _load_channels,
    "locations": _load_locations,
    "listings": _load_listings,
    "customers": _load_customers,
    "campaigns": _load_campaigns,
    "campaign_skus": _load_campaign_skus,
    "order_lines": _load_order_lines,
    "stock": _load_stock,
    "stock_adjustments": _load_adjustments,
    "purchase_orders": _load_purchase_orders,
    "receipts": _load_receipts,
    "restock_notices": _load_restock_notices,
}
