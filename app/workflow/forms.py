"""Forms from ``forms/``: JSON Schema for the data, a UI schema for the layout.

What administrators saved in the forms editor is kept in the database (table ``form_edit``) and stands over the
shipped files (:func:`form_text`, :func:`form_exists`, :func:`form_files`), on every machine alike.

The same :func:`validate` serves the web forms and the API, so both give the same
field-level errors. Two small extensions to JSON Schema are resolved here:

* ``"x-extends": "other.schema.json"`` merges another form's properties (its ``required``
  list applies only when ``"x-extends-when": {"field": "value"}`` holds, if given);
* ``"x-not-before": "start_date"`` on a date and ``"x-maximum-field": "hours"`` on a number
  compare with another value of the submitted data or of the instance data;
* ``"x-decimals": 1`` on a number: at most that many decimal places (what the database keeps).

Before any rule, every value is checked the way all input is (:func:`app.core.validators.value_error`):
text without control characters or lone surrogates, finite numbers, whole numbers within 64 bits. JSON
Schema alone lets NaN through every ``minimum`` and ``maximum``.
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext
from jsonschema import Draft202012Validator, FormatChecker

from app.core.validators import (
    id_number_error,
    mobile_error,
    normalise_id_number,
    uscc_error,
    value_error,
    whole_number,
)

FORMS_DIR = Path(__file__).resolve().parents[2] / "forms"

_format_checker = FormatChecker()


@_format_checker.checks("id-number")
def _is_id_number(value: object) -> bool:
    return not isinstance(value, str) or id_number_error(value) is None


@_format_checker.checks("uscc")
def _is_uscc(value: object) -> bool:
    return not isinstance(value, str) or uscc_error(value) is None


@_format_checker.checks("mobile")
def _is_mobile(value: object) -> bool:
    return not isinstance(value, str) or mobile_error(value) is None


@_format_checker.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


#: A form is named by its file name in ``forms/``: no folders, so a diagram cannot read other files.
FORM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.json")


def form_path(name: str, forms_dir: Path = FORMS_DIR) -> Path:
    """The file of the form ``name``; ValueError when the name is not a plain ``*.json`` file name."""
    if not isinstance(name, str) or not FORM_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"form name {name!r} must be a file name in forms/ ending in .json")
    return forms_dir / name


# --------------------------------------------------------------------------- forms edited in the browser

#: How long a process trusts its copy of the forms edited in the browser before asking the database whether
#: one changed (the process that saved an edit knows at once).
EDIT_CHECK_SECONDS = 1.0

#: A change being checked before it is saved: {file name: text, or None for a deleted form}, over the rest.
_PENDING: ContextVar[Mapping[str, str | None] | None] = ContextVar("forms_pending", default=None)


def _stored_edits() -> tuple[tuple, dict[str, str | None]]:
    """(a stamp that changes with every edit, {file name: text or None}) of the ``form_edit`` rows, asked of the
    database at most every :data:`EDIT_CHECK_SECONDS` (one small statement), read again only when the stamp moved."""
    memo = current_app.extensions.get("form_edits")
    now = time.monotonic()
    if memo is not None and now - memo[0] < EDIT_CHECK_SECONDS:
        return memo[1], memo[2]
    from sqlalchemy import func, inspect, select

    from app.extensions import db
    from app.workflow.models import FormEdit

    if not current_app.extensions.get("form_edit_table"):  # a database not migrated yet (`processes check`)
        if not inspect(db.session.connection()).has_table(FormEdit.__tablename__):
            return (), {}
        current_app.extensions["form_edit_table"] = True
    stamp = tuple(db.session.execute(select(func.count(), func.max(FormEdit.revision))).one())
    if memo is not None and memo[1] == stamp:
        texts = memo[2]
    else:
        texts = {name: text for name, text in db.session.execute(select(FormEdit.name, FormEdit.text))}
    if _PENDING.get() is None:  # while a save is under way the rows read may not be committed yet: keep nothing
        current_app.extensions["form_edits"] = (now, stamp, texts)
    return stamp, texts


def forget_edits() -> None:
    """Ask the database again at the next read (called by the editor when it saved or deleted a form)."""
    if has_app_context():
        current_app.extensions.pop("form_edits", None)


def _edits(forms_dir: Path) -> Mapping[str, str | None]:
    """The edited forms that stand over the files of ``forms_dir``: only over forms/ (a process keeping its forms
    beside its diagram has none), the change being checked last."""
    if forms_dir != FORMS_DIR:
        return {}
    stored = _stored_edits()[1] if has_app_context() else {}
    pending = _PENDING.get()
    return {**stored, **pending} if pending else stored


def edits_stamp(forms_dir: Path = FORMS_DIR) -> tuple | None:
    """What changes whenever the forms of ``forms_dir`` change other than by their files; None while a change is
    being checked (nothing read then may be kept)."""
    if forms_dir != FORMS_DIR:
        return ()
    if _PENDING.get() is not None:
        return None
    return _stored_edits()[0] if has_app_context() else ()


@contextmanager
def pending(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Within the block the forms read as if ``changes`` were saved (to check what an edit would do first)."""
    token = _PENDING.set(changes)
    try:
        yield
    finally:
        _PENDING.reset(token)


def form_exists(name: str, forms_dir: Path = FORMS_DIR) -> bool:
    """Whether the form ``name`` exists (ValueError when the name is not a plain ``*.json`` file name)."""
    path = form_path(name, forms_dir)
    edits = _edits(forms_dir)
    if name in edits:
        return edits[name] is not None
    return path.is_file()


def form_text(name: str, forms_dir: Path = FORMS_DIR) -> str:
    """The text of the form ``name``: as last saved in the editor, else the file. OSError when there is none."""
    path = form_path(name, forms_dir)
    edits = _edits(forms_dir)
    if name in edits:
        text = edits[name]
        if text is None:
            raise FileNotFoundError(f"form {name!r} was deleted")
        return text
    return path.read_text(encoding="utf-8")


def form_files(forms_dir: Path = FORMS_DIR, suffix: str = ".json") -> list[str]:
    """The names of the forms' files ending in ``suffix``, sorted: the shipped files and the edited ones."""
    edits = _edits(forms_dir)
    names = {p.name for p in forms_dir.glob(f"*{suffix}")} if forms_dir.is_dir() else set()
    names |= {name for name, text in edits.items() if text is not None and name.endswith(suffix)}
    names -= {name for name, text in edits.items() if text is None}
    return sorted(names)


#: The endpoints a form's type-ahead picker (``"ui:source"`` in a UI schema) may read from.
PICKER_SOURCES = frozenset({"credits.people"})


def load_form(name: str, forms_dir: Path = FORMS_DIR, _chain: tuple[str, ...] = ()) -> dict:
    """Read one form (as saved in the editor, else its file) and resolve ``x-extends``."""
    if name in _chain:  # a form extending itself, or bases extending each other in a circle
        raise ValueError("x-extends goes round in a circle: " + " -> ".join((*_chain, name)))
    schema = json.loads(form_text(name, forms_dir))
    if not isinstance(schema, dict):
        raise ValueError(f"form {name!r} is not a JSON object")
    return resolve_extends(schema, forms_dir, (*_chain, name))


def resolve_extends(schema: dict, forms_dir: Path = FORMS_DIR, _chain: tuple[str, ...] = ()) -> dict:
    """A form's schema with the form it extends (``x-extends``, a file in ``forms_dir``) merged in; ValueError
    when a base cannot be read, the bases go round in a circle or ``x-extends-when`` is not an object."""
    schema = dict(schema)
    base_name = schema.pop("x-extends", None)
    if not base_name:
        return schema
    base = load_form(base_name, forms_dir, _chain)
    when = schema.pop("x-extends-when", None)
    if when is not None and not isinstance(when, dict):
        raise ValueError("x-extends-when must be an object of field values")
    merged = copy.deepcopy(base)
    merged.update({k: v for k, v in schema.items() if k not in ("properties", "required", "allOf")})
    merged["properties"] = {**base.get("properties", {}), **schema.get("properties", {})}
    base_required = merged.pop("required", [])
    all_of = list(base.get("allOf", []))
    if when:
        # the base form's rules (its required fields and its conditional ones) hold only under ``when``
        cond = {"properties": {k: {"const": v} for k, v in when.items()}, "required": list(when)}
        then: dict[str, Any] = {"required": base_required}
        if all_of:
            then["allOf"] = all_of
        all_of = [{"if": cond, "then": then}]
        merged["required"] = list(schema.get("required", []))
    else:
        merged["required"] = base_required + [r for r in schema.get("required", []) if r not in base_required]
    all_of += schema.get("allOf", [])
    if all_of:
        merged["allOf"] = all_of
    return merged


def _choice_titles(prop: dict) -> dict[str, str]:
    return {o["const"]: o.get("title", o["const"]) for o in prop.get("oneOf", []) if "const" in o}


def coerce(schema: dict, raw: dict[str, Any]) -> dict[str, Any]:
    """Turn web-form strings into the schema's types; leave what does not convert for the
    validator to report. Empty strings count as absent."""
    out: dict[str, Any] = {}
    props = schema.get("properties", {})
    for name, prop in props.items():
        if name not in raw:
            continue
        value = raw[name]
        kind = prop.get("type")
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
            if kind in ("number", "integer"):
                try:
                    num = float(value)
                except ValueError:
                    num = math.nan
                if math.isfinite(num):  # "nan", "inf" and "1e999" stay text: not a number to a person
                    value = int(num) if kind == "integer" and num.is_integer() else num
            elif kind == "boolean":
                value = value.lower() in ("1", "true", "on", "yes")
            elif prop.get("format") == "id-number":
                value = normalise_id_number(value)
        elif kind == "number" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind == "array" and not isinstance(value, list):
            value = [value]
        if kind == "array" and prop.get("items", {}).get("type") == "integer":
            value = [n if isinstance(v, str) and (n := whole_number(v)) is not None else v for v in value]
        out[name] = value
    return out


_MESSAGES = {
    "required": "此项为必填项",
    "type": {"number": "请输入数字", "integer": "请输入整数", "string": "请输入文字", "array": "格式不正确"},
    "format": {"date": "请输入有效日期（YYYY-MM-DD）"},
}


def _t(message: str, **values: Any) -> str:
    """The message in the reader's language (Chinese unless the web page is switched to English);
    titles inside messages are translated as well."""
    return gettext(message, **{k: gettext(v) if isinstance(v, str) else v for k, v in values.items()})


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _message(err: Any, schema: dict) -> tuple[str, str]:
    """(field, message) for one jsonschema error."""
    field = err.path[0] if err.path else ""
    if err.validator == "required":
        missing = err.message.split("'")[1]
        return missing, _t(_MESSAGES["required"])
    prop = schema.get("properties", {}).get(field, {})
    custom = prop.get("x-messages", {}).get(err.validator)
    if custom:
        return field, _t(custom)
    title = prop.get("title", field)
    v, val = err.validator, err.validator_value
    if v == "type":
        return field, _t(_MESSAGES["type"].get(val if isinstance(val, str) else "string", "格式不正确"))
    if v == "format":
        if val == "id-number":
            return field, _t(id_number_error(err.instance) or "身份证号码无效")
        if val == "uscc":
            return field, _t(uscc_error(err.instance) or "统一社会信用代码无效")
        if val == "mobile":
            return field, _t(mobile_error(err.instance) or "手机号码无效")
        return field, _t(_MESSAGES["format"].get(val, "格式不正确"))
    if v == "minimum":
        return field, _t("%(title)s不能小于%(value)s", title=title, value=_num(val))
    if v == "exclusiveMinimum":
        return field, _t("%(title)s必须大于%(value)s", title=title, value=_num(val))
    if v == "maximum":
        return field, _t("%(title)s不能大于%(value)s", title=title, value=_num(val))
    if v == "minLength":
        if val == 1:
            return field, _t(_MESSAGES["required"])
        return field, _t("%(title)s至少%(n)s个字符", title=title, n=val)
    if v == "maxLength":
        return field, _t("%(title)s最多%(n)s个字符", title=title, n=val)
    if v in ("oneOf", "enum", "const"):
        return field, _t("请选择有效的%(title)s", title=title)
    return field, _t("%(title)s格式不正确", title=title)


_VALIDATORS: dict[int, tuple[dict, Draft202012Validator]] = {}
_LABEL_KEYS = frozenset({"const", "title", "description"})


def _for_validation(node: Any) -> Any:
    """The schema as the validator reads it: a ``oneOf`` of labelled constants (how the forms give a choice its
    label) becomes the ``enum`` of those constants. Both accept the same values and both give the same message
    (:func:`_message`), but ``oneOf`` tries every branch and builds an error for each one that fails: about half of
    a form's validation time. The forms' titles are still read from the schema as written."""
    if isinstance(node, list):
        return [_for_validation(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _for_validation(value) for key, value in node.items()}
    branches = node.get("oneOf")
    if (isinstance(branches, list) and branches and "enum" not in node
            and all(isinstance(b, dict) and "const" in b and set(b) <= _LABEL_KEYS for b in branches)):
        consts = [b["const"] for b in branches]
        if len({json.dumps(c, sort_keys=True) for c in consts}) == len(consts):  # distinct: exactly one matches
            del out["oneOf"]
            out["enum"] = consts
    return out


def _validator(schema: dict) -> Draft202012Validator:
    """One validator per form schema (the schemas are cached per process version and never mutated)."""
    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_VALIDATORS) >= 512:  # bounded, should a caller ever pass fresh copies
            _VALIDATORS.clear()
        entry = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(_for_validation(schema),
                                                                         format_checker=_format_checker))
    return entry[1]


def validate(schema: dict, data: dict[str, Any], context: dict[str, Any] | None = None) -> dict[str, str]:
    """Return ``{field: message}``; empty when ``data`` is valid. ``context`` is the instance's
    data, for rules that compare with values not on this form."""
    errors: dict[str, str] = {}
    for name, value in data.items():  # first: what no rule below may even compare (or print, nested deep)
        problem = value_error(value)
        if problem:
            errors[name] = _t(problem)
    validator = _validator(schema)
    # validate once (both passes below read the same errors), without the values refused above
    found = list(validator.iter_errors({k: v for k, v in data.items() if k not in errors}))
    for err in sorted(found, key=lambda e: list(e.path)):
        if err.validator in ("allOf", "if", "then"):
            continue
        field, msg = _message(err, schema)
        errors.setdefault(field or "_form", msg)
    # conditional requirements surface as "required" errors nested under allOf/if/then (at any depth)
    nested = [sub for err in found for sub in err.context or []]
    while nested:
        sub = nested.pop(0)
        if sub.validator == "required":
            field, msg = _message(sub, schema)
            errors.setdefault(field, msg)
        nested += sub.context or []
    merged = {**(context or {}), **data}
    for name, prop in schema.get("properties", {}).items():
        if name in errors or name not in data:
            continue
        other = prop.get("x-not-before")
        if other:
            value, earliest = _iso_date(data[name]), _iso_date(merged.get(other))
            if value and earliest and value < earliest:
                other_title = schema["properties"].get(other, {}).get("title", other)
                errors[name] = _t("%(title)s不能早于%(other)s", title=prop.get("title", name), other=other_title)
        span = prop.get("x-at-most-days-of")  # [start field, end field]: no more days than the dates span
        if span and isinstance(data[name], int | float) and not isinstance(data[name], bool):
            first, last = (_iso_date(merged.get(f)) for f in span)
            if first and last and last >= first and data[name] > (last - first).days + 1:
                errors[name] = _t("%(title)s不能超过学习起止日期之间的天数（%(n)s天）",
                                  title=prop.get("title", name), n=(last - first).days + 1)
                continue
        within = prop.get("x-year-within")  # [start field, end field]: a year the dates touch, not a future one
        if within and isinstance(data[name], int) and not isinstance(data[name], bool):
            first, last = (_iso_date(merged.get(f)) for f in within)
            if data[name] > date.today().year:
                errors[name] = _t("%(title)s不能晚于今年", title=prop.get("title", name))
                continue
            if first and last and not first.year <= data[name] <= last.year:
                errors[name] = _t("%(title)s应与学习起止日期所在年度一致", title=prop.get("title", name))
                continue
        places = prop.get("x-decimals")
        if places is not None and _decimal_places(data[name]) > places:
            errors[name] = _t("%(title)s最多保留%(places)s位小数", title=prop.get("title", name), places=places)
            continue
        other = prop.get("x-maximum-field")
        if other and isinstance(data[name], int | float) and isinstance(merged.get(other), int | float):
            if data[name] > merged[other]:
                errors[name] = _t("%(title)s不能大于%(value)s", title=prop.get("title", name),
                                  value=_num(merged[other]))
    return errors


def _iso_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _decimal_places(value: Any) -> int:
    """Decimal places of a submitted number as written (0.1 has one, 1e-05 five); 0 for non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    exponent = Decimal(repr(value)).normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def defaults_from(schema: dict, data: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Fill ``x-default-from`` fields that were left out from the instance data."""
    out = dict(data)
    for name, prop in schema.get("properties", {}).items():
        src = prop.get("x-default-from")
        if src and name not in out and context.get(src) is not None:
            out[name] = context[src]
    return out


def display_value(prop: dict, value: Any) -> str:
    """A value as a reviewer reads it: choice titles instead of codes."""
    if value is None or value == "":
        return ""
    titles = _choice_titles(prop)
    if titles:
        return titles.get(value, str(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def choice_titles(prop: dict) -> dict[str, str]:
    return _choice_titles(prop)
