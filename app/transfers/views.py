"""Pages of 人员调转 under /transfers (thin: the services decide, these commit once). The reviews themselves are
tasks of the ordinary inbox (/tasks)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.accounts.models import OrgKind
from app.core.auth import web_actor
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.core.sorting import parse_sort, sort_args
from app.core.validators import page_number, whole_number
from app.extensions import db
from app.people import services as people
from app.registration import picker
from app.workflow import services as workflow
from app.workflow import webforms

from . import queries, services

bp = Blueprint("transfers", __name__)


def _manager():
    actor = web_actor()
    if not people.may_manage(actor):
        abort(404)
    return actor


@bp.get("/transfers")
@login_required
def index():
    actor = _manager()
    box = request.args.get("box", "in")
    if box not in queries.BOXES:
        box = "in"
    q = (request.args.get("q") or "").strip()[:50]
    sort = parse_sort(request.args.get("sort"), queries.SORTS, queries.DEFAULT_SORT)
    page = queries.transfers(actor, box=box, q=q, page=page_number(request.args.get("page")), sort=sort)
    return render_template(
        "transfers/index.html",
        page=page,
        box=box,
        q=q,
        boxes=queries.BOXES,
        counts=queries.counts(actor),
        args={"box": box, "q": q, **sort_args(sort)},
        sort=sort,
    )


def _form(
    person: Any,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
):
    return render_template(
        "transfers/new.html",
        person=person,
        values=values or {},
        errors=errors or {},
        message=message,
        department=people.department_name(person.department_id) if person is not None else None,
    ), status


@bp.get("/transfers/new")
@login_required
def new():
    actor = _manager()
    person_id = whole_number(request.args.get("person_id"))
    id_number = (request.args.get("id_number") or "").strip()[:18]
    if person_id is None and not id_number:
        return _form(None)
    try:
        person = services.person_to_transfer(actor, person_id=person_id, id_number=id_number)
    except NotFound:
        if person_id is not None:
            abort(404)
        return _form(None, values={"id_number": id_number}, errors={"id_number": _(people.NOT_FOUND)}, status=404)
    return _form(person)


@bp.post("/transfers/new")
@login_required
def start():
    actor = _manager()
    person = services.person_to_transfer(actor, person_id=whole_number(request.form.get("person_id")))
    values = {k: (request.form.get(k) or "").strip() for k in (*services.FIELDS, "to_unit_id_lookup")}
    errors = picker.resolve_lookups(values, {"to_unit_id": (OrgKind.EMPLOYER_UNIT,)})
    if errors:
        return _form(person, values=values, errors=errors, status=422)
    try:
        instance = services.start_transfer(actor, person, values)
    except ValidationFailed as exc:
        db.session.rollback()
        return _form(person, values=values, errors=exc.fields, message=exc.message, status=422)
    except InvalidState as exc:
        db.session.rollback()
        return _form(person, values=values, message=exc.message, status=409)
    db.session.commit()
    flash(_("调出申请已提交，等待审核"), "success")
    return redirect(url_for("transfers.view", transfer_id=instance.id))


@bp.get("/transfers/<int:transfer_id>")
@login_required
def view(transfer_id: int):
    actor = web_actor()
    row = queries.visible(actor, transfer_id)
    return render_template(
        "transfers/view.html",
        row=row,
        events=workflow.history(row.instance),
        props=webforms.all_properties(row.instance),
        can_see_case=workflow.can_see_instance(actor, row.instance),
        orgs=queries.unit_names({t.candidate_org_id for t in row.waiting if t.candidate_org_id}),
    )
