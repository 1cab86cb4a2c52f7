"""Compile the gettext catalogues on start when the .po is newer than the .mo (no build step)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

if TYPE_CHECKING:
    from app.core.errors import DomainError

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


def ensure_compiled() -> None:
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        tmp = mo.with_suffix(f".mo.{os.getpid()}.tmp")  # several workers may start at once
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo)


# --------------------------------------------------------------------------- sentences stored in Chinese

#: Compiled patterns of sentences that services build from a template and store in Chinese
#: (e.g. what an annual verification is missing); pages translate them through ``|tr``.
_PATTERNS: dict[str, re.Pattern[str]] = {}


def sentence(msgid: str) -> str:
    """Register a ``%(name)s`` template whose filled-in Chinese sentences pages translate with ``|tr``;
    returns the template unchanged (fill it with ``%``). ``scripts/i18n.py`` extracts the template."""
    parts = re.split(r"%\((\w+)\)s", msgid)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    _PATTERNS[msgid] = re.compile(regex)
    return msgid


def translate(text: object) -> object:
    """gettext for data: exact messages first, then the registered sentence templates (their values are
    translated too, so labels inside a sentence follow the page's language)."""
    from flask_babel import gettext

    if not isinstance(text, str) or not text:
        return text
    translated = gettext(text)
    if translated != text:
        return translated
    for msgid, pattern in _PATTERNS.items():
        match = pattern.fullmatch(text)
        if match is not None:
            english = gettext(msgid)
            if english != msgid:
                return english % {k: translate(v) for k, v in match.groupdict().items()}
    return text


def translated_error(exc: DomainError) -> dict:
    """``exc.to_dict()`` in the request's language: the JSON a page's own script shows, and the API's
    errors (Chinese unless the call asks for ``?lang=en``)."""
    body = exc.to_dict()
    body["error"]["message"] = translate(exc.message)
    body["error"]["fields"] = {k: translate(v) for k, v in exc.fields.items()}
    return body
