"""Jinja2 environments, one per page language, with its catalogue and formatter installed.

One environment per language (rather than swapping translations on a shared
one per request) keeps rendering free of shared mutable state under
concurrent requests.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from soko.settings import Settings
from soko.web.formatting import Formatter
from soko.web.i18n import LOCALES, load_translations

PLOTLY_URL = "/static/vendor/plotly.min.js"


class Pages:
    """Renders a template in a language; built once at start-up."""

    def __init__(self, settings: Settings, *, static_version: str) -> None:
        self._envs: dict[str, Environment] = {}
        self._formatters = {
            locale: Formatter(locale, settings.currency, settings.timezone) for locale in LOCALES
        }
        self._translations = {locale: load_translations(locale) for locale in LOCALES}
        for locale, translations in self._translations.items():
            env = Environment(
                loader=PackageLoader("soko.web", "templates"),
                autoescape=select_autoescape(["html"]),
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
            env.globals.update(
                lang=locale,
                locales=LOCALES,
                fmt=self._formatters[locale],
                static_version=static_version,
                plotly_url=f"{PLOTLY_URL}?v={version('plotly')}",
            )
            self._envs[locale] = env

    def render(self, locale: str, template: str, **context: Any) -> str:
        return self._envs[locale].get_template(template).render(**context)

    def formatter(self, locale: str) -> Formatter:
        return self._formatters[locale]

    def gettext(self, locale: str, message: str) -> str:
        """``message`` translated for code outside templates (e.g. chart labels)."""
        return self._translations[locale].gettext(message)
