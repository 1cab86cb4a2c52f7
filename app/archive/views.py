"""Web pages: 培训档案 (own or a person in scope), 档案查询 (units, departments, bureaus),
学时预检 (pre-check before declaring), 学时申报记录 / 单位申报记录, and 重新统计学时."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.archive import records, services
from app.archive.jobs import recount_job
from app.archive.models import LEARNING_FORMS, SUBJECT_TYPES
from app.archive.services.search import DEFAULT_SORT as SEARCH_DEFAULT_SORT
from app.archive.services.search import SORTS as SEARCH_SORTS
from app.core.auth import web_actor
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.i18n import translate, translated_error
from app.core.jobs import enqueue
from app.core.sorting import parse_sort, sort_args
from app.core.validators import whole_number
from app.extensions import db

bp = Blueprint("archive", __name__)

GENDERS = ("男", "女")
TITLE_LEVELS = ("正高级", "副高级", "中级", "初级", "员级")


@bp.app_template_filter("hours")
def _hours(value) -> str:
    """18 → "18", Decimal("17.50") → "17.5"."""
    if value is None or value == "":
        return "—"
    text = f"{Decimal(str(value)).quantize(Decimal('0.1')):f}"
    return text[:-2] if text.endswith(".0") else text


@bp.app_context_processor
def _nav() -> dict:
    if not current_user.is_authenticated:
        return {"nav_archive_own": False, "nav_archive_org": False, "result_badges": services.RESULT_BADGES}
    actor = web_actor()
    own = actor.person is not None
    return {"nav_archive_own": own, "nav_archive_org": bool(actor.staff_roots),
            "result_badges": services.RESULT_BADGES}


def _int_arg(name: str, default: int | None = None) -> int | None:
    raw = (request.values.get(name) or "").strip()
    number = whole_number(raw, maximum=999_999)
    return default if number is None else number


def _page_size() -> int:
    return int(current_app.config.get("INBOX_PAGE_SIZE", 20))


@bp.get("/archive")
@login_required
def archive():
    actor = web_actor()
    id_number = (request.args.get("person_id_number") or "").strip() or None
    if id_number is None and actor.staff_roots and \
            actor.person is None:
        return redirect(url_for("archive.search", **({"year": request.args["year"]} if "year" in request.args
                                                     else {})))
    person = services.visible_person(actor, id_number)
    year = _int_arg("year") or date.today().year
    if not 1990 <= year <= 2100:
        year = date.today().year
    summary = services.year_summary(person, year)
    stored = services.stored_verification(person, year)
    years = sorted(set(services.years_of(person)) | {date.today().year, year}, reverse=True)
    return render_template("archive/archive.html", summary=summary, stored=stored, years=years,
                           id_number=id_number, own=person.user_id == actor.id, subjects=SUBJECT_TYPES)


@bp.post("/archive/recount")
@login_required
def recount():
    """重新统计学时: one person's year, or every person in the actor's scope."""
    actor = web_actor()
    year = _int_arg("year")
    if year is None or not 1990 <= year <= 2100:
        raise ValidationFailed(_("请填写年度（如 2026）"), {"year": _("请填写年度（如 2026）")})
    id_number = (request.form.get("person_id_number") or "").strip() or None
    if request.form.get("all") == "1":
        if not actor.staff_roots:
            raise PermissionDenied(_("只有单位、主管部门和人社部门的管理员可以批量重新统计学时"))
        result = enqueue(recount_job, year, actor.id)
        if isinstance(result, int):
            flash(_("已重新统计 %(year)s 年度 %(count)s 人的学时", year=year, count=result), "success")
        else:
            flash(_("已在后台开始重新统计 %(year)s 年度学时，稍后刷新查看结果", year=year), "info")
        return redirect(url_for("archive.search", year=year))
    person = services.visible_person(actor, id_number)
    services.verify_year(person, year)
    db.session.commit()
    flash(_("已重新统计 %(year)s 年度学时：%(result)s", year=year,
            result=translate(services.year_summary(person, year).result_label)), "success")
    args = {"year": year}
    if id_number:
        args["person_id_number"] = id_number
    return redirect(url_for("archive.archive", **args))


@bp.get("/archive/search")
@login_required
def search():
    actor = web_actor()
    if not actor.staff_roots:
        raise PermissionDenied(_("档案查询仅供单位、主管部门和人社部门的管理员使用"))
    a = request.args
    year = _int_arg("year") or date.today().year
    verified = {"yes": True, "no": False}.get(a.get("verified") or "")
    filters = {k: (a.get(k) or "").strip() for k in ("name", "id_number", "region", "title_level", "verified",
                                                     "gender", "title_series", "org")}
    org = _int_arg("org")
    sort = parse_sort(a.get("sort"), SEARCH_SORTS, SEARCH_DEFAULT_SORT)
    page = services.search(actor, year=year, name=filters["name"] or None, id_number=filters["id_number"] or None,
                           region=filters["region"] or None, title_level=filters["title_level"] or None,
                           verified=verified, gender=filters["gender"] or None,
                           title_series=filters["title_series"] or None, org_id=org,
                           page=_int_arg("page", 1) or 1, per_page=_page_size(), sort=sort)
    args = {k: v for k, v in filters.items() if v}
    args["year"] = year
    args.update(sort_args(sort))
    return render_template("archive/search.html", page=page, year=year, filters=filters, args=args,
                           genders=GENDERS, title_levels=TITLE_LEVELS, sort=sort)


@bp.route("/archive/precheck", methods=["GET", "POST"])
@login_required
def precheck():
    actor = web_actor()
    values = {k: (request.values.get(k) or "").strip() for k in
              ("person_id_number", "year", "subject_type", "hours", "days", "start_date", "end_date")}
    values["year"] = values["year"] or str(date.today().year)
    values["subject_type"] = values["subject_type"] or "professional"
    result, failure = None, None
    if request.method == "POST" or request.args.get("hours"):
        try:
            result = services.precheck(actor, values)
        except ValidationFailed as exc:
            failure = exc
    errors, message = (failure.fields, failure.message) if failure else ({}, None)
    if request.args.get("format") == "json":  # the declaration page asks inline, in the page's language
        if errors:
            return jsonify(translated_error(failure)), 422
        body = result.to_dict() if result else {}
        if "missing_after" in body:
            body["missing_after"] = [translate(m) for m in body["missing_after"]]
        return jsonify(body)
    return render_template("archive/precheck.html", values=values, result=result, errors=errors,
                           message=message, subjects=SUBJECT_TYPES, org_user=bool(actor.staff_roots)), \
        (422 if errors else 200)


@bp.get("/credit-records")
@login_required
def credit_records():
    actor = web_actor()
    a = request.args
    default_scope = "mine" if not actor.staff_roots else "unit"
    scope = a.get("scope") if a.get("scope") in records.SCOPES else default_scope
    status = a.get("status") if a.get("status") in records.STATUS_TABS else "all"
    form = a.get("learning_form") if a.get("learning_form") in LEARNING_FORMS else None
    subject = a.get("subject_type") if a.get("subject_type") in SUBJECT_TYPES else None
    filters = {"year": _int_arg("year"), "learning_form": form, "subject_type": subject,
               "course_name": (a.get("course_name") or "").strip()[:200], "name": (a.get("name") or "").strip(),
               "id_number": (a.get("id_number") or "").strip()}
    page = records.declarations(actor, scope=scope, status=status, year=filters["year"], learning_form=form,
                                name=filters["name"] or None, id_number=filters["id_number"] or None,
                                subject_type=subject, course_name=filters["course_name"] or None,
                                page=_int_arg("page", 1) or 1, per_page=_page_size())
    args = {k: v for k, v in filters.items() if v}
    args.update(scope=scope, status=status)
    return render_template("archive/records.html", page=page, scope=scope, status=status, filters=filters,
                           args=args, tabs=records.STATUS_TABS, forms=LEARNING_FORMS, subjects=SUBJECT_TYPES,
                           labels=records.STATUS_LABELS, org_user=bool(actor.staff_roots))
