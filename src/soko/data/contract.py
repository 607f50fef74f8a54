"""Soko's own import format: one file per entity, one row per record.

This module is the single source of the data contract. The importer validates
against it, the demo generator writes it, and ``docs/data-contract.md`` is
generated from it (``soko contract``), so code and documentation cannot drift.

A file's entity is recognised from its header: the entity whose required
columns are all present and whose columns cover the header best.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """How a cell is read; the text says what a user must write."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    WEEKDAYS = "weekdays"


KIND_HELP: dict[Kind, str] = {
    Kind.TEXT: "text",
    Kind.INTEGER: "a whole number, e.g. 12",
    Kind.DECIMAL: "a number, e.g. 1280 or 2.55",
    Kind.DATE: "a date YYYY-MM-DD (also YYYY/MM/DD)",
    Kind.DATETIME: "a date and time YYYY-MM-DD HH:MM[:SS] (also with /), in the shop's local time",
    Kind.BOOLEAN: "true or false (also 1/0, yes/no)",
    Kind.CHOICE: "one of the listed values",
    Kind.WEEKDAYS: "weekdays separated by commas, e.g. mon,thu",
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Column:
    """One column of an import file."""

    name: str
    kind: Kind
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    references: str | None = None  # "entity.column" that must exist

    def expected(self) -> str:
        """What a valid cell looks like, in the words an error message uses."""
        if self.kind is Kind.CHOICE:
            return "one of " + ", ".join(self.choices)
        if self.minimum is not None:
            noun = "a whole number" if self.kind is Kind.INTEGER else "a number"
            return f"{noun} ≥ {self.minimum}"
        return KIND_HELP[self.kind]


@dataclass(frozen=True)
class Entity:
    """One kind of import file."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # natural key: rows upsert by it; empty → identity is file + row
    depends_on: tuple[str, ...] = field(default=())

    @property
    def required(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


LOCATION_KINDS = ("warehouse", "store", "marketplace_warehouse", "3pl")
CHANNEL_KINDS = ("own_web", "amazon", "rakuten", "yahoo", "store_pos", "other")
ITEM_TYPES = ("staple", "seasonal")
LINE_KINDS = ("sale", "return")
CAMPAIGN_KINDS = ("marketplace_sale", "coupon", "markdown", "other")
TAX_RATES = ("8", "10")

ENTITIES: tuple[Entity, ...] = (
    Entity(
        "suppliers",
        "Who the seller buys from. Lead times here are the supplier's promise; Soko "
        "also measures the real ones from receipts.",
        (
            Column(
                "supplier_code", Kind.TEXT, "The seller's code for the supplier.", required=True
            ),
            Column("name", Kind.TEXT, "Display name."),
            Column("lead_time_days", Kind.INTEGER, "Promised lead time in days.", minimum=0),
            Column("capacity_per_week", Kind.INTEGER, "Most units it ships a week.", minimum=1),
            Column("country", Kind.TEXT, "ISO country code, e.g. JP, CN."),
        ),
        key=("supplier_code",),
    ),
    Entity(
        "products",
        "One row per SKU. Rows that share a product_code are the colours and sizes of one "
        "product (style); the product's fields are taken from its first row.",
        (
            Column("sku", Kind.TEXT, "The SKU code, unique across the catalogue.", required=True),
            Column("product_code", Kind.TEXT, "The product (style) code.", required=True),
            Column("product_name", Kind.TEXT, "Product name."),
            Column("jan", Kind.TEXT, "JAN / EAN barcode."),
            Column("color", Kind.TEXT, "Colour."),
            Column("size", Kind.TEXT, "Size."),
            Column("category", Kind.TEXT, "Category."),
            Column("brand", Kind.TEXT, "Brand."),
            Column(
                "item_type",
                Kind.CHOICE,
                "staple (定番品) or seasonal (シーズン品).",
                choices=ITEM_TYPES,
            ),
            Column("season_start", Kind.DATE, "First selling day of a seasonal item."),
            Column("season_end", Kind.DATE, "Last selling day of a seasonal item."),
            Column("unit_cost", Kind.DECIMAL, "Purchase cost per unit, without tax.", minimum=0),
            Column("price", Kind.DECIMAL, "Regular selling price per unit.", minimum=0),
            Column("tax_rate", Kind.CHOICE, "Consumption tax rate in %.", choices=TAX_RATES),
            Column("price_includes_tax", Kind.BOOLEAN, "Whether price includes tax (税込)."),
            Column("case_pack", Kind.INTEGER, "Units per case; orders round up to it.", minimum=1),
            Column("moq", Kind.INTEGER, "Minimum order quantity in units.", minimum=1),
            Column("supplier_code", Kind.TEXT, "Supplier.", references="suppliers.supplier_code"),
            Column(
                "lead_time_days",
                Kind.INTEGER,
                "Lead time for this SKU, if not the supplier's.",
                minimum=0,
            ),
            Column(
                "review_period_days", Kind.INTEGER, "Days between orders (発注間隔).", minimum=1
            ),
            Column("order_weekdays", Kind.WEEKDAYS, "Weekdays orders can be placed."),
            Column(
                "safety_factor",
                Kind.DECIMAL,
                "Safety factor z (安全係数) that overrides the chosen service level.",
                minimum=0,
            ),
            Column("made_to_order", Kind.BOOLEAN, "Made to order (取り寄せ): never stocked."),
        ),
        key=("sku",),
        depends_on=("suppliers",),
    ),
    Entity(
        "locations",
        "Where stock is: warehouses, stores, marketplace-run warehouses (Amazon FBA, "
        "Rakuten RSL) and 3PLs.",
        (
            Column(
                "location_code", Kind.TEXT, "The seller's code for the location.", required=True
            ),
            Column("name", Kind.TEXT, "Display name."),
            Column("kind", Kind.CHOICE, "Kind of location.", required=True, choices=LOCATION_KINDS),
            Column("prefecture", Kind.TEXT, "Prefecture (都道府県)."),
            Column(
                "channel_code",
                Kind.TEXT,
                "For a marketplace-run warehouse: the only channel it feeds.",
                references="channels.channel_code",
            ),
        ),
        key=("location_code",),
        depends_on=("channels",),
    ),
    Entity(
        "channels",
        "Where the seller sells.",
        (
            Column("channel_code", Kind.TEXT, "The seller's code for the channel.", required=True),
            Column("name", Kind.TEXT, "Display name."),
            Column("kind", Kind.CHOICE, "Kind of channel.", required=True, choices=CHANNEL_KINDS),
        ),
        key=("channel_code",),
    ),
    Entity(
        "listings",
        "A marketplace's own item ID for a SKU (ASIN, Rakuten item number, Yahoo! item code).",
        (
            Column(
                "channel_code",
                Kind.TEXT,
                "Channel.",
                required=True,
                references="channels.channel_code",
            ),
            Column("external_id", Kind.TEXT, "The channel's item ID.", required=True),
            Column("sku", Kind.TEXT, "SKU.", required=True, references="products.sku"),
        ),
        key=("channel_code", "external_id"),
        depends_on=("channels", "products"),
    ),
    Entity(
        "customers",
        "Customers known by the seller's own customer ID.",
        (
            Column("customer_id", Kind.TEXT, "The seller's customer ID.", required=True),
            Column("joined_on", Kind.DATE, "Date of sign-up or first purchase."),
            Column("prefecture", Kind.TEXT, "Prefecture or region."),
            Column("country", Kind.TEXT, "Country."),
        ),
        key=("customer_id",),
    ),
    Entity(
        "campaigns",
        "Sales events and coupons: a marketplace super-sale, a Prime-Day-like event, "
        "own-shop coupons, markdowns.",
        (
            Column("campaign_code", Kind.TEXT, "The seller's code.", required=True),
            Column("name", Kind.TEXT, "Display name."),
            Column("kind", Kind.CHOICE, "Kind.", choices=CAMPAIGN_KINDS),
            Column(
                "channel_code",
                Kind.TEXT,
                "Channel it runs on; empty for all.",
                references="channels.channel_code",
            ),
            Column("starts_on", Kind.DATE, "First day.", required=True),
            Column("ends_on", Kind.DATE, "Last day.", required=True),
            Column("discount_pct", Kind.DECIMAL, "Discount in % off the price.", minimum=0),
            Column("coupon_code", Kind.TEXT, "Coupon code customers enter."),
        ),
        key=("campaign_code",),
        depends_on=("channels",),
    ),
    Entity(
        "campaign_skus",
        "The SKUs a campaign covers; a campaign with none covers every SKU.",
        (
            Column(
                "campaign_code",
                Kind.TEXT,
                "Campaign.",
                required=True,
                references="campaigns.campaign_code",
            ),
            Column("sku", Kind.TEXT, "SKU.", required=True, references="products.sku"),
        ),
        key=("campaign_code", "sku"),
        depends_on=("campaigns", "products"),
    ),
    Entity(
        "order_lines",
        "Orders, one row per line. Rows with the same channel_code and order_id are one "
        "order. A return is a line of kind return with a positive quantity.",
        (
            Column("order_id", Kind.TEXT, "Order number on its channel.", required=True),
            Column(
                "channel_code",
                Kind.TEXT,
                "Channel.",
                required=True,
                references="channels.channel_code",
            ),
            Column(
                "location_code",
                Kind.TEXT,
                "Location the units left from (or came back to).",
                references="locations.location_code",
            ),
            Column(
                "customer_id",
                Kind.TEXT,
                "Customer; empty for an anonymous sale.",
                references="customers.customer_id",
            ),
            Column(
                "ordered_at",
                Kind.DATETIME,
                "When it was ordered (returned, for a return).",
                required=True,
            ),
            Column("sku", Kind.TEXT, "SKU.", required=True, references="products.sku"),
            Column("quantity", Kind.INTEGER, "Units.", required=True, minimum=1),
            Column(
                "unit_price",
                Kind.DECIMAL,
                "Price paid per unit before the line discount.",
                required=True,
                minimum=0,
            ),
            Column("discount", Kind.DECIMAL, "Discount on the line, in money.", minimum=0),
            Column("coupon_code", Kind.TEXT, "Coupon used."),
            Column(
                "campaign_code",
                Kind.TEXT,
                "Campaign the sale belongs to.",
                references="campaigns.campaign_code",
            ),
            Column("kind", Kind.CHOICE, "sale (default) or return.", choices=LINE_KINDS),
            Column("returned_order_id", Kind.TEXT, "For a return: the order it came from."),
        ),
        depends_on=("channels", "locations", "customers", "products", "campaigns"),
    ),
    Entity(
        "stock",
        "Stock on hand by SKU and location, as counted; a later count replaces an earlier one.",
        (
            Column("sku", Kind.TEXT, "SKU.", required=True, references="products.sku"),
            Column(
                "location_code",
                Kind.TEXT,
                "Location.",
                required=True,
                references="locations.location_code",
            ),
            Column("on_hand", Kind.INTEGER, "Units on hand.", required=True, minimum=0),
            Column("counted_at", Kind.DATETIME, "When it was counted."),
        ),
        key=("sku", "location_code"),
        depends_on=("products", "locations"),
    ),
    Entity(
        "stock_adjustments",
        "Signed changes of stock that are not sales or receipts: damage, loss, found units.",
        (
            Column("sku", Kind.TEXT, "SKU.", required=True, references="products.sku"),
            Column("location_code", Kind.TEXT, "Location.", references="locations.location_code"),
            Column("adjusted_at", Kind.DATETIME, "When.", required=True),
            Column(
                "quantity", Kind.INTEGER, "Signed units: negative takes stock away.", required=True
            ),
            Column("reason", Kind.TEXT, "Why."),
        ),
        depends_on=("products", "locations"),
    ),
    Entity(
        "purchase_orders",
        "Purchase orders, one row per line (PO number and SKU).",
        (
            Column("po_number", Kind.TEXT, "Purchase order number.", required=True),
            Column(
                "supplier_code",
                Kind.TEXT,
                "Supplier.",
                required=True,
                references="suppliers.supplier_code",
            ),
            Column(
                "location_code",
                Kind.TEXT,
                "Where it will be received.",
                required=True,
                references="locations.location_code",
            ),
            Column("ordered_on", Kind.DATE, "Date ordered.", required=True),
            Column("sku", Kind.TEXT, "SKU.", required=True, references="products.sku"),
            Column("quantity", Kind.INTEGER, "Units ordered.", required=True, minimum=1),
            Column("unit_cost", Kind.DECIMAL, "Cost per unit.", minimum=0),
            Column("promised_on", Kind.DATE, "Date the supplier promised."),
        ),
        key=("po_number", "sku"),
        depends_on=("suppliers", "locations", "products"),
    ),
    Entity(
        "receipts",
        "Goods received against a purchase-order line; several rows make a partial receipt.",
        (
            Column(
                "po_number",
                Kind.TEXT,
                "Purchase order number.",
                required=True,
                references="purchase_orders.po_number",
            ),
            Column("sku", Kind.TEXT, "SKU.", required=True, references="products.sku"),
            Column("received_on", Kind.DATE, "Date received.", required=True),
            Column("quantity", Kind.INTEGER, "Units received.", required=True, minimum=1),
        ),
        depends_on=("purchase_orders", "products"),
    ),
    Entity(
        "restock_notices",
        "A customer asked to be told when a sold-out SKU is back: the record of stockouts "
        "customers met.",
        (
            Column(
                "customer_id",
                Kind.TEXT,
                "Customer.",
                required=True,
                references="customers.customer_id",
            ),
            Column("sku", Kind.TEXT, "SKU.", required=True, references="products.sku"),
            Column(
                "channel_code",
                Kind.TEXT,
                "Channel where they signed up.",
                references="channels.channel_code",
            ),
            Column("signed_up_at", Kind.DATETIME, "When they signed up.", required=True),
            Column("notified_at", Kind.DATETIME, "When they were told it is back."),
        ),
        depends_on=("customers", "products", "channels"),
    ),
)

BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}


def load_order() -> list[Entity]:
    """Entities in an order where everything an entity references is loaded first."""
    done: list[Entity] = []
    seen: set[str] = set()

    def visit(entity: Entity) -> None:
        if entity.name in seen:
            return
        seen.add(entity.name)
        for dep in entity.depends_on:
            visit(BY_NAME[dep])
        done.append(entity)

    for entity in ENTITIES:
        visit(entity)
    return done


def detect_entity(header: list[str]) -> Entity | None:
    """The entity a header belongs to: all its required columns present, best coverage."""
    present = {h.strip().lower() for h in header}
    best: tuple[float, Entity] | None = None
    for entity in ENTITIES:
        if not entity.required <= present:
            continue
        known = present & set(entity.names)
        score = len(known) / len(present | entity.required) + len(entity.required) / 100
        if best is None or score > best[0]:
            best = (score, entity)
    return best[1] if best else None


def render_markdown() -> str:
    """``docs/data-contract.md``: every entity and column, from this module."""
    out = [
        "# Soko data contract",
        "",
        "Generated from `src/soko/data/contract.py` by `soko contract`; do not edit by hand.",
        "",
        "Soko's own import format has one file per entity (CSV in UTF-8 or CP932, Parquet, "
        "or Excel). A file's entity is recognised from its header, so file names are free. "
        "Column names are lower case; columns not listed are refused. Required columns are "
        "marked **yes**. Codes refer to records in the same import or already in the store.",
        "",
        "Rows of an entity with a key upsert by that key: importing a changed row updates the "
        "record, and an empty cell keeps the stored value. Rows of an entity without a key are "
        "events; an event's identity is its source file name and row number, so importing the "
        "same file twice changes nothing, while identical rows inside one file are all kept.",
        "",
        "Numbers may carry thousands separators and a yen sign (`¥1,280`); dates may use `/` "
        "(`2024/3/1`). Times are the shop's local time.",
        "",
        "Entities load in this order: " + ", ".join(f"`{e.name}`" for e in load_order()) + ".",
        "",
    ]
    for entity in ENTITIES:
        out += [f"## `{entity.name}`", "", entity.description, ""]
        key = ", ".join(f"`{k}`" for k in entity.key) if entity.key else "file and row (event)"
        out += [f"Key: {key}.", ""]
        out += ["| column | required | type | meaning |", "|---|---|---|---|"]
        for col in entity.columns:
            meaning = col.description
            if col.references:
                meaning += f" Refers to `{col.references}`."
            out.append(
                f"| `{col.name}` | {'**yes**' if col.required else ''} | {col.expected()} "
                f"| {meaning} |"
            )
        out.append("")
    return "\n".join(out)
