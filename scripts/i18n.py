"""Keep the UI translations in step with the code.

    .venv/bin/python scripts/i18n.py          # add new strings to every messages.po (keeps translations)
    .venv/bin/python scripts/i18n.py --check  # exit 1 when a string is missing or untranslated

Strings come from ``_()`` in Python and templates (``babel.cfg``) and from data that pages show
through the ``tr`` filter: titles, choices and help of ``forms/*.json``, element names of
``processes/*.bpmn``, and the status / outcome labels. The .mo files are compiled when the app
starts (``app/core/i18n.py``) and are not kept in git.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TRANSLATIONS = ROOT / "app" / "translations"
METHOD_MAP = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
DATA_KEYS = ("title", "ui:help", "ui:placeholder", "description")


def _walk_json(node: object, out: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in DATA_KEYS and isinstance(value, str):
                out.append(value)
            else:
                _walk_json(value, out)
    elif isinstance(node, list):
        for item in node:
            _walk_json(item, out)


def data_strings() -> list[tuple[str, str]]:
    """(message, where) for the data the pages translate with ``|tr``."""
    from app.core.web import OUTCOME_LABELS, STATUS_LABELS
    from app.workflow.forms import _MESSAGES

    found: list[tuple[str, str]] = []
    for path in sorted((ROOT / "forms").glob("*.json")):
        texts: list[str] = []
        _walk_json(json.loads(path.read_text(encoding="utf-8")), texts)
        found += [(t, f"forms/{path.name}") for t in texts]
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        for name in re.findall(r'<bpmn:\w+ [^>]*\bname="([^"]*[^\x00-\x7f][^"]*)"', path.read_text(encoding="utf-8")):
            found.append((name, f"processes/{path.name}"))
    from app.core.auth import login_manager
    from app.workflow.attachments import RULE

    for label in [*STATUS_LABELS.values(), *OUTCOME_LABELS.values(), RULE, login_manager.login_message]:
        found.append((label, "app/core/web.py"))
    # fixed messages of domain errors, shown on the error page and the login page
    for path in sorted((ROOT / "app").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for text in re.findall(r'(?:raise \w+|DomainError|_fail)\(\s*"([^"{}]*[^\x00-\x7f][^"{}]*)"', source):
            found.append((text, str(path.relative_to(ROOT))))
    validators = (ROOT / "app" / "core" / "validators.py").read_text(encoding="utf-8")
    for text in re.findall(r'return "([^"{}]*[^\x00-\x7f][^"{}]*)"', validators):
        found.append((text, "app/core/validators.py"))
    for value in _MESSAGES.values():
        for text in value.values() if isinstance(value, dict) else [value]:
            found.append((text, "app/workflow/forms.py"))
    return found


def template() -> Catalog:
    catalog = Catalog(project="cepp", charset="utf-8")
    keywords = {**DEFAULT_KEYWORDS, "_t": None}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), METHOD_MAP, keywords=keywords,
            options_map={"app/templates/**.html": {"extensions": "jinja2.ext.do"}}):
        if isinstance(message, tuple):
            message = message[0]
        if message and re.search(r"[^\x00-\x7f]", message):  # UI text is Chinese; skips dict keys etc.
            catalog.add(message, locations=[(filename, lineno)])
    for text, where in data_strings():
        if text and text not in catalog:
            catalog.add(text, locations=[(where, 0)])
        elif text:
            catalog[text].locations.append((where, 0))
    return catalog


def main(argv: list[str]) -> int:
    check = "--check" in argv
    pot = template()
    problems = 0
    for po_path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as fh:
            old = read_po(fh)
        missing = [m.id for m in pot if m.id and (m.id not in old or not old[m.id].string)]
        if check:
            for msg in missing:
                print(f"{po_path.relative_to(ROOT)}: untranslated: {msg}")
            problems += len(missing)
            continue
        new = Catalog(locale=old.locale, project="cepp", charset="utf-8", fuzzy=False)
        for m in pot:
            if not m.id:
                continue
            prev = old.get(m.id)
            new.add(m.id, prev.string if prev is not None else "", locations=m.locations)
        with po_path.open("wb") as fh:
            write_po(fh, new, width=120, omit_header=False, sort_output=False, include_lineno=False)
        print(f"{po_path.relative_to(ROOT)}: {len(new)} messages, {len(missing)} untranslated")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
