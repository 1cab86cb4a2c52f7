"""Between the web pages and the form schemas: field order, parsing posted forms, read-only display.

Nothing here writes; the views call :mod:`app.workflow.services` for that.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from app.workflow.forms import choice_titles, display_value
from app.workflow.models import ProcessInstance
from app.workflow.versions import forms_for, parsed_by_hash

#: Fields of a review form that are the decision itself, not data about the declaration.
DECISION_FIELDS = ("outcome", "action", "comment")


def ordered_fields(schema: dict, ui: dict | None) -> list[tuple[str, dict, dict]]:
    """(name, property, ui options) in ``ui:order``, then any remaining properties."""
    ui = ui or {}
    props = schema.get("properties", {})
    order = [n for n in ui.get("ui:order", []) if n in props]
    order += [n for n in props if n not in order]
    return [(n, props[n], ui.get(n, {})) for n in order]


def required_fields(schema: dict) -> list[str]:
    """Fields to mark with *: the schema's ``required`` plus those an ``x-extends-when`` choice
    makes required (e.g. every declaration field when the applicant resubmits). Requirements
    that depend on a decision (a comment for reject / return) are explained by help text instead."""
    out = list(schema.get("required", []))
    rules = list(schema.get("allOf", []))
    while rules:
        rule = rules.pop(0)
        cond = (rule.get("if") or {}).get("properties", {})
        if cond and all("const" in c for c in cond.values()):
            out += [n for n in (rule.get("then") or {}).get("required", []) if n not in out]
            rules += (rule.get("then") or {}).get("allOf", [])
    return out


def is_file_field(prop: dict, ui_opts: dict) -> bool:
    return ui_opts.get("ui:widget") == "file"


def file_fields(schema: dict, ui: dict | None) -> list[str]:
    return [n for n, p, u in ordered_fields(schema, ui) if is_file_field(p, u)]


def raw_from_form(schema: dict, ui: dict | None, form: MultiDict) -> dict[str, Any]:
    """The posted values of the schema's fields (strings, lists for arrays); the service coerces
    and validates them. For file fields this is the ids of files kept from before."""
    raw: dict[str, Any] = {}
    for name, prop, _ui in ordered_fields(schema, ui):
        if prop.get("type") == "array":
            raw[name] = [v for v in form.getlist(name) if v != ""]
        elif prop.get("type") == "boolean":
            raw[name] = "true" if form.get(name) else "false"
        elif name in form:
            raw[name] = form.get(name)
    return raw


def prefill(schema: dict, data: dict[str, Any], declaration_fields: set[str]) -> dict[str, Any]:
    """Values to show on a task form before the actor has typed anything: the declaration's own
    fields (for the applicant revising it) and ``x-default-from`` defaults (e.g. 认定学时 from
    拟申报学时). Earlier reviewers' decisions are never carried over."""
    out: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if name in DECISION_FIELDS:  # never carried over; a form's own default (修改后重新提交) is offered
            if "default" in prop:
                out[name] = prop["default"]
            continue
        if name in declaration_fields and data.get(name) is not None:
            out[name] = data[name]
        elif prop.get("x-default-from") and data.get(prop["x-default-from"]) is not None:
            out[name] = data[prop["x-default-from"]]
    return {k: _as_input(v) for k, v in out.items()}


def _as_input(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return value
    return "" if value is None else str(value)


def shown(prop: dict, value: Any) -> str:
    """A value for reading: choice titles (translated) instead of codes, lists as counts."""
    if isinstance(value, list):
        return f"{len(value)}" if value else ""
    text = display_value(prop, value)
    if text and choice_titles(prop):
        return gettext(text)
    return text


def start_schema(instance: ProcessInstance) -> tuple[dict, dict]:
    """The start form of the version the instance runs on (not necessarily the newest one)."""
    start = parsed_by_hash(instance.version_hash).start
    forms = forms_for(instance.version_hash)
    return forms.get(start.form or "", {}), forms.get(start.ui_form or "", {})


def all_properties(instance: ProcessInstance) -> dict[str, dict]:
    """Every field of every form of the instance's version, start form first (titles for changes)."""
    schema, _ui = start_schema(instance)
    props: dict[str, dict] = {}
    for form in forms_for(instance.version_hash).values():
        for name, prop in (form.get("properties") or {}).items():
            props.setdefault(name, prop)
    props.update(schema.get("properties", {}))
    return props


def declaration_rows(instance: ProcessInstance, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The declaration as a reviewer reads it: start-form titles and choice titles, in form order,
    then values later steps added (e.g. 认定学时). Attachments and hidden fields are listed apart."""
    schema, ui = start_schema(instance)
    rows = []
    seen = set()
    for name, prop, opts in ordered_fields(schema, ui):
        seen.add(name)
        if is_file_field(prop, opts) or opts.get("ui:widget") == "hidden" or opts.get("ui:display") == "none":
            continue
        rows.append({"name": name, "title": prop.get("title", name), "value": shown(prop, data.get(name)),
                     "long": opts.get("ui:widget") == "textarea"})
    for name, prop in all_properties(instance).items():
        if name in seen or name in DECISION_FIELDS or prop.get("type") == "array":
            continue
        value = shown(prop, data.get(name))
        if value != "":
            rows.append({"name": name, "title": prop.get("title", name), "value": value, "long": False})
    return rows


def masked(rows: list[dict[str, Any]], props: dict[str, dict]) -> list[dict[str, Any]]:
    """The rows with ID and mobile numbers masked, for pages other than the task that needs them."""
    from app.core.validators import mask_id_number, mask_mobile

    maskers = {"id-number": mask_id_number, "mobile": mask_mobile}
    out = []
    for row in rows:
        mask = maskers.get(props.get(row["name"], {}).get("format", ""))
        out.append({**row, "value": mask(row["value"])} if mask and row["value"] else row)
    return out


def _file_names(value: Any, files: dict[int, str]) -> str | None:
    """A list of attachment ids by the files' names (None when it is not such a list)."""
    if not isinstance(value, list) or not value or not all(isinstance(i, int) and i in files for i in value):
        return None
    return "、".join(files[i] for i in value)


def change_rows(changes: dict | None, props: dict[str, dict], files: dict[int, str] | None = None
                ) -> list[tuple[str, str, str]]:
    """(title, old, new) for an approval event's ``changes`` (ID and mobile numbers masked; attachments by
    their file names when ``files`` maps their ids to names)."""
    out = []
    for name, pair in (changes or {}).items():
        old, new = (list(pair) + [None, None])[:2] if isinstance(pair, list | tuple) else (None, pair)
        prop = props.get(name, {})
        if files and prop.get("type") == "array":
            old_names, new_names = _file_names(old or [], files), _file_names(new or [], files)
            if old_names is not None or new_names is not None:
                out.append((prop.get("title", name), old_names or "", new_names or ""))
                continue
        row = masked([{"name": name, "value": shown(prop, old)}, {"name": name, "value": shown(prop, new)}], props)
        out.append((prop.get("title", name), row[0]["value"], row[1]["value"]))
    return out


def change_list(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``changes`` list ``[{field, label, old, new}]`` a process stored in its data (info changes),
    for showing old → new per changed field; empty when the process keeps none."""
    changes = data.get("changes")
    if not isinstance(changes, list):
        return []
    return [c for c in changes if isinstance(c, dict) and "field" in c]


#: process key -> fn(actor, instance or None) -> {field: [(value, title)]}: options a web form offers
#: that depend on who fills it in (see :func:`with_choices`).
_CHOICE_PROVIDERS: dict[str, Any] = {}


def register_choices(process_key: str, provider: Any) -> None:
    _CHOICE_PROVIDERS[process_key] = provider


def choices_for(process_key: str, actor: Any, instance: ProcessInstance | None = None) -> dict:
    provider = _CHOICE_PROVIDERS.get(process_key)
    return provider(actor, instance) if provider else {}


def with_choices(schema: dict, choices: dict[str, list[tuple[Any, str]]]) -> dict:
    """A copy of ``schema`` whose fields named in ``choices`` offer those (value, title) options
    (e.g. organisations to pick from, which a static form file cannot list)."""
    if not choices:
        return schema
    out = dict(schema)
    props = dict(out.get("properties", {}))
    for name, options in choices.items():
        if name in props:
            props[name] = {**props[name], "oneOf": [{"const": v, "title": t} for v, t in options]}
    out["properties"] = props
    return out
