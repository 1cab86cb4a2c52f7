"""The certificate font: Noto Sans SC (OFL-1.1) as static Regular and Bold TrueType files.

The pip package ``justmytype-intl-cjk`` ships Noto Sans SC as one *variable* font whose
default instance is Thin, and xhtml2pdf/ReportLab can only embed static TrueType (glyf)
fonts. ``build_fonts()`` instantiates weights 400 and 700 with fontTools once (about 15 s
and 350 MB per weight) into ``instance/fonts/``; ``flask --app wsgi fonts build`` runs it at
setup time and :func:`ensure_fonts` runs it lazily on the first render when the files are
missing. The name table is updated so the two files get distinct PostScript names
(otherwise ReportLab treats them as one font and bold is silently lost).
"""

from __future__ import annotations

import fcntl
import os
from importlib.resources import files
from pathlib import Path

from config import INSTANCE_DIR

FONT_DIR = INSTANCE_DIR / "fonts"
WEIGHTS = {"Regular": 400, "Bold": 700}


def font_path(style: str) -> Path:
    return FONT_DIR / f"NotoSansSC-{style}.ttf"


def variable_font() -> Path:
    return Path(str(files("justmytype_intl_cjk") / "fonts/ofl/notosanssc/NotoSansSC[wght].ttf"))


def fonts_ready() -> bool:
    return all(font_path(style).is_file() for style in WEIGHTS)


def build_fonts(force: bool = False) -> list[Path]:
    """Write the static fonts (atomically, under a file lock so parallel workers build once)."""
    from fontTools.ttLib import TTFont
    from fontTools.varLib.instancer import instantiateVariableFont

    FONT_DIR.mkdir(parents=True, exist_ok=True)
    built: list[Path] = []
    with open(FONT_DIR / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for style, weight in WEIGHTS.items():
            target = font_path(style)
            if target.is_file() and not force:
                continue
            font = instantiateVariableFont(TTFont(variable_font()), {"wght": weight},
                                           static=True, updateFontNames=True)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            font.save(tmp)
            tmp.replace(target)
            built.append(target)
    return built


def ensure_fonts() -> Path:
    """The font directory, building the fonts first when they are missing."""
    if not fonts_ready():
        build_fonts()
    return FONT_DIR
