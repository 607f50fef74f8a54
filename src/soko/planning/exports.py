"""Exports of the purchase-order list: CSV (UTF-8 or CP932), Excel, 発注書, supplier forecast.

Japanese sellers open CSV files in Excel, which reads a file without a byte
order mark as CP932 (Shift_JIS); hence both encodings: UTF-8 with a BOM so
Excel detects it, and CP932 for tools that expect it. A character CP932
cannot hold (rare in product names) becomes ``?`` rather than failing the
export. Excel files are written with xlsxwriter.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Literal

import polars as pl
import xlsxwriter
from sqlalchemy import Connection, Engine, func, select

from soko.planning.orders import LineView, PurchaseOrderView, plan_lines
from soko.store.tables import Product, Sku, Supplier

Encoding = Literal["utf-8", "cp932"]

COLUMNS = {
    "supplier": "仕入先 supplier",
    "supplier_name": "仕入先名 supplier name",
    "kind": "区分 kind",
    "sku": "SKU",
    "product_name": "商品名 product",
    "location": "納品先 location",
    "quantity": "発注数 quantity",
    "recommended_quantity": "推奨発注数 recommended",
    "case_pack": "入数 case pack",
    "moq": "最小発注数 MOQ",
    "unit_cost": "単価 unit cost",
    "amount": "金額 amount",
    "on_hand": "現在庫 on hand",
    "on_order": "発注残 on order",
    "reorder_point": "発注点 reorder point",
    "order_up_to": "補充点 order-up-to",
    "safety_stock": "安全在庫 safety stock",
    "service_level": "サービス率 service level",
    "excluded": "除外 excluded",
    "note": "メモ note",
    "purchase_order": "発注番号 purchase order",
}
KIND_LABEL = {"staple": "定番品 staple", "seasonal": "シーズン品 seasonal"}


def po_list_frame(lines: list[LineView]) -> pl.DataFrame:
    """The purchase-order list as a frame, one row per line, columns named in both languages."""
    rows = [
        {
            "supplier": v.supplier or "",
            "supplier_name": v.supplier_name or "",
            "kind": KIND_LABEL.get(v.kind, v.kind),
            "sku": v.sku,
            "product_name": v.product_name or "",
            "location": v.location,
            "quantity": v.quantity,
            "recommended_quantity": v.recommended_quantity,
            "case_pack": v.case_pack,
            "moq": v.moq,
            "unit_cost": float(v.unit_cost) if v.unit_cost is not None else None,
            "amount": float(v.unit_cost or 0) * v.quantity,
            "on_hand": v.on_hand,
            "on_order": v.on_order,
            "reorder_point": v.reorder_point,
            "order_up_to": v.order_up_to,
            "safety_stock": v.safety_stock,
            "service_level": float(v.service_level) if v.service_level is not None else None,
            "excluded": "yes" if v.excluded else "",
            "note": v.note or "",
            "purchase_order": v.purchase_order or "",
        }
        for v in lines
    ]
    frame = pl.DataFrame(
        rows,
        schema={
            name: (
                pl.Float64
                if name in ("unit_cost", "amount", "service_level")
                else pl.Int64
                if name
                in (
                    "quantity",
                    "recommended_quantity",
                    "case_pack",
                    "moq",
                    "on_hand",
                    "on_order",
                    "reorder_point",
                    "order_up_to",
                    "safety_stock",
                )
                else pl.String
            )
            for name in COLUMNS
        },
    )
    return frame.rename(COLUMNS)


def run_frame(conn: Connection, run_id: int) -> pl.DataFrame:
    return po_list_frame(plan_lines(conn, run_id))


def to_csv(frame: pl.DataFrame, encoding: Encoding) -> bytes:
    """The frame as CSV bytes: UTF-8 with a BOM, or CP932 (unencodable characters as ``?``)."""
    text = frame.write_csv()
    if encoding == "cp932":
        return text.encode("cp932", errors="replace")
    return text.encode("utf-8-sig")


def _write_sheet(book: xlsxwriter.Workbook, name: str, frame: pl.DataFrame) -> None:
    sheet = book.add_worksheet(name)
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
    money = book.add_format({"num_format": "#,##0"})
    for col, title in enumerate(frame.columns):
        sheet.write(0, col, title, bold)
        sheet.set_column(col, col, max(10, min(40, len(title) + 2)))
    for r, row in enumerate(frame.iter_rows(), start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, float):
                sheet.write_number(r, c, value, money)
            else:
                sheet.write(r, c, value)
    sheet.freeze_panes(1, 0)
    if frame.height:
        sheet.autofilter(0, 0, frame.height, frame.width - 1)


def to_xlsx(frame: pl.DataFrame) -> bytes:
    """The purchase-order list as an Excel workbook: staple and seasonal items on two sheets."""
    out = io.BytesIO()
    kind = COLUMNS["kind"]
    with xlsxwriter.Workbook(out, {"in_memory": True}) as book:
        _write_sheet(book, "定番品 staple", frame.filter(pl.col(kind) == KIND_LABEL["staple"]))
        _write_sheet(
            book, "シーズン品 seasonal", frame.filter(pl.col(kind) == KIND_LABEL["seasonal"])
        )
    return out.getvalue()


def purchase_order_xlsx(po: PurchaseOrderView, *, shop_name: str = "Soko") -> bytes:
    """The 発注書 (purchase order document) of one purchase order, for the supplier."""
    out = io.BytesIO()
    with xlsxwriter.Workbook(out, {"in_memory": True}) as book:
        sheet = book.add_worksheet("発注書")
        title = book.add_format({"bold": True, "font_size": 16})
        bold = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
        cell = book.add_format({"border": 1})
        money = book.add_format({"border": 1, "num_format": "#,##0"})
        date = book.add_format({"border": 1, "num_format": "yyyy-mm-dd"})
        sheet.write(0, 0, "発注書 Purchase order", title)
        info = [
            ("発注番号 No.", po.number),
            ("仕入先 Supplier", f"{po.supplier} {po.supplier_name or ''}".strip()),
            ("発注日 Ordered on", po.ordered_on.isoformat()),
            ("納品先 Deliver to", po.location),
            ("発注者 Ordered by", shop_name),
        ]
        for i, (label, value) in enumerate(info, start=2):
            sheet.write(i, 0, label, bold)
            sheet.write(i, 1, value)
        header = [
            "SKU",
            "商品名 Product",
            "数量 Quantity",
            "単価 Unit cost",
            "金額 Amount",
            "納期 Due",
        ]
        top = len(info) + 3
        for c, text in enumerate(header):
            sheet.write(top, c, text, bold)
        total = 0.0
        for r, line in enumerate(po.lines, start=top + 1):
            cost = float(line.unit_cost or 0)
            sheet.write(r, 0, line.sku, cell)
            sheet.write(r, 1, line.product_name or "", cell)
            sheet.write_number(r, 2, line.ordered, cell)
            sheet.write_number(r, 3, cost, money)
            sheet.write_number(r, 4, cost * line.ordered, money)
            if line.promised_on is not None:
                sheet.write_datetime(r, 5, dt.datetime.combine(line.promised_on, dt.time()), date)
            else:
                sheet.write(r, 5, "", cell)
            total += cost * line.ordered
        last = top + len(po.lines) + 1
        sheet.write(last, 3, "合計 Total", bold)
        sheet.write_number(last, 4, total, money)
        sheet.set_column(0, 0, 18)
        sheet.set_column(1, 1, 36)
        sheet.set_column(2, 5, 14)
    return out.getvalue()


def supplier_forecast_frame(daily: pl.DataFrame, skus: list[str], *, weeks: int) -> pl.DataFrame:
    """The next ``weeks`` weeks of forecast demand per SKU, summed over locations.

    ``daily`` is a forecast (``sku``, ``ds``, ``mean``, ``q10``…``q90`` as
    available); a week starts on the forecast's first day. The supplier sees
    expected units per week and, per SKU, the total over the weeks.
    """
    if daily.is_empty() or not skus:
        return pl.DataFrame(schema={"SKU": pl.String})
    start = daily["ds"].min()
    frame = (
        daily.filter(pl.col("sku").is_in(skus))
        .with_columns(
            week=((pl.col("ds").cast(pl.Date) - pl.lit(start).cast(pl.Date)).dt.total_days() // 7)
        )
        .filter(pl.col("week") < weeks)
        .group_by("sku", "week")
        .agg(units=pl.col("mean").sum())
        .with_columns(
            label=pl.format(
                "{}",
                (pl.lit(start).cast(pl.Date) + pl.duration(days=pl.col("week") * 7)).cast(
                    pl.String
                ),
            )
        )
    )
    wide = (
        frame.sort("week")
        .pivot(on="label", index="sku", values="units", sort_columns=False)
        .sort("sku")
        .fill_null(0.0)
    )
    week_cols = [c for c in wide.columns if c != "sku"]
    return wide.with_columns(
        [pl.col(c).round(1) for c in week_cols]
        + [pl.sum_horizontal(week_cols).round(1).alias("total")]
    ).rename({"sku": "SKU"})


def supplier_forecast_csv(engine: Engine, supplier: str, *, weeks: int) -> bytes:
    """The newest kept forecast of ``supplier``'s SKUs, weekly, as UTF-8 CSV (with a BOM).

    Empty but for its header when no forecast is kept yet (``soko plan`` keeps one).
    """
    from soko.forecast.service import latest_forecast

    with engine.connect() as conn:
        skus = list(
            conn.execute(
                select(Sku.code)
                .join(Product, Product.id == Sku.product_id)
                .join(
                    Supplier,
                    Supplier.id == func.coalesce(Sku.supplier_id, Product.supplier_id),
                )
                .where(Supplier.code == supplier)
                .order_by(Sku.code)
            ).scalars()
        )
    forecast = latest_forecast(engine)
    daily = forecast.daily if forecast is not None else pl.DataFrame()
    return to_csv(supplier_forecast_frame(daily, skus, weeks=weeks), "utf-8")
