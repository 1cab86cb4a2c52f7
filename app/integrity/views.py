"""Pages of 信用管理 under /integrity: 失信信息录入 (the list, a new entry), 单位失信信息查看 (``?view=unit``),
one entry and its revocation (thin: the services decide, these commit once)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.models import OrgKind
from app.core.auth import web_actor
from app.core.errors import InvalidState, ValidationFailed
from app.core.sorting import parse_sort, sort_args
from app.core.validators import page_number
from app.extensions import db
from app.registration import picker

from . import services
from .models import STATUS_LABELS, SUBJECT_TYPES

bp = Blueprint("integrity", __name__)

#: More organisations in scope than this: the new-entry form searches them (the organisation picker) instead of
#: listing them all in a drop-down.
PICKER_ABOVE = 200


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {"nav_integrity": False}
    return {"nav_integrity": services.may_manage(web_actor())}


def _manager():
    actor = web_actor()
    if not services.may_manage(actor):
        abort(404)
    return actor


@bp.get("/integrity")
@login_required
def index():
    actor = _manager()
    view = request.args.get("view") if request.args.get("view") in services.VIEWS else "all"
    f = {
        "subject_type": request.args.get("subject_type", "")
        if request.args.get("subject_type") in SUBJECT_TYPES
        else "",
        "name": (request.args.get("name") or "").strip()[:100],
        "status": request.args.get("status", "") if request.args.get("status") in STATUS_LABELS else "",
    }
    sort = parse_sort(request.args.get("sort"), services.SORTS, services.DEFAULT_SORT)
    page = services.search(actor, view=view, **f, page=page_number(request.args.get("page")), sort=sort)
    args = {**{k: v for k, v in {"view": view, **f}.items() if v}, **sort_args(sort)}
    return render_template(
        "integrity/index.html",
        page=page,
        view=view,
        f=f,
        args=args,
        sort=sort,
        subject_types=SUBJECT_TYPES,
        statuses=STATUS_LABELS,
    )


@bp.route("/integrity/new", methods=["GET", "POST"])
@login_required
def new():
    actor = _manager()
    values: dict[str, Any] = {"subject_type": request.args.get("subject_type") or "person"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        names = ("subject_type", "person_id_number", "org_id", "org_id_lookup", "content")
        values = {k: (request.form.get(k) or "").strip() for k in names}
        # without JavaScript the organisation picker posts a name or USCC to look up
        lookup_errors = picker.resolve_lookups(values, {"org_id": list(OrgKind)})
        try:
            entry = services.record(actor, values)
        except ValidationFailed as exc:
            errors = {**exc.fields, **lookup_errors}
        else:
            db.session.commit()
            flash(_("已录入失信信息：%(name)s", name=entry.subject_name), "success")
            return redirect(url_for("integrity.view", entry_id=entry.id))
    orgs = services.subject_organisations(actor, limit=PICKER_ABOVE + 1)
    return render_template(
        "integrity/new.html",
        values=values,
        errors=errors,
        subject_types=SUBJECT_TYPES,
        orgs=orgs,
        picker=len(orgs) > PICKER_ABOVE,
        org_kinds=[k.value for k in OrgKind],
    ), (422 if errors else 200)


@bp.get("/integrity/<int:entry_id>")
@login_required
def view(entry_id: int):
    actor = _manager()
    entry = services.visible(actor, entry_id)
    return render_template(
        "integrity/view.html",
        entry=entry,
        can_revoke=services.can_revoke(actor, entry),
        errors={},
        subject_types=SUBJECT_TYPES,
        statuses=STATUS_LABELS,
    )


@bp.post("/integrity/<int:entry_id>/revoke")
@login_required
def revoke(entry_id: int):
    actor = _manager()
    entry = services.visible(actor, entry_id)
    try:
        services.revoke(actor, entry.id, request.form.get("reason"))
    except ValidationFailed as exc:
        return render_template(
            "integrity/view.html",
            entry=entry,
            can_revoke=services.can_revoke(actor, entry),
            errors=exc.fields,
            subject_types=SUBJECT_TYPES,
            statuses=STATUS_LABELS,
        ), 422
    except InvalidState as exc:
        flash(_(exc.message), "danger")
        return redirect(url_for("integrity.view", entry_id=entry.id))
    db.session.commit()
    flash(_("已撤销该失信信息，原记录与撤销原因均已保留"), "success")
    return redirect(url_for("integrity.view", entry_id=entry.id))
