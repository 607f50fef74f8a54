"""The channel rules editor: edit every channel's rule, preview what each channel would see,
then save.

The form holds the seller's whole rule set (one card per rule: channel, the
SKU it overrides or every SKU, the locations that feed it, buffer in units and
in %, cap, share of the pool, priority, start and end). "Preview" parses and
checks it — every error says which rule and which field — and shows, for a
chosen SKU or the SKUs with most stock, what each channel sees now and would
see under the edited rules, both computed by the pure ``soko.ledger.rules`` on
the same balances. Only "Save" writes, after the same checks, replacing the
rule set in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from soko.api.auth import Scope
from soko.api.deps import SessionDep, SettingsDep, StoreDep
from soko.errors import SokoError
from soko.ledger import service
from soko.ledger.rules import ChannelRule, Mode
from soko.settings import Settings, local_now
from soko.store.queries import list_channels, sku_info, stock_page
from soko.web.auth import CsrfDep, UserDep, page_requires
from soko.web.i18n import choose_locale
from soko.web.pages import PagesDep, render_page
from soko.web.render import Pages
from soko.web.stock import MANY, ordered_locations
from soko.web.users import WebUser

router = APIRouter(include_in_schema=False)

FIELDS = (
    "channel",
    "sku",
    "locations",
    "buffer_units",
    "buffer_pct",
    "cap",
    "share_pct",
    "priority",
    "starts_at",
    "ends_at",
)
BLANK_ROWS = 2  # empty cards for new rules
SAMPLE_SKUS = 8  # previewed when no SKU is chosen: those with most stock
MAX_ROWS = 500
Editor = Annotated[WebUser, page_requires(Scope.adjust)]


@dataclass
class RuleRow:
    """One card of the form as typed, and its errors."""

    values: dict[str, str]
    errors: list[str] = field(default_factory=list)


def _row_of(rule: ChannelRule) -> RuleRow:
    def stamp(when: dt.datetime | None) -> str:
        return when.strftime("%Y-%m-%dT%H:%M") if when else ""

    def plain(number: Decimal) -> str:
        return f"{number.normalize():f}"

    return RuleRow(
        {
            "channel": rule.channel,
            "sku": rule.sku or "",
            "locations": ", ".join(sorted(rule.locations)),
            "buffer_units": str(rule.buffer_units) if rule.buffer_units else "",
            "buffer_pct": plain(rule.buffer_pct) if rule.buffer_pct else "",
            "cap": "" if rule.cap is None else str(rule.cap),
            "share_pct": "" if rule.ratio is None else plain(rule.ratio * 100),
            "priority": str(rule.priority),
            "starts_at": stamp(rule.starts_at),
            "ends_at": stamp(rule.ends_at),
        }
    )


def _blank() -> RuleRow:
    return RuleRow(dict.fromkeys(FIELDS, ""))


class _Parser:
    """Turns the cards into rules; each problem is named by rule number, channel and field."""

    def __init__(self, pages: Pages, locale: str, session: Session) -> None:
        self.pages, self.locale = pages, locale
        self.channels = {c.code for c in list_channels(session, after=None, limit=MANY)}
        self.locations = {loc.code for loc in ordered_locations(session)}
        self.session = session
        self.labels = {
            "channel": self.t("Channel"),
            "sku": self.t("SKU (blank: every SKU)"),
            "locations": self.t("Locations that feed it"),
            "buffer_units": self.t("Buffer (units)"),
            "buffer_pct": self.t("Buffer (percent)"),
            "cap": self.t("Cap (units)"),
            "share_pct": self.t("Share of the pool (percent)"),
            "priority": self.t("Priority (lower first)"),
            "starts_at": self.t("Holds from"),
            "ends_at": self.t("Until"),
        }

    def t(self, message: str) -> str:
        return self.pages.gettext(self.locale, message)

    def parse(self, rows: list[RuleRow]) -> list[ChannelRule]:
        rules = []
        for number, row in enumerate(rows, start=1):
            rule = self._one(number, row)
            if rule is not None:
                rules.append(rule)
        return rules

    def _one(self, number: int, row: RuleRow) -> ChannelRule | None:
        v = {k: row.values.get(k, "").strip() for k in FIELDS}
        if not v["channel"]:
            return None  # an empty card, or a rule being removed
        where = self.t("Rule %(n)s (%(channel)s)") % {"n": number, "channel": v["channel"]}

        def fail(name: str, problem: str) -> None:
            row.errors.append(f"{where}, {self.labels[name]}: {problem}")

        if v["channel"] not in self.channels:
            fail("channel", self.t("choose a channel from the list."))
        if v["sku"] and sku_info(self.session, v["sku"]) is None:
            fail("sku", self.t("no SKU %(code)s in the store.") % {"code": v["sku"]})
        locations = {c for c in v["locations"].replace("、", ",").replace(" ", ",").split(",") if c}
        if not locations:
            fail("locations", self.t("name at least one location, separated by commas."))
        for code in sorted(locations - self.locations):
            fail("locations", self.t("no location %(code)s in the store.") % {"code": code})

        def whole(name: str, default: int | None) -> int | None:
            if not v[name]:
                return default
            try:
                value = int(v[name])
            except ValueError:
                value = -1
            if value < 0:
                fail(name, self.t("a whole number of 0 or more, or blank."))
                return default
            return value

        def percent(name: str) -> Decimal | None:
            if not v[name]:
                return None
            try:
                value = Decimal(v[name])
            except InvalidOperation:
                value = Decimal(-1)
            if not value.is_finite() or not 0 <= value <= 100:
                fail(name, self.t("a number from 0 to 100, or blank."))
                return None
            return value

        def moment(name: str) -> dt.datetime | None:
            if not v[name]:
                return None
            try:
                return dt.datetime.fromisoformat(v[name])
            except ValueError:
                fail(name, self.t("a date and time, such as 2026-12-01 10:00."))
                return None

        buffer_units = whole("buffer_units", 0) or 0
        buffer_pct = percent("buffer_pct") or Decimal(0)
        cap = whole("cap", None)
        share = percent("share_pct")
        priority = 100
        if v["priority"]:
            try:
                priority = int(v["priority"])
            except ValueError:
                fail("priority", self.t("a whole number, such as 10."))
        starts, ends = moment("starts_at"), moment("ends_at")
        if starts and ends and ends <= starts:
            fail("ends_at", self.t("must be after the start."))
        if row.errors:
            return None
        return ChannelRule(
            channel=v["channel"],
            locations=frozenset(locations),
            buffer_units=buffer_units,
            buffer_pct=buffer_pct,
            cap=cap,
            ratio=share / 100 if share is not None else None,
            priority=priority,
            sku=v["sku"] or None,
            starts_at=starts,
            ends_at=ends,
        )


def _rows_from_form(form: dict[str, str], count: int) -> list[RuleRow]:
    return [
        RuleRow({name: form.get(f"{name}-{i}", "") for name in FIELDS})
        for i in range(min(count, MAX_ROWS))
    ]


def _render(
    request: Request,
    *,
    user: WebUser,
    session: Session,
    settings: Settings,
    pages: Pages,
    rows: list[RuleRow],
    sample: str,
    preview: list[service.RulesPreview] | None = None,
    problem: str = "",
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    conn = session.connection()
    return render_page(
        request,
        pages,
        settings.default_locale,
        "rules.html",
        user=user,
        status_code=status_code,
        page="stock",
        rows=rows,
        errors=[e for row in rows for e in row.errors],
        sample=sample,
        preview=preview,
        problem=problem,
        saved=saved,
        may_edit=user.may(Scope.adjust),
        mode=settings.allocation_mode,
        channels={c.code: c for c in list_channels(session, after=None, limit=MANY)},
        locations=ordered_locations(session),
        defaults=service.default_locations(conn),
    )


@router.get("/channel-rules", response_class=HTMLResponse)
def rules_page(
    request: Request,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    pages: PagesDep,
    sku: Annotated[str, Query(max_length=64)] = "",
    saved: str = "",
) -> Response:
    """Every channel's rule, editable by planners, store staff and administrators."""
    rows = [_row_of(rule) for rule in service.seller_rules(session.connection())]
    return _render(
        request,
        user=user,
        session=session,
        settings=settings,
        pages=pages,
        rows=rows + [_blank() for _ in range(BLANK_ROWS)],
        sample=sku,
        saved=bool(saved),
    )


def _sample(session: Session, chosen: str) -> list[str]:
    if chosen:
        return [chosen]
    top = stock_page(session, by_product=False, query="", sort="on_hand", offset=0, limit=10)
    return [row.code for row in top.rows[:SAMPLE_SKUS]]


@router.post("/channel-rules", response_class=HTMLResponse)
async def rules_post(
    request: Request,
    _csrf: CsrfDep,
    user: Editor,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    pages: PagesDep,
) -> Response:
    """``step=preview``: check and show before → after; ``step=save``: check and replace."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    locale, _ = choose_locale(request, settings.default_locale)
    try:
        count = int(form.get("rows", "0"))
    except ValueError:
        count = 0
    step = form.get("step", "preview")
    sample = form.get("sample", "").strip()[:64]
    rows = _rows_from_form(form, count)
    rules = _Parser(pages, locale, session).parse(rows)
    problem = ""
    if sample and sku_info(session, sample) is None:
        problem = pages.gettext(locale, "No SKU %(code)s in the store.") % {"code": sample}
    if any(row.errors for row in rows) or problem:
        return _render(
            request,
            user=user,
            session=session,
            settings=settings,
            pages=pages,
            rows=rows,
            sample=sample,
            problem=problem,
            status_code=422,
        )
    if step == "save":
        try:
            with store.engine.begin() as conn:
                service.replace_rules(conn, rules)
        except SokoError as error:  # a code removed meanwhile
            return _render(
                request,
                user=user,
                session=session,
                settings=settings,
                pages=pages,
                rows=rows,
                sample=sample,
                problem=error.message,
                status_code=409,
            )
        target = "/channel-rules?" + urlencode({"saved": "1"} | ({"sku": sample} if sample else {}))
        return RedirectResponse(target, status_code=303)
    preview = service.preview_rules(
        session.connection(),
        rules,
        _sample(session, sample),
        mode=Mode(settings.allocation_mode),
        now=local_now(settings),
    )
    kept = [row for row in rows if row.values.get("channel", "").strip()]
    return _render(
        request,
        user=user,
        session=session,
        settings=settings,
        pages=pages,
        rows=kept + [_blank() for _ in range(BLANK_ROWS)],
        sample=sample,
        preview=preview,
    )
