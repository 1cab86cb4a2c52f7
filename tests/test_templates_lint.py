"""Template mistakes a browser only shows as a console error: JSON (which holds double quotes) inside a
double-quoted HTML attribute ends the attribute early, so its handler never runs (a withdrawal's confirm()
was skipped that way)."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"
#: an attribute value in double quotes holding ``|tojson`` not followed by ``|forceescape``
UNSAFE = re.compile(r'=\s*"[^"]*\|\s*tojson(?!\s*\|\s*forceescape)[^"]*"')


def test_no_json_inside_double_quoted_attributes() -> None:
    found = [f"{path.relative_to(TEMPLATES)}:{n}" for path in TEMPLATES.rglob("*.html")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if UNSAFE.search(line)]
    assert found == [], "use single quotes around the attribute, or |tojson|forceescape: " + ", ".join(found)
