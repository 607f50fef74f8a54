"""What a planner tells the forecast: which spike days were one-offs, and sales plans.

The store side of two inputs :func:`soko.forecast.service.load_history` reads:

- **Spike tags** (``forecast_spike_tags``). :func:`soko.forecast.history.flag_spikes`
  flags days far above a SKU's recent level for review; a person then says what each
  was. A one-off (a TV mention, a bulk order; ``leave_out``) is replaced by the trailing
  level in the history the forecast learns from; real demand (a campaign peak) is kept
  and no longer awaits review. Any day that has happened may be tagged, flagged or not.
- **Sales plans** (``sales_plans``, 販売計画数): a buyer's units for a SKU over a period,
  spread evenly over its days; they stand in for demand while the SKU is new (under
  :data:`soko.forecast.analogues.LAUNCH_DAYS` days of history).

Each change takes effect at the next forecast run (``soko forecast``, or a plan run).
Refusals are :class:`InputRefused`: an error code, the field at fault, and the facts a
page needs to word the message in its own language; nothing is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from soko.errors import ErrorCode, SokoError
from soko.forecast.history import LONG_WINDOW
from soko.forecast.service import NoSalesHistory, StoreHistory, load_history
from soko.store.tables import ForecastRun, SalesPlan, Sku, SpikeTag, table_of

MAX_UNITS = 10_000_000
NOTE_LENGTH = 300


class InputRefused(SokoError):
    """A forecast input refused: ``field`` names what to fix, ``facts`` the values behind
    the refusal. The message reads ``field: why``, as the API's validation errors do."""

    def __init__(self, code: ErrorCode, field: str, message: str, **facts: str) -> None:
        super().__init__(code, f"{field}: {message}")
        self.field = field
        self.facts = facts


@dataclass(frozen=True)
class SpikeTagView:
    id: int
    sku: str
    day: dt.date
    leave_out: bool
    note: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class SalesPlanView:
    id: int
    sku: str
    starts_on: dt.date
    ends_on: dt.date
    units: int

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    @property
    def per_day(self) -> float:
        """The daily demand the plan stands for (its units spread evenly)."""
        return self.units / self.days


@dataclass(frozen=True)
class FlaggedDay:
    """A day flagged as a spike and not yet reviewed: units sold that day (every location),
    and the SKU's mean daily sales over the ``LONG_WINDOW`` days before it."""

    sku: str
    day: dt.date
    sales: int
    usual: float


@dataclass(frozen=True)
class FlaggedDays:
    """Flagged days awaiting review in the history before ``as_of``: that of the latest
    forecast run (``run_id``), else the day after the last order; None with no sales."""

    as_of: dt.date | None
    run_id: int | None
    days: list[FlaggedDay]


# ── spike tags ──


def require_sku(conn: Connection, code: str) -> int:
    """The SKU's id; refused (``unknown_sku``) when the store has none by that code."""
    found = conn.execute(select(Sku.id).where(Sku.code == code)).scalar_one_or_none()
    if found is None:
        raise InputRefused(ErrorCode.unknown_sku, "sku", f"no SKU {code!r} in the store.", sku=code)
    return int(found)


def known_sku(conn: Connection, code: str) -> bool:
    return conn.execute(select(Sku.id).where(Sku.code == code)).first() is not None


def _tag_views(conn: Connection, *where: object) -> list[SpikeTagView]:
    rows = conn.execute(
        select(
            SpikeTag.id,
            Sku.code,
            SpikeTag.day,
            SpikeTag.leave_out,
            SpikeTag.note,
            SpikeTag.created_at,
        )
        .join(Sku, Sku.id == SpikeTag.sku_id)
        .where(*where)  # type: ignore[arg-type]
        .order_by(SpikeTag.day.desc(), Sku.code)
    ).all()
    return [
        SpikeTagView(int(r.id), r.code, r.day, bool(r.leave_out), r.note, r.created_at)
        for r in rows
    ]


def spike_tags(
    conn: Connection, *, sku: str | None = None, leave_out: bool | None = None
) -> list[SpikeTagView]:
    """Reviewed days, newest first; of one SKU, or of one verdict, when asked."""
    where: list[object] = []
    if sku is not None:
        where.append(Sku.code == sku)
    if leave_out is not None:
        where.append(SpikeTag.leave_out.is_(leave_out))
    return _tag_views(conn, *where)


def tag_day(
    conn: Connection,
    *,
    sku: str,
    day: dt.date,
    today: dt.date,
    now: dt.datetime,
    leave_out: bool = True,
    note: str | None = None,
) -> SpikeTagView:
    """Record the verdict on ``day`` of ``sku``: a one-off left out (``leave_out``), or real
    demand kept. Refused for a day after ``today`` and for a day already tagged."""
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_LENGTH:
        raise InputRefused(ErrorCode.validation_error, "note", f"at most {NOTE_LENGTH} characters.")
    if day > today:
        raise InputRefused(
            ErrorCode.validation_error,
            "day",
            f"{day} is in the future (today is {today}); tag a day whose sales happened.",
            day=day.isoformat(),
            today=today.isoformat(),
        )
    sku_id = require_sku(conn, sku)
    table = table_of(SpikeTag)
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
    # One statement against the unique (sku, day): two people tagging the same day at
    # once get one tag and one refusal, never a server error.
    made = conn.execute(
        insert.values(sku_id=sku_id, day=day, leave_out=leave_out, note=note, created_at=now)
        .on_conflict_do_nothing(index_elements=["sku_id", "day"])
        .returning(table.c.id)
    ).scalar_one_or_none()
    if made is None:
        (kept,) = _tag_views(conn, SpikeTag.sku_id == sku_id, SpikeTag.day == day)
        verdict = "a one-off" if kept.leave_out else "real demand"
        raise InputRefused(
            ErrorCode.spike_tag_exists,
            "day",
            f"{day} of {sku} is already tagged as {verdict} (tag {kept.id}); "
            "remove that tag first to change it.",
            day=day.isoformat(),
            tag_id=str(kept.id),
        )
    (view,) = _tag_views(conn, SpikeTag.id == made)
    return view


def untag(conn: Connection, tag_id: int) -> SpikeTagView:
    """Remove a tag: the day is learnt from as it sold again (and, if flagged, awaits
    review again). Returns the removed tag."""
    found = _tag_views(conn, SpikeTag.id == tag_id)
    if not found:
        raise InputRefused(
            ErrorCode.not_found, "tag_id", f"no spike tag {tag_id}.", tag_id=str(tag_id)
        )
    conn.execute(delete(SpikeTag).where(SpikeTag.id == tag_id))
    return found[0]


# ── sales plans ──


def _plan_views(conn: Connection, *where: object) -> list[SalesPlanView]:
    rows = conn.execute(
        select(SalesPlan.id, Sku.code, SalesPlan.starts_on, SalesPlan.ends_on, SalesPlan.units)
        .join(Sku, Sku.id == SalesPlan.sku_id)
        .where(*where)  # type: ignore[arg-type]
        .order_by(Sku.code, SalesPlan.starts_on)
    ).all()
    return [SalesPlanView(int(r.id), r.code, r.starts_on, r.ends_on, int(r.units)) for r in rows]


def sales_plans(conn: Connection, *, sku: str | None = None) -> list[SalesPlanView]:
    """Sales plans by SKU and start; of one SKU when asked."""
    return _plan_views(conn, *([Sku.code == sku] if sku is not None else []))


def _lock_plans_of(conn: Connection, code: str) -> int:
    """The SKU's id, its row locked until the transaction ends, in one statement.

    A write that changes nothing (``id = id``) rather than ``SELECT … FOR UPDATE``: it
    locks the row on PostgreSQL and takes SQLite's write lock at once, so the overlap
    check that follows cannot race another plan for the SKU; unlike the stock lock
    (:func:`soko.ledger.service.lock_sku_by_code`) it leaves ``stock_version`` alone.
    """
    found = conn.execute(
        update(Sku).where(Sku.code == code).values(id=Sku.id).returning(Sku.id)
    ).scalar_one_or_none()
    if found is None:
        raise InputRefused(ErrorCode.unknown_sku, "sku", f"no SKU {code!r} in the store.", sku=code)
    return int(found)


def set_sales_plan(
    conn: Connection, *, sku: str, starts_on: dt.date, ends_on: dt.date, units: int
) -> tuple[SalesPlanView, bool]:
    """Plan ``units`` of ``sku`` from ``starts_on`` to ``ends_on`` (both included): a new
    plan, or the SKU's plan starting that day replaced. True when new. Refused when the
    period ends before it starts, the units are negative, or another plan of the SKU
    overlaps the period (two plans would be added up)."""
    if ends_on < starts_on:
        raise InputRefused(
            ErrorCode.validation_error,
            "ends_on",
            f"{ends_on} is before starts_on ({starts_on}); a plan ends on or after its first day.",
            starts_on=starts_on.isoformat(),
            ends_on=ends_on.isoformat(),
        )
    if not 0 <= units <= MAX_UNITS:
        raise InputRefused(
            ErrorCode.invalid_quantity,
            "units",
            f"{units} is not a number of units from 0 to {MAX_UNITS:,}.",
            units=str(units),
        )
    sku_id = _lock_plans_of(conn, sku)
    clash = _plan_views(
        conn,
        SalesPlan.sku_id == sku_id,
        SalesPlan.starts_on != starts_on,
        SalesPlan.starts_on <= ends_on,
        SalesPlan.ends_on >= starts_on,
    )
    if clash:
        other = clash[0]
        raise InputRefused(
            ErrorCode.sales_plan_overlaps,
            "starts_on",
            f"{starts_on} – {ends_on} overlaps the plan of {other.starts_on} – "
            f"{other.ends_on} (plan {other.id}); change or remove that plan first.",
            starts_on=other.starts_on.isoformat(),
            ends_on=other.ends_on.isoformat(),
            plan_id=str(other.id),
        )
    replaced = conn.execute(
        update(SalesPlan)
        .where(SalesPlan.sku_id == sku_id, SalesPlan.starts_on == starts_on)
        .values(ends_on=ends_on, units=units)
    ).rowcount
    if not replaced:
        conn.execute(
            table_of(SalesPlan)
            .insert()
            .values(sku_id=sku_id, starts_on=starts_on, ends_on=ends_on, units=units)
        )
    (view,) = _plan_views(conn, SalesPlan.sku_id == sku_id, SalesPlan.starts_on == starts_on)
    return view, not replaced


def remove_sales_plan(conn: Connection, plan_id: int) -> SalesPlanView:
    """Remove a sales plan; returns it."""
    found = _plan_views(conn, SalesPlan.id == plan_id)
    if not found:
        raise InputRefused(
            ErrorCode.not_found, "plan_id", f"no sales plan {plan_id}.", plan_id=str(plan_id)
        )
    conn.execute(delete(SalesPlan).where(SalesPlan.id == plan_id))
    return found[0]


# ── flagged days awaiting review ──


def reviewed_days(conn: Connection, *, sku: str | None = None) -> pl.DataFrame:
    """``sku``, ``ds`` of every tagged day, whatever its verdict."""
    query = select(Sku.code, SpikeTag.day).join(Sku, Sku.id == SpikeTag.sku_id)
    if sku is not None:
        query = query.where(Sku.code == sku)
    rows = conn.execute(query).all()
    return pl.DataFrame(
        {"sku": [r.code for r in rows], "ds": [r.day for r in rows]},
        schema={"sku": pl.String, "ds": pl.Date},
    )


def awaiting_review(demand: pl.DataFrame, reviewed: pl.DataFrame) -> list[FlaggedDay]:
    """Days of ``demand`` (a :class:`StoreHistory`'s) flagged as a spike at any location and
    not in ``reviewed``, newest first."""
    daily = (
        demand.group_by("sku", "ds")
        .agg(pl.col("sales").sum(), pl.col("spike").any())
        .sort("sku", "ds")
        .with_columns(
            pl.col("sales")
            .shift(1)
            .rolling_mean(window_size=LONG_WINDOW, min_samples=1)
            .over("sku")
            .fill_null(0.0)
            .alias("usual")
        )
        .filter(pl.col("spike"))
        .join(reviewed, on=["sku", "ds"], how="anti")
        .sort(["ds", "sku"], descending=[True, False])
    )
    return [
        FlaggedDay(r["sku"], r["ds"], round(r["sales"]), float(r["usual"]))
        for r in daily.iter_rows(named=True)
    ]


def latest_run(engine: Engine) -> tuple[int, dt.date] | None:
    """The id and ``as_of`` of the newest forecast run, without its rows."""
    with engine.connect() as conn:
        row = conn.execute(
            select(ForecastRun.id, ForecastRun.as_of).order_by(ForecastRun.id.desc()).limit(1)
        ).first()
    return None if row is None else (int(row.id), row.as_of)


def flagged_days(
    engine: Engine, *, sku: str | None = None, history: StoreHistory | None = None
) -> FlaggedDays:
    """Flagged days awaiting review in the history the latest forecast run learnt from
    (of one SKU when asked). The stored run keeps only how many days it flagged, so they
    are found again with :func:`soko.forecast.history.flag_spikes` on the sales; pass
    ``history`` when it is already loaded for that ``as_of``."""
    run = latest_run(engine)
    if history is None:
        try:
            history = load_history(engine, as_of=run[1] if run else None, sku=sku)
        except NoSalesHistory:
            return FlaggedDays(as_of=None, run_id=run[0] if run else None, days=[])
    with engine.connect() as conn:
        reviewed = reviewed_days(conn, sku=sku)
    demand = history.demand if sku is None else history.demand.filter(pl.col("sku") == sku)
    return FlaggedDays(
        as_of=history.as_of, run_id=run[0] if run else None, days=awaiting_review(demand, reviewed)
    )
