"""Keep the UI translations in step with the code.

    .venv/bin/python scripts/i18n.py          # add new strings to every messages.po (keeps translations)
    .venv/bin/python scripts/i18n.py --check  # exit 1 when a string is missing or untranslated
    .venv/bin/python scripts/i18n.py --untranslated en > todo.json  # {"中文": ""} still to translate
    .venv/bin/python scripts/i18n.py --apply en todo.json           # write the filled-in translations

Strings come from ``_()`` in Python and templates (``babel.cfg``) and from data that pages show
through the ``tr`` filter: titles, choices and help of ``forms/*.json``, element names of
``processes/*.bpmn``, and the status / outcome labels. The .mo files are compiled when the app
starts (``app/core/i18n.py``) and are not kept in git.
"""

from __future__ import annotations

import ast
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
#: Python files whose Chinese literals never reach a page (JSON answers, OpenAPI, CLI help, demo data).
NOT_SHOWN = ("api.py", "openapi.py", "cli.py", "demo.py", "demo_history.py")
CJK = re.compile(r"[\u3400-\u9fff]")


def message_literals(path: Path) -> list[tuple[str, int]]:
    """Chinese string literals of a module that pages may show through ``|tr``: domain error messages,
    field errors (``errors["x"] = "…"``), labels of choices and states. Services keep them in Chinese
    (the API answers in Chinese); the templates translate them when showing them. Skipped: f-strings
    (use ``gettext("…%(x)s…", x=…)`` instead), ``_()`` calls (extracted anyway), comparisons,
    dict keys and docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.JoinedStr, ast.Compare)):
            skip.update(id(n) for n in ast.walk(node))
        elif isinstance(node, ast.Dict):
            skip.update(id(k) for k in node.keys if k is not None)
        elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if name in ("_", "gettext", "ngettext", "lazy_gettext", "_t"):
                skip.update(id(n) for n in ast.walk(node))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body \
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            skip.add(id(node.body[0].value))
    return [(node.value, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
            and CJK.search(node.value)]


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
    for path in sorted((ROOT / "processes").glob("*.dmn")):  # texts a decision outputs, e.g. rule names
        source = path.read_text(encoding="utf-8")
        for text in re.findall(r'<outputEntry\b[^>]*>\s*<text>"([^"]*[^\x00-\x7f][^"]*)"</text>', source):
            found.append((text, f"processes/{path.name}"))
    from app.core.auth import login_manager
    from app.workflow.attachments import RULE

    for label in [*STATUS_LABELS.values(), *OUTCOME_LABELS.values(), RULE, login_manager.login_message]:
        found.append((label, "app/core/web.py"))
    # fixed messages of domain errors, shown on the error page and the login page
    for path in sorted((ROOT / "app").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for text in re.findall(r'(?:raise \w+|DomainError|_fail)\(\s*"([^"{}]*[^\x00-\x7f][^"{}]*)"', source):
            found.append((text, str(path.relative_to(ROOT))))
    for path in sorted((ROOT / "app").rglob("*.py")):
        if path.name in NOT_SHOWN or {"migrations", "api"} & set(path.relative_to(ROOT).parts):
            continue
        found += [(text, str(path.relative_to(ROOT))) for text, _line in message_literals(path)]
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
        elif text and (where, 0) not in catalog[text].locations:
            catalog[text].locations.append((where, 0))
    return catalog


PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def placeholders_differ(msgid: str, msgstr: str) -> bool:
    return sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(msgstr))


def _po(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _write(path: Path, catalog: Catalog) -> None:
    with path.open("wb") as fh:
        write_po(fh, catalog, width=120, omit_header=False, sort_output=False, include_lineno=False)


def untranslated(locale: str) -> dict[str, str]:
    """The catalogue's messages that have no translation yet (run the extraction first)."""
    with _po(locale).open("rb") as fh:
        catalog = read_po(fh)
    return {m.id: "" for m in catalog if m.id and not m.string}


def apply(locale: str, translations: dict[str, str]) -> list[str]:
    """Fill in translations for messages already in the catalogue (not fuzzy); returns the refused ones:
    unknown message ids and translations whose %(name)s placeholders differ from the original."""
    path = _po(locale)
    with path.open("rb") as fh:
        catalog = read_po(fh)
    refused = []
    for msgid, text in translations.items():
        message = catalog.get(msgid)
        if not text:
            continue
        if message is None or placeholders_differ(msgid, text):
            refused.append(msgid)
            continue
        message.string = text
        message.flags.discard("fuzzy")
    _write(path, catalog)
    return refused


def main(argv: list[str]) -> int:
    if argv[:1] == ["--untranslated"]:
        print(json.dumps(untranslated(argv[1]), ensure_ascii=False, indent=1))
        return 0
    if argv[:1] == ["--apply"]:
        refused = apply(argv[1], json.loads(Path(argv[2]).read_text(encoding="utf-8")))
        for msgid in refused:
            print(f"refused (unknown message or placeholders differ): {msgid}")
        return 1 if refused else 0
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
            wrong = [m.id for m in old if m.id and m.string and placeholders_differ(m.id, m.string)]
            for msg in wrong:
                print(f"{po_path.relative_to(ROOT)}: placeholders differ: {msg}")
            problems += len(missing) + len(wrong)
            continue
        new = Catalog(locale=old.locale, project="cepp", charset="utf-8", fuzzy=False,
                      creation_date=old.creation_date)  # a stable header eases merges
        for m in pot:
            if not m.id:
                continue
            prev = old.get(m.id)
            new.add(m.id, prev.string if prev is not None else "", locations=m.locations)
        _write(po_path, new)
        print(f"{po_path.relative_to(ROOT)}: {len(new)} messages, {len(missing)} untranslated")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
