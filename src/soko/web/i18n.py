"""Message catalogues and the choice of language for a request.

Catalogues are the ``.po`` files under ``locale/`` read at start-up with
Babel and compiled in memory, so the repository holds only the text a
translator edits (no ``.mo`` to keep in step). A language may have several
``.po`` files, one per area of the product (``messages.po`` for the shell,
``forecast.po`` for the forecast pages, ...); they are merged into one
catalogue, and a message defined in two of them is an error.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LOCALES = ("ja", "en")
LANG_COOKIE = "soko_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def po_files(locale: str, locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every ``.po`` file of ``locale``, shell first."""
    folder = locale_dir / locale / "LC_MESSAGES"
    return sorted(folder.glob("*.po"), key=lambda p: (p.stem != DOMAIN, p.name))


def read_catalog(locale: str, locale_dir: Path = LOCALE_DIR) -> Catalog:
    """The ``.po`` files of ``locale`` merged into one catalogue.

    Raises ValueError naming both files when a message is defined twice, so two
    areas cannot silently translate the same English text differently.
    """
    merged = Catalog(locale=locale, domain=DOMAIN)
    seen: dict[str, str] = {}
    for po_path in po_files(locale, locale_dir):
        with po_path.open("rb") as po:
            catalog = read_po(po, locale=locale, domain=DOMAIN)
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            if key in seen:
                raise ValueError(f"{po_path.name} and {seen[key]} both translate {key!r}")
            seen[key] = po_path.name
            merged[message.id] = message
    return merged


def load_translations(locale: str, locale_dir: Path = LOCALE_DIR) -> Translations:
    """The catalogue of ``locale`` from its ``.po`` files, compiled in memory."""
    catalog = read_catalog(locale, locale_dir)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def supported(locale: str | None) -> str | None:
    """``locale`` as one of ``LOCALES`` (``ja_JP`` → ``ja``), or None if we do not speak it."""
    if not locale:
        return None
    language = locale.replace("-", "_").split("_")[0].lower()
    return language if language in LOCALES else None


def choose_locale(request: Request, default: str) -> tuple[str, bool]:
    """The page language and whether to remember it in the cookie.

    ``?lang=`` wins and is remembered; then the cookie; then the configured
    default (Japanese unless set otherwise). An unknown ``lang`` is ignored
    rather than an error, because it comes from a link or a hand-typed URL.
    """
    asked = supported(request.query_params.get("lang"))
    if asked is not None:
        return asked, request.cookies.get(LANG_COOKIE) != asked
    remembered = supported(request.cookies.get(LANG_COOKIE))
    if remembered is not None:
        return remembered, False
    return supported(default) or LOCALES[0], False
