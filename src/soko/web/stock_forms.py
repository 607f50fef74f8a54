"""Changing stock from the Stock page: adjustments and transfers, each confirmed first.

Every change takes two posts. The first (``step=preview``) checks the form and
shows the before → after of each location and of what each channel will see,
computed by the same service and pure rules as the write, and writes nothing.
The second (``step=confirm``) writes, under a fresh idempotency key made at the
preview, so a double click or a reload of the confirmation never applies the
change twice. A change the ledger refuses (fewer than zero on hand, or fewer
than are reserved) is shown on the SKU's page with its reason, and nothing
changes. Only roles holding the ``adjust`` permission (planner, store staff,
administrator) may post; the pages show viewers no forms.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from soko.api.auth import Scope
from soko.api.deps import SessionDep, SettingsDep, StoreDep
from soko.api.problems import STATUS_BY_CODE
from soko.errors import ErrorCode, SokoError
from soko.ledger import preorders, service, transfers
from soko.ledger.rules import Mode
from soko.settings import Settings, local_now
from soko.store.queries import list_channels, sku_info
from soko.web import rules
from soko.web.auth import CsrfDep, page_requires
from soko.web.i18n import choose_locale
from soko.web.pages import PagesDep, render_page
from soko.web.render import Pages
from soko.web.stock import MANY, ordered_locations, render_sku
from soko.web.users import WebUser

router = APIRouter(include_in_schema=False)
router.include_router(rules.router)  # the rules editor changes what channels see, too

MAX_UNITS = 1_000_000
Text = Annotated[str, Form(max_length=300)]
Step = Annotated[str, Form(pattern="^(preview|confirm)$")]
Changer = Annotated[WebUser, page_requires(Scope.adjust)]


class Refused(Exception):
    """A form the page refuses with a message for the person who sent it."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def sku_url(sku: str, done: str = "", anchor: str = "sku-movements") -> str:
    url = f"/stock/{quote(sku, safe='')}"
    return f"{url}?done={done}#{anchor}" if done else url


def _quantity(pages: Pages, locale: str, text: str, *, signed: bool) -> int:
    t = pages.gettext
    try:
        units = int(text.strip())
    except ValueError:
        raise Refused(
            t(locale, "Quantity must be a whole number of units, such as %(example)s.")
            % {"example": "-3" if signed else "5"}
        ) from None
    if units == 0 and signed:
        raise Refused(t(locale, "An adjustment of 0 units changes nothing."))
    if units <= 0 and not signed:
        raise Refused(t(locale, "A transfer moves a positive number of units."))
    if abs(units) > MAX_UNITS:
        raise Refused(t(locale, "Quantity must be at most %(n)s units.") % {"n": f"{MAX_UNITS:,}"})
    return units


def _known_location(pages: Pages, locale: str, session: Session, code: str) -> str:
    if code not in {loc.code for loc in ordered_locations(session)}:
        raise Refused(
            pages.gettext(locale, "Choose a location from the list (got %(code)s).")
            % {"code": code or "–"}
        )
    return code


def _below_zero(
    pages: Pages,
    locale: str,
    error: SokoError,
    *,
    engine: Engine,
    settings: Settings,
    sku: str,
    location: str,
    change: int,
) -> Refused:
    """The ledger's refusal in the page's language, with the figures that caused it."""
    if error.code != ErrorCode.negative_stock:
        return Refused(error.message, STATUS_BY_CODE.get(error.code, 422))
    with engine.connect() as conn:
        found = service.balances(
            conn, sku, mode=Mode(settings.allocation_mode), now=local_now(settings)
        )
    here = next((b for b in found.locations if b.location == location), None)
    formatter = pages.formatter(locale)
    message = pages.gettext(
        locale,
        "Refused: %(location)s has %(on_hand)s on hand, %(reserved)s of them reserved; a "
        "change of %(change)s would leave fewer than zero or than are reserved. "
        "Nothing was changed.",
    ) % {
        "location": location,
        "on_hand": formatter.number(here.on_hand if here else 0),
        "reserved": formatter.number(here.reserved if here else 0),
        "change": f"{change:+d}",
    }
    return Refused(message, 409)


def _confirm_page(
    request: Request,
    *,
    user: WebUser,
    session: Session,
    settings: Settings,
    pages: Pages,
    sku: str,
    action: str,
    preview: service.ChangePreview,
    fields: dict[str, str],
) -> Response:
    return render_page(
        request,
        pages,
        settings.default_locale,
        "stock_confirm.html",
        user=user,
        page="stock",
        info=sku_info(session, sku),
        action=action,
        preview=preview,
        fields=fields | {"key": uuid.uuid4().hex},
        sku_url=sku_url(sku),
        locations={loc.code: loc for loc in ordered_locations(session)},
        channels={c.code: c for c in list_channels(session, after=None, limit=MANY)},
    )


@router.post("/stock/adjust", response_class=HTMLResponse)
def adjust(
    request: Request,
    _csrf: CsrfDep,
    user: Changer,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    pages: PagesDep,
    sku: Annotated[str, Form(min_length=1, max_length=64)],
    step: Step,
    location: Text = "",
    quantity: Text = "",
    reason: Text = "",
    key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Adjust on hand at one location by a signed number of units, with a reason."""
    locale, _ = choose_locale(request, settings.default_locale)
    values = {"location": location, "quantity": quantity, "reason": reason}
    mode = Mode(settings.allocation_mode)
    try:
        if sku_info(session, sku) is None:
            raise SokoError(ErrorCode.unknown_sku, f"No SKU {sku!r} in the store.")
        _known_location(pages, locale, session, location)
        units = _quantity(pages, locale, quantity, signed=True)
        if not reason.strip():
            raise Refused(pages.gettext(locale, "Give a reason, so the history says why."))
        try:
            with store.engine.begin() as conn:
                if step == "preview":
                    preview = service.preview_change(
                        conn, sku, on_hand={location: units}, mode=mode, now=local_now(settings)
                    )
                else:
                    service.record_movement(
                        conn,
                        sku=sku,
                        location=location,
                        kind="adjustment",
                        quantity=units,
                        idempotency_key=f"web:{key or uuid.uuid4().hex}",
                        actor=user.name,
                        now=local_now(settings),
                        reason=reason.strip(),
                    )
        except SokoError as error:
            if error.code == ErrorCode.unknown_sku:
                raise
            raise _below_zero(
                pages,
                locale,
                error,
                engine=store.engine,
                settings=settings,
                sku=sku,
                location=location,
                change=units,
            ) from None
    except Refused as refused:
        return render_sku(
            request,
            sku,
            user=user,
            session=session,
            settings=settings,
            pages=pages,
            form="adjust",
            form_error=refused.message,
            values=values,
            status_code=refused.status,
        )
    if step == "preview":
        return _confirm_page(
            request,
            user=user,
            session=session,
            settings=settings,
            pages=pages,
            sku=sku,
            action="adjust",
            preview=preview,
            fields={"sku": sku} | values | {"reason": reason.strip()},
        )
    return RedirectResponse(sku_url(sku, "adjustment"), status_code=303)


@router.post("/stock/transfer", response_class=HTMLResponse)
def transfer(
    request: Request,
    _csrf: CsrfDep,
    user: Changer,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    pages: PagesDep,
    sku: Annotated[str, Form(min_length=1, max_length=64)],
    step: Step,
    from_location: Text = "",
    to_location: Text = "",
    quantity: Text = "",
    reason: Text = "",
    key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Send units from one location to another: they leave now and arrive when received."""
    locale, _ = choose_locale(request, settings.default_locale)
    values = {
        "from_location": from_location,
        "to_location": to_location,
        "quantity": quantity,
        "reason": reason,
    }
    mode = Mode(settings.allocation_mode)
    try:
        if sku_info(session, sku) is None:
            raise SokoError(ErrorCode.unknown_sku, f"No SKU {sku!r} in the store.")
        _known_location(pages, locale, session, from_location)
        _known_location(pages, locale, session, to_location)
        if from_location == to_location:
            raise Refused(pages.gettext(locale, "Choose two different locations."))
        units = _quantity(pages, locale, quantity, signed=False)
        try:
            with store.engine.begin() as conn:
                if step == "preview":
                    preview = service.preview_change(
                        conn,
                        sku,
                        on_hand={from_location: -units},
                        incoming={to_location: units},
                        mode=mode,
                        now=local_now(settings),
                    )
                else:
                    transfers.create_transfer(
                        conn,
                        sku=sku,
                        from_location=from_location,
                        to_location=to_location,
                        quantity=units,
                        idempotency_key=f"web:{key or uuid.uuid4().hex}",
                        actor=user.name,
                        now=local_now(settings),
                        reason=reason.strip() or None,
                    )
        except SokoError as error:
            if error.code == ErrorCode.unknown_sku:
                raise
            raise _below_zero(
                pages,
                locale,
                error,
                engine=store.engine,
                settings=settings,
                sku=sku,
                location=from_location,
                change=-units,
            ) from None
    except Refused as refused:
        return render_sku(
            request,
            sku,
            user=user,
            session=session,
            settings=settings,
            pages=pages,
            form="transfer",
            form_error=refused.message,
            values=values,
            status_code=refused.status,
        )
    if step == "preview":
        return _confirm_page(
            request,
            user=user,
            session=session,
            settings=settings,
            pages=pages,
            sku=sku,
            action="transfer",
            preview=preview,
            fields={"sku": sku} | values | {"reason": reason.strip()},
        )
    return RedirectResponse(sku_url(sku, "transfer"), status_code=303)


@router.post("/stock/transfers/{transfer_id}/receive", response_class=HTMLResponse)
def receive(
    transfer_id: Annotated[str, Path(max_length=32)],
    _csrf: CsrfDep,
    user: Changer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The transfer's units arrived at its destination; receiving twice changes nothing."""
    view = transfers.receive_transfer(
        session.connection(), transfer_id, actor=user.name, now=local_now(settings)
    )
    return RedirectResponse(sku_url(view.sku, "received"), status_code=303)


@router.post("/stock/preorder-limit", response_class=HTMLResponse)
def preorder_limit(
    request: Request,
    _csrf: CsrfDep,
    user: Changer,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    pages: PagesDep,
    sku: Annotated[str, Form(min_length=1, max_length=64)],
    channel: Annotated[str, Form(max_length=64)] = "",
    max_units: Text = "",
) -> Response:
    """How many units of the SKU may be pre-ordered against incoming stock (予約販売)."""
    locale, _ = choose_locale(request, settings.default_locale)
    try:
        try:
            units = int(max_units.strip())
        except ValueError:
            units = -1
        if not 0 <= units <= MAX_UNITS:
            raise Refused(pages.gettext(locale, "The limit is a whole number of units, 0 or more."))
        try:
            with store.engine.begin() as conn:
                preorders.set_limit(conn, sku=sku, channel=channel or None, max_units=units)
        except SokoError as error:
            if error.code == ErrorCode.unknown_sku:
                raise
            raise Refused(error.message, STATUS_BY_CODE.get(error.code, 422)) from None
    except Refused as refused:
        return render_sku(
            request,
            sku,
            user=user,
            session=session,
            settings=settings,
            pages=pages,
            form="preorder",
            form_error=refused.message,
            values={"channel": channel, "max_units": max_units},
            status_code=refused.status,
        )
    return RedirectResponse(sku_url(sku, "preorder", "sku-preorders"), status_code=303)
