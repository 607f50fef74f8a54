"""The one place that reads the environment (prefix ``SOKO_``)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Soko's settings; every field can be set as ``SOKO_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="SOKO_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Folder of the embedded store.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; a PostgreSQL URL for production. Empty: SQLite in data_dir.",
    )
    currency: str = Field(default="JPY", min_length=3, max_length=3)
    timezone: str = "Asia/Tokyo"
    default_locale: str = "ja"
    allocation_mode: Literal["shared", "allocated"] = Field(
        default="shared",
        description="shared: channels sell first come, first served from the pool; "
        "allocated: the pool is split between channels in priority order.",
    )
    reservation_ttl_seconds: int = Field(default=900, ge=1, description="Cart hold lifetime.")
    secure_cookies: bool = Field(
        default=False,
        description="Always mark the session cookie Secure (HTTPS only). It is marked so "
        "anyway when a request comes over HTTPS; set this when TLS ends at a proxy that "
        "does not say so.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs web session cookies; unset, a random key per process signs "
        "everyone out on restart. Set it in production.",
    )

    @property
    def sqlalchemy_url(self) -> str:
        """The store's URL: ``database_url`` when set, else ``data_dir/soko.sqlite3``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'soko.sqlite3').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process (tests build their own ``Settings``)."""
    return Settings()


def local_now(settings: Settings | None = None) -> dt.datetime:
    """Now in the shop's time zone, naive: the store keeps every time as shop-local time,
    as sellers' exports write them."""
    zone = ZoneInfo((settings or get_settings()).timezone)
    return dt.datetime.now(zone).replace(tzinfo=None)


def in_shop_zone(value: dt.datetime, settings: Settings) -> dt.datetime:
    """A stored (shop-local, naive) time with its offset, as the API writes times (RFC 3339)."""
    return value.replace(tzinfo=ZoneInfo(settings.timezone)) if value.tzinfo is None else value
