"""Column mappings: from a file's own layout to Soko's import format.

A mapping turns one file into parts, each a frame of text cells in one
entity's contract columns, and counts how often each of its written rules
(``docs/import-rules.md``) applied. Validation and loading are the same for
every mapping, so a mapped export is checked exactly as Soko's own files are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from soko.data.contract import detect_entity
from soko.data.readers import ROW, RawTable
from soko.data.validate import Problem, unknown_columns
from soko.errors import ErrorCode


@dataclass(frozen=True)
class Part:
    """Text cells for one entity, taken from one file."""

    entity: str
    frame: pl.DataFrame
    shown_names: dict[str, str] = field(default_factory=dict)
    insert_only: bool = False  # master data derived from an export never overwrites the store's


@dataclass(frozen=True)
class MappedFile:
    source: str
    mapping: str
    parts: list[Part]
    rules: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


ONLINE_RETAIL_HEADER = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
SHOPIFY_REQUIRED = ("Name", "Created at", "Lineitem quantity", "Lineitem price", "Lineitem sku")


def detect_mapping(header: list[str]) -> str | None:
    """Which mapping a header belongs to, or None."""
    if set(ONLINE_RETAIL_HEADER) <= set(header):
        return "online-retail"
    if set(SHOPIFY_REQUIRED) <= set(header):
        return "shopify"
    if detect_entity([h for h in header if h != ROW]) is not None:
        return "soko"
    return None


def map_file(raw: RawTable, mapping: str | None) -> MappedFile:
    """Apply the forced or detected mapping to one file."""
    header = [c for c in raw.frame.columns if c != ROW]
    name = mapping or detect_mapping(header)
    if name is None:
        return MappedFile(raw.source, "unknown", [], problems=[_unknown_format(raw.source, header)])
    return MAPPINGS[name](raw)


def _unknown_format(source: str, header: list[str]) -> Problem:
    return Problem(
        source,
        1,
        "",
        ", ".join(header[:12]),
        "the header of a Soko import file (see docs/data-contract.md), a Shopify orders "
        "export or the Online Retail file",
        ErrorCode.unknown_format,
    )


def map_soko(raw: RawTable) -> MappedFile:
    """Soko's own format: column names are case-insensitive; the entity comes from the header."""
    frame = raw.frame.rename({c: c.lower() for c in raw.frame.columns if c != ROW})
    header = [c for c in frame.columns if c != ROW]
    entity = detect_entity(header)
    if entity is None:
        return MappedFile(raw.source, "soko", [], problems=[_unknown_format(raw.source, header)])
    problems = unknown_columns(entity, header, raw.source)
    return MappedFile(raw.source, "soko", [Part(entity.name, frame)], problems=problems)


# --- UCI Online Retail (Chen 2015) ---------------------------------------------------------

OR_CHANNEL = "web"
OR_LOCATION = "uk-warehouse"
OR_NAMES = {
    "order_id": "InvoiceNo",
    "sku": "StockCode",
    "quantity": "Quantity",
    "ordered_at": "InvoiceDate",
    "adjusted_at": "InvoiceDate",
    "unit_price": "UnitPrice",
    "customer_id": "CustomerID",
    "country": "Country",
    "product_name": "Description",
    "reason": "Description",
    "price": "UnitPrice",
}


def map_online_retail(raw: RawTable) -> MappedFile:
    """The UCI Online Retail file (a UK gift-ware web shop, 2010-12-01 .. 2011-12-09).

    Rules, each counted in the report (a line can meet more than one; the
    action is taken in this order):
    ``bad_debt`` invoices "A…" are accounting entries: skipped.
    ``non_product_code`` stock codes that do not start with five digits (POST, M, D,
    BANK CHARGES, DCGS…, gift_0001_…) are fees and vouchers, not goods: skipped.
    ``cancellation`` invoices "C…" become return lines of their goods.
    ``negative_without_cancellation`` lines become stock adjustments (damage, loss).
    ``zero_price`` lines are kept at price 0 (free goods) or as adjustments.
    ``no_customer`` lines are kept as anonymous sales.
    ``exact_duplicate`` lines are kept: a line's identity is its row, not its content.
    ``invoice_spans_minutes`` invoices whose lines carry more than one time take
    the first line's time.
    """
    f = raw.frame
    inv = pl.col("InvoiceNo").str.strip_chars()
    code = pl.col("StockCode").str.strip_chars()
    qty = pl.col("Quantity").str.strip_chars().cast(pl.Int64, strict=False)
    price = pl.col("UnitPrice").str.strip_chars().cast(pl.Float64, strict=False)
    customer = pl.col("CustomerID").str.strip_chars().str.replace(r"\.0+$", "")
    customer = pl.when(customer == "").then(None).otherwise(customer)
    f = f.with_columns(
        inv.str.starts_with("C").fill_null(False).alias("__cancel"),
        inv.str.starts_with("A").fill_null(False).alias("__bad_debt"),
        code.str.contains(r"^\d{5}").fill_null(False).alias("__product"),
        (qty < 0).fill_null(False).alias("__negative"),
        customer.alias("__customer"),
    )
    cancel, negative = pl.col("__cancel"), pl.col("__negative")
    bad_debt, product = pl.col("__bad_debt"), pl.col("__product")
    content = [c for c in raw.frame.columns if c != ROW]
    spans = (
        f.group_by("InvoiceNo")
        .agg(pl.col("InvoiceDate").n_unique().alias("n"))
        .filter(pl.col("n") > 1)
    )
    non_product = f.filter(~product)
    rules = {
        "lines": f.height,
        "cancellation": f.filter(cancel).height,
        "negative_without_cancellation": f.filter(~cancel & negative).height,
        "zero_price": f.filter(price == 0).height,
        "bad_debt": f.filter(bad_debt).height,
        "non_product_code": non_product.height,
        "non_product_code_distinct": non_product.get_column("StockCode").n_unique(),
        "no_customer": f.filter(pl.col("__customer").is_null()).height,
        "exact_duplicate": f.height - f.select(content).unique().height,
        "invoice_spans_minutes": spans.height,
    }
    goods = f.filter(product & ~bad_debt)
    lines = goods.filter(cancel | ~negative)
    adjustments = goods.filter(~cancel & negative)
    first_time = pl.col("InvoiceDate").first().over("InvoiceNo")
    quantity = (
        pl.when(qty < 0)
        .then((-qty).cast(pl.String))
        .otherwise(pl.col("Quantity").str.strip_chars())
    )
    order_lines = lines.select(
        pl.col(ROW),
        inv.alias("order_id"),
        pl.lit(OR_CHANNEL).alias("channel_code"),
        pl.lit(OR_LOCATION).alias("location_code"),
        pl.col("__customer").alias("customer_id"),
        first_time.alias("ordered_at"),
        code.alias("sku"),
        quantity.alias("quantity"),
        pl.col("UnitPrice").alias("unit_price"),
        pl.when(cancel).then(pl.lit("return")).otherwise(pl.lit("sale")).alias("kind"),
    )
    stock_adjustments = adjustments.select(
        pl.col(ROW),
        code.alias("sku"),
        pl.lit(OR_LOCATION).alias("location_code"),
        pl.col("InvoiceDate").alias("adjusted_at"),
        pl.col("Quantity").str.strip_chars().alias("quantity"),
        pl.coalesce(pl.col("Description"), pl.lit("negative quantity without cancellation")).alias(
            "reason"
        ),
    )
    sale_price = pl.when((price > 0) & ~cancel).then(price)
    products = (
        goods.with_columns(sale_price.alias("__price"))
        .group_by(code.alias("sku"), maintain_order=True)
        .agg(
            pl.col(ROW).first(),
            pl.col("Description").drop_nulls().mode().sort().first().alias("product_name"),
            pl.col("__price").median().round(2).cast(pl.String).alias("price"),
        )
        .with_columns(pl.col("sku").str.slice(0, 5).alias("product_code"))
    )
    customers = (
        f.filter(pl.col("__customer").is_not_null())
        .group_by(pl.col("__customer").alias("customer_id"), maintain_order=True)
        .agg(
            pl.col(ROW).first(),
            pl.col("Country").first().alias("country"),
            pl.col("InvoiceDate").min().str.slice(0, 10).alias("joined_on"),
        )
    )
    first_row = f.get_column(ROW).min() if f.height else 2
    channels = pl.DataFrame(
        {
            ROW: [first_row],
            "channel_code": [OR_CHANNEL],
            "name": ["Online Retail web shop"],
            "kind": ["own_web"],
        }
    )
    locations = pl.DataFrame(
        {
            ROW: [first_row],
            "location_code": [OR_LOCATION],
            "name": ["UK warehouse"],
            "kind": ["warehouse"],
            "prefecture": [None],
            "channel_code": [None],
        },
        schema_overrides={"prefecture": pl.String, "channel_code": pl.String},
    )
    return MappedFile(
        raw.source,
        "online-retail",
        [
            Part("channels", channels, OR_NAMES, insert_only=True),
            Part("locations", locations, OR_NAMES, insert_only=True),
            Part("products", products, OR_NAMES, insert_only=True),
            Part("customers", customers, OR_NAMES, insert_only=True),
            Part("order_lines", order_lines, OR_NAMES),
            Part("stock_adjustments", stock_adjustments, OR_NAMES),
        ],
        rules,
    )


# --- Shopify orders export -----------------------------------------------------------------

SHOPIFY_CHANNEL = "shopify"
SHOPIFY_NAMES = {
    "order_id": "Name",
    "ordered_at": "Created at",
    "quantity": "Lineitem quantity",
    "unit_price": "Lineitem price",
    "sku": "Lineitem sku",
    "customer_id": "Email",
    "discount": "Lineitem discount",
    "coupon_code": "Discount Code",
    "product_name": "Lineitem name",
    "price": "Lineitem price",
    "brand": "Vendor",
}


def map_shopify(raw: RawTable) -> MappedFile:
    """A Shopify orders export: one row per line item, order fields on the first row only.

    Rules: ``order_fields_filled_down`` order-level cells (email, time, discount code,
    cancelled) blank on an order's later rows are taken from its first row;
    ``cancelled_order`` lines of orders with "Cancelled at" are skipped;
    ``no_sku`` line items without a SKU (custom items, tips) are skipped;
    ``customer_by_email`` customers are identified by lower-cased email, and lines
    without one are anonymous; ``time_zone_converted`` times with an offset
    (+0900) are converted to the shop's local time; ``new_sku_from_order`` SKUs not
    in the catalogue are created from the line item's name and price, never
    overwriting the catalogue; ``refund_not_itemised`` orders with a refunded
    amount are counted (the export does not say which lines came back).
    """
    f = raw.frame
    order_level = [
        c
        for c in (
            "Email",
            "Created at",
            "Discount Code",
            "Cancelled at",
            "Refunded Amount",
            "Vendor",
        )
        if c in f.columns
    ]
    blank_later = (
        f.select(
            pl.any_horizontal(
                (pl.col(c).is_null() & pl.col(c).drop_nulls().first().over("Name").is_not_null())
                for c in order_level
            )
        )
        .to_series()
        .sum()
        if order_level
        else 0
    )
    f = f.with_columns(*(pl.col(c).fill_null(strategy="forward").over("Name") for c in order_level))
    cancelled = (
        pl.col("Cancelled at").str.strip_chars().fill_null("") != ""
        if "Cancelled at" in f.columns
        else pl.lit(False)
    )
    sku = pl.col("Lineitem sku").str.strip_chars()
    has_sku = sku.is_not_null() & (sku != "")
    email = pl.col("Email").str.strip_chars().str.to_lowercase() if "Email" in f.columns else None
    created = pl.col("Created at").str.strip_chars()
    offset = created.str.extract(r"([+-]\d{2}:?\d{2})$")
    f = f.with_columns(cancelled.alias("__cancelled"), has_sku.alias("__has_sku"))
    kept = f.filter(~pl.col("__cancelled") & pl.col("__has_sku"))
    refunded = (
        f.filter(pl.col("Refunded Amount").cast(pl.Float64, strict=False) > 0)
        .get_column("Name")
        .n_unique()
        if "Refunded Amount" in f.columns
        else 0
    )
    local = (
        created.str.to_datetime("%Y-%m-%d %H:%M:%S %z", strict=False)
        .dt.convert_time_zone(_shop_timezone())
        .dt.replace_time_zone(None)
        .dt.strftime("%Y-%m-%d %H:%M:%S")
    )
    ordered_at = pl.when(offset.is_not_null()).then(local).otherwise(created)
    customer = (
        pl.when(email != "").then(email).otherwise(None)
        if email is not None
        else pl.lit(None, pl.String)
    )
    order_lines = kept.select(
        pl.col(ROW),
        pl.col("Name").str.strip_chars().alias("order_id"),
        pl.lit(SHOPIFY_CHANNEL).alias("channel_code"),
        customer.alias("customer_id"),
        ordered_at.alias("ordered_at"),
        sku.alias("sku"),
        pl.col("Lineitem quantity").alias("quantity"),
        pl.col("Lineitem price").alias("unit_price"),
        *(
            [pl.col("Lineitem discount").alias("discount")]
            if "Lineitem discount" in f.columns
            else []
        ),
        *([pl.col("Discount Code").alias("coupon_code")] if "Discount Code" in f.columns else []),
    )
    name = pl.col("Lineitem name").str.strip_chars() if "Lineitem name" in f.columns else sku
    products = (
        kept.group_by(sku.alias("sku"), maintain_order=True)
        .agg(
            pl.col(ROW).first(),
            name.first().alias("product_name"),
            pl.col("Lineitem price").first().alias("price"),
            *([pl.col("Vendor").first().alias("brand")] if "Vendor" in f.columns else []),
        )
        .with_columns(
            pl.col("product_name")
            .str.split(" - ")
            .list.first()
            .str.slice(0, 64)
            .fill_null(pl.col("sku"))
            .alias("product_code")
        )
    )
    customers = (
        kept.select(pl.col(ROW), customer.alias("customer_id"))
        .filter(pl.col("customer_id").is_not_null())
        .unique("customer_id", keep="first", maintain_order=True)
    )
    first_row = f.get_column(ROW).min() if f.height else 2
    channels = pl.DataFrame(
        {
            ROW: [first_row],
            "channel_code": [SHOPIFY_CHANNEL],
            "name": ["Shopify"],
            "kind": ["own_web"],
        }
    )
    rules = {
        "lines": f.height,
        "order_fields_filled_down": int(blank_later),
        "cancelled_order": f.filter(pl.col("__cancelled")).height,
        "no_sku": f.filter(~pl.col("__has_sku")).height,
        "customer_by_email": customers.height,
        "time_zone_converted": kept.filter(offset.is_not_null()).height,
        "refund_not_itemised": int(refunded),
    }
    return MappedFile(
        raw.source,
        "shopify",
        [
            Part("channels", channels, SHOPIFY_NAMES, insert_only=True),
            Part("products", products, SHOPIFY_NAMES, insert_only=True),
            Part("customers", customers, SHOPIFY_NAMES, insert_only=True),
            Part("order_lines", order_lines, SHOPIFY_NAMES),
        ],
        rules,
    )


def _shop_timezone() -> str:
    from soko.settings import get_settings

    return get_settings().timezone


MAPPINGS: dict[str, Callable[[RawTable], MappedFile]] = {
    "soko": map_soko,
    "online-retail": map_online_retail,
    "shopify": map_shopify,
}
