"""Compile the gettext catalogues on start when the .po is newer than the .mo (no build step)."""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

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
