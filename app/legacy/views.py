"""Pages of 历史数据 under /legacy: 历史信息绑定 (claim an old unit) and 历史证书查询/打印 (thin: the services
decide, these commit once)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.archive.models import SUBJECT_TYPES
from app.certificates.render import render_pdf
from app.core.auth import web_actor
from app.core.errors import InvalidState, ValidationFailed
from app.core.paging import Page
from app.core.sorting import parse_sort, sort_args
from app.core.validators import page_number, whole_number
from app.extensions import db
from app.people import services as people

from . import services
from .models import CLAIM_METHODS

PER_PAGE = 20

bp = Blueprint("legacy", __name__)


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {"nav_legacy": False}
    return {"nav_legacy": people.may_manage(web_actor())}


def _claim_form(method: str) -> dict[str, Any]:
    form = request.form
    data: dict[str, Any] = {
        "old_unit_name": form.get("old_unit_name", ""),
        "old_unit_code": form.get("old_unit_code", ""),
    }
    if method == "people":
        data["people"] = [
            {"name": form.get(f"people.{i}.name", ""), "id_number": form.get(f"people.{i}.id_number", "")}
            for i in range(3)
        ]
    return data


@bp.route("/legacy/claim", methods=["GET", "POST"])
@login_required
def claim():
    actor = web_actor()
    units = services.claiming_units(actor)
    if not units and not people.may_manage(actor):
        abort(404)
    errors: dict[str, str] = {}
    message = None
    method = request.form.get("method") or request.args.get("method") or "unit_code"
    values: dict[str, Any] = {}
    if request.method == "POST":
        unit_id = request.form.get("unit_id")
        values = request.form.to_dict()
        try:
            result = services.claim(actor, unit_id, method, _claim_form(method))
        except ValidationFailed as exc:
            errors, message = exc.fields, exc.message
        except InvalidState as exc:
            message = exc.message
        else:
            db.session.commit()
            flash(
                _(
                    "已绑定旧系统单位“%(name)s”：%(people)s名人员、%(records)s条历史学时记录",
                    name=result.legacy_unit.name,
                    people=len(result.joined) + len(result.elsewhere),
                    records=result.records,
                ),
                "success",
            )
            if result.elsewhere:
                flash(
                    _("其中%(n)s人已在其他单位，未转入本单位，其历史学时已并入本人档案", n=len(result.elsewhere)),
                    "info",
                )
            return redirect(url_for("legacy.claim"))
    claims = services.claims_of(actor)
    return render_template(
        "legacy/claim.html",
        units=units,
        claims=claims,
        methods=CLAIM_METHODS,
        counts=services.people_count([c.id for c in claims]),
        method=method,
        values=values,
        errors=errors,
        message=message,
    ), (422 if errors or message else 200)


@bp.get("/legacy/records")
@login_required
def records():
    actor = web_actor()
    q = (request.args.get("q") or "").strip()[:50]
    year = whole_number(request.args.get("year"), 9999)
    page = page_number(request.args.get("page"))
    sort = parse_sort(request.args.get("sort"), services.RECORD_SORTS, services.RECORD_DEFAULT_SORT)
    rows, total = services.records(actor, q, year, page, PER_PAGE, sort=sort)
    return render_template(
        "legacy/records.html",
        sort=sort,
        args={**{k: v for k, v in (("q", q), ("year", year)) if v}, **sort_args(sort)},
        rows=rows,
        total=total,
        q=q,
        year=year,
        listing=Page(rows, total, page, PER_PAGE),
        subjects=SUBJECT_TYPES,
    )


@bp.get("/legacy/certificates")
@login_required
def certificates():
    actor = web_actor()
    q = (request.args.get("q") or "").strip()[:50]
    page = page_number(request.args.get("page"))
    sort = parse_sort(request.args.get("sort"), services.CERTIFICATE_SORTS, services.CERTIFICATE_DEFAULT_SORT)
    rows, total = services.certificates(actor, q, page, PER_PAGE, sort=sort)
    args = {**({"q": q} if q else {}), **sort_args(sort)}
    return render_template(
        "legacy/certificates.html", rows=rows, total=total, q=q, listing=Page(rows, total, page, PER_PAGE),
        sort=sort, args=args,
    )


@bp.get("/legacy/certificates/<number>/pdf")
@login_required
def certificate_pdf(number: str):
    row = services.certificate(web_actor(), number)
    buf = BytesIO()
    render_pdf(services.certificate_view(row), buf)
    buf.seek(0)
    return send_file(
        buf,
        mimetype="application/pdf",
        as_attachment=bool(request.args.get("download")),
        download_name=f"历史证书_{row.year}_{row.number}.pdf",
    )
