"""Pages of personnel management under /people (thin: the services decide, these commit once)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.auth import web_actor
from app.core.errors import InvalidState, ValidationFailed
from app.core.sorting import parse_sort, sort_args
from app.core.validators import whole_number, whole_numbers
from app.extensions import db

from . import bindings as binds
from . import fields, queries, services

bp = Blueprint("people", __name__)


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {"nav_people": False}
    return {"nav_people": services.may_manage(web_actor())}


def _manager():
    actor = web_actor()
    if not services.may_manage(actor):
        abort(404)
    return actor


def _form_values() -> dict[str, Any]:
    names = [f.name for f in fields.FIELDS] + ["department_id"]
    return {n: (request.form.get(n) or "").strip() for n in names if n in request.form}


@bp.get("/people")
@login_required
def index():
    actor = _manager()
    f = queries.Filters.of(request.args.to_dict())
    sort = parse_sort(request.args.get("sort"), queries.SORTS, queries.DEFAULT_SORT)
    page = queries.search(actor, f, request.args.get("page", 1, type=int) or 1, 20, sort=sort)
    unit_list = services.units(actor)
    unit_ids = {u.id for u in unit_list}
    department_unit = f.unit_id if f.unit_id in unit_ids else (unit_list[0].id if len(unit_list) == 1 else None)
    return render_template("people/index.html", page=page, f=f, units=unit_list,
                           departments=services.departments_of(department_unit), fields=fields,
                           args={**{k: v for k, v in request.args.items() if k not in ("page", "sort")},
                                 **sort_args(sort)}, sort=sort)


def _form_page(person=None, *, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
               unit_id: int | None = None, status: int = 200):
    actor = web_actor()
    unit_list = services.units(actor)
    if unit_id is None:
        unit_id = person.unit_id if person else (unit_list[0].id if unit_list else None)
    if values is None:
        values = {f.name: getattr(person, f.name) or "" for f in fields.FIELDS} if person else {}
        if person:
            values["department_id"] = person.department_id or ""
    return render_template("people/form.html", person=person, values=values, errors=errors or {},
                           units=unit_list, unit_id=unit_id, departments=services.departments_of(unit_id),
                           fields=fields), status


@bp.route("/people/new", methods=["GET", "POST"])
@login_required
def add():
    actor = _manager()
    if request.method == "GET":
        return _form_page(unit_id=whole_number(request.args.get("unit_id")))
    values = _form_values()
    unit_id = whole_number(request.form.get("unit_id"))
    try:
        person = services.add(actor, unit_id, values)
    except ValidationFailed as exc:
        return _form_page(values=values, errors=exc.fields, unit_id=unit_id, status=422)
    db.session.commit()
    flash(_("已添加人员：%(name)s", name=person.name), "success")
    return redirect(url_for("people.view", person_id=person.id))


@bp.get("/people/<int:person_id>")
@login_required
def view(person_id: int):
    person = services.visible(_manager(), person_id)
    return render_template("people/view.html", person=person, fields=fields,
                           department=services.department_name(person.department_id))


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@login_required
def edit(person_id: int):
    actor = _manager()
    person = services.visible(actor, person_id)
    if request.method == "GET":
        return _form_page(person)
    values = _form_values()
    try:
        services.update(actor, person.id, values)
    except ValidationFailed as exc:
        return _form_page(person, values={**values, "id_number": person.id_number}, errors=exc.fields, status=422)
    db.session.commit()
    flash(_("已保存"), "success")
    return redirect(url_for("people.view", person_id=person.id))


@bp.post("/people/<int:person_id>/reset-password")
@login_required
def reset_password(person_id: int):
    actor = _manager()
    try:
        user, password = services.reset_password(actor, person_id)
    except ValidationFailed as exc:
        flash(next(iter(exc.fields.values()), exc.message), "danger")
        return redirect(url_for("people.view", person_id=person_id))
    db.session.commit()
    person = services.visible(actor, person_id)
    return render_template("people/view.html", person=person, fields=fields,
                           department=services.department_name(person.department_id),
                           temp_password=(user.login, password))


@bp.route("/people/<int:person_id>/unbind", methods=["GET", "POST"])
@login_required
def unbind(person_id: int):
    actor = _manager()
    person = services.visible(actor, person_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        return render_template("people/unbind.html", person=person)
    name = person.name
    services.unbind(actor, person.id)
    db.session.commit()
    flash(_("已解除%(name)s与本单位的绑定，其培训档案保留", name=name), "success")
    return redirect(url_for("people.index"))


# --------------------------------------------------------------------------- binding confirmation


@bp.get("/people/bindings")
@login_required
def bindings():
    actor = _manager()
    return render_template("people/bindings.html", requests=binds.pending(actor), labels=binds.STATUS_LABELS)


@bp.post("/people/bindings")
@login_required
def decide():
    actor = _manager()
    ids = whole_numbers(request.form.getlist("ids"))
    approve = request.form.get("decision") == "yes"
    try:
        done = binds.decide(actor, ids, approve)
    except (ValidationFailed, InvalidState) as exc:
        db.session.rollback()
        flash(next(iter(exc.fields.values()), exc.message), "danger")
        return redirect(url_for("people.bindings"))
    db.session.commit()
    flash(_("已确认%(n)s条绑定申请", n=len(done)) if approve else _("已拒绝%(n)s条绑定申请", n=len(done)), "success")
    return redirect(url_for("people.bindings"))


@bp.route("/me/binding", methods=["GET", "POST"])
@login_required
def ask_binding():
    actor = web_actor()
    if actor.person is None:
        abort(404)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            unit = binds.find_unit(values.get("unit_id"), values.get("unit_id_lookup"))
            binds.ask(actor, unit)
        except ValidationFailed as exc:
            errors = exc.fields
        except InvalidState as exc:
            errors = {"unit_id": exc.message}
        else:
            db.session.commit()
            flash(_("绑定申请已提交，等待单位确认"), "success")
            return redirect(url_for("people.ask_binding"))
    return render_template("people/ask_binding.html", person=actor.person, requests=binds.my_requests(actor),
                           labels=binds.STATUS_LABELS, values=values, errors=errors), (422 if errors else 200)
