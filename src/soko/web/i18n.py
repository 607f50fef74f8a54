"""Message catalogues and the choice of language for a request.

Catalogues are the ``.po`` files under ``locale/`` read at start-up with
Babel and compiled in memory, so the repository holds only the text a
translator edits (no ``.mo`` to keep in step).
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LOCALES = ("ja", "en")
LANG_COOKIE = "soko_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def load_translations(locale: str, locale_dir: Path = LOCALE_DIR) -> Translations:
    """The catalogue of ``locale`` from its ``.po`` file, compiled in memory."""
    po_path = locale_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
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
