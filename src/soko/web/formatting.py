"""Numbers, money and dates for one page language, through Babel (CLDR).

Templates call these instead of formatting themselves so a figure reads the
same everywhere on a page: thousands separators, the currency's own number
of decimals (none for JPY), and times in the shop's time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol


@dataclass(frozen=True)
class Formatter:
    locale: str
    currency: str
    timezone: str

    def number(self, value: int | Decimal) -> str:
        """``1234567`` → ``1,234,567``."""
        return format_decimal(value, locale=self.locale)

    def whole(self, value: float | Decimal) -> str:
        """A measured figure rounded to a whole number: ``123.6`` → ``124``."""
        return format_decimal(round(value), locale=self.locale)

    def percent(self, share: float | Decimal, digits: int = 0) -> str:
        """A share in [0, 1] as a percent: ``0.256`` → ``26%`` (``25.6%`` with one digit)."""
        pattern = "#,##0%" if digits == 0 else "#,##0." + "0" * digits + "%"
        return format_percent(share, format=pattern, locale=self.locale)

    def decimal(self, value: float | Decimal, digits: int = 1) -> str:
        """A ratio with a fixed number of decimals: ``2.503`` → ``2.5``."""
        pattern = "#,##0." + "0" * digits if digits else "#,##0"
        return format_decimal(value, format=pattern, locale=self.locale)

    def money(self, amount: Decimal | int) -> str:
        """``amount`` in the configured currency: ``￥1,234,567`` (ja), ``¥1,234,567`` (en)."""
        return format_currency(amount, self.currency, locale=self.locale)

    def currency_symbol(self) -> str:
        return get_currency_symbol(self.currency, locale=self.locale)

    def date(self, value: dt.date) -> str:
        return format_date(value, format="medium", locale=self.locale)

    def datetime(self, value: dt.datetime) -> str:
        """Date and minute in the shop's time zone; a naive time is already local (as imported).

        Date and time are formatted apart because CLDR's combined short form
        writes a two-digit year in English (``6/30/24``), easy to misread.
        """
        zone = ZoneInfo(self.timezone)
        aware = value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
        day = format_date(aware.date(), format="medium", locale=self.locale)
        return f"{day} {format_time(aware, format='short', tzinfo=zone, locale=self.locale)}"
