"""Web pages: my / my staff's certificates, the PDF, batch printing and the public verification page."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.core.auth import web_actor
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.validators import whole_number
from app.extensions import db

from . import batch, services
from .render import render_pdf
from .urls import public_base_url, verify_url

bp = Blueprint("certificates", __name__)


def pdf_response(cert, download: bool = False):  # noqa: ANN001, ANN201
    buf = BytesIO()
    render_pdf(services.certificate_view(cert, verify_url(cert.number)), buf)
    buf.seek(0)
    return send_file(buf, mimetype="application/pdf", as_attachment=download,
                     download_name=f"继续教育证书_{cert.year}_{cert.number}.pdf")


@bp.get("/certificates")
@login_required
def index():
    actor = web_actor()
    return render_template("certificates/index.html", certificates=services.certificates_in_scope(actor),
                           own_years=services.own_years(actor), manages=bool(actor.staff_roots), errors={},
                           values={})


@bp.post("/certificates")
@login_required
def issue():
    actor = web_actor()
    values = {"person_id_number": (request.form.get("person_id_number") or "").strip(),
              "year": (request.form.get("year") or "").strip()}
    try:
        cert = services.issue_for(actor, values["person_id_number"] or None, values["year"])
    except ValidationFailed as exc:
        db.session.rollback()
        return render_template("certificates/index.html", certificates=services.certificates_in_scope(actor),
                               own_years=services.own_years(actor), manages=bool(actor.staff_roots),
                               errors=exc.fields, values=values), 422
    db.session.commit()
    flash(_("已生成证书 %(number)s", number=cert.number), "success")
    return redirect(url_for("certificates.index", new=cert.number), 303)


@bp.get("/certificates/<number>/pdf")
@login_required
def pdf(number: str):
    cert = services.printable_certificate(web_actor(), number)
    return pdf_response(cert, download=request.args.get("download") == "1")


@bp.get("/certificates/verify")
def verify_form():
    number = (request.args.get("number") or "").strip()
    holder = (request.args.get("name") or "").strip()
    if number:
        return redirect(url_for("certificates.verify_page", number=services.normalise_number(number),
                                **({"name": holder} if holder else {})))
    return render_template("certificates/verify.html", result=None)


@bp.get("/certificates/verify/<number>")
def verify_page(number: str):
    """Public (no login): what the QR code on a certificate opens (a limited number of times per minute)."""
    holder = request.args.get("name")
    result = services.verify(number, address=request.remote_addr, holder=holder)
    db.session.commit()  # the request was counted
    return render_template("certificates/verify.html", result=result, holder=(holder or "").strip())


#: People listed on the batch page; "all matching" reaches up to batch.MAX_BATCH.
BATCH_PAGE_ROWS = 200


@bp.route("/certificates/batch", methods=["GET", "POST"])
@login_required
def batch_print():
    actor = web_actor()
    if not actor.staff_roots:
        raise PermissionDenied(_("只有单位或主管部门、人社部门的管理员可以批量打印证书"))
    unit_id = whole_number(request.values.get("unit_id"))
    q = (request.values.get("q") or "").strip()[:18] or None
    filters = {k: v for k, v in (("unit_id", unit_id), ("q", q)) if v}
    page = {"people": batch.people_in_scope(actor, unit_id=unit_id, q=q, limit=BATCH_PAGE_ROWS),
            "matching": batch.count_in_scope(actor, unit_id=unit_id, q=q), "units": batch.units_in_scope(actor),
            "filters": filters, "max_batch": batch.MAX_BATCH}
    if request.method == "GET":
        return render_template("certificates/batch.html", **page, errors={}, values={}, selected=set())
    values = {"year": (request.form.get("year") or "").strip()}
    if request.form.get("all_matching") == "1":
        ids = [p.id for p in batch.people_in_scope(actor, unit_id=unit_id, q=q, limit=batch.MAX_BATCH + 1)]
    else:
        ids = [n for v in request.form.getlist("person_ids") if (n := whole_number(v)) is not None]
    try:
        job = batch.start_batch(actor, ids, values["year"], public_base_url())
    except ValidationFailed as exc:
        db.session.rollback()
        return render_template("certificates/batch.html", **page, errors=exc.fields, values=values,
                               selected=set(ids)), 422
    db.session.commit()
    batch.enqueue_batch(job)
    flash(_("批量打印任务已提交，可在任务中心查看进度并下载"), "success")
    return redirect(url_for("taskcentre.jobs"), 303)
