"""JSON API of the training archive: /api/v1/archive, /archive/precheck, /archive/search,
/archive/recount and /credit-declarations (design §3)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import Schema

from app.api.args import json_body, load_args, page_args
from app.api.schemas import sort_field
from app.archive import records, services
from app.archive.jobs import recount_job
from app.archive.models import LEARNING_FORMS, SUBJECT_TYPES
from app.archive.openapi import add_paths  # noqa: F401  (the OpenAPI paths of these routes)
from app.archive.services.search import DEFAULT_SORT as SEARCH_DEFAULT_SORT
from app.archive.services.search import SORTS as SEARCH_SORTS
from app.core.auth import api_actor
from app.core.errors import ValidationFailed
from app.core.jobs import enqueue
from app.core.models import api_time
from app.core.sorting import Sort, parse_sort
from app.core.validators import mask_id_number, whole_number
from app.core.web import year_argument
from app.extensions import db

bp = Blueprint("archive_api", __name__)


def _after() -> int | None:
    raw = request.args.get("after")
    if raw in (None, ""):
        return None
    after = whole_number(raw)
    if after is None:
        raise ValidationFailed("请求参数有误", {"after": "应为上一页返回的 next_after"})
    return after


class _SearchSortArgs(Schema):
    sort = sort_field(SEARCH_SORTS, SEARCH_DEFAULT_SORT, "the order the people were added")


def _search_sort(after: int | None) -> Sort | None:
    """``?sort=`` of the archive search (a 422 on ``sort`` for a column the page does not sort by). ``after``
    pages by key in the default order only: with another order it is a 422 on ``after``."""
    asked = request.args.get("sort")
    sort = parse_sort(load_args(_SearchSortArgs(), {"sort": asked} if asked else {})["sort"], SEARCH_SORTS,
                      SEARCH_DEFAULT_SORT)
    if after is not None and sort.param != SEARCH_DEFAULT_SORT:
        raise ValidationFailed("请求参数有误", {"after": "next_after 只能用于默认排序；按其他列排序时请用 page 翻页"})
    return sort


@bp.get("/archive")
def archive():
    actor = api_actor()
    year = year_argument(request.args.get("year"))
    # records paged when asked (page and/or per_page); unasked, all of them as before
    paged = "page" in request.args or "per_page" in request.args
    page = page_args() if paged else None
    summary = services.archive_for(actor, request.args.get("person_id_number"), year, page)
    answer = summary.to_dict()
    answer["records_total"] = summary.records_total
    if page is not None:
        answer["page"], answer["per_page"] = page
    return jsonify(answer)


@bp.get("/archive/precheck")
def archive_precheck():
    actor = api_actor()
    result = services.precheck(actor, request.args.to_dict())
    return jsonify(result.to_dict())


def _verified_arg(raw: str | None) -> bool | None:
    if raw in (None, ""):
        return None
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "合格"):
        return True
    if value in ("false", "0", "no", "不合格"):
        return False
    raise ValidationFailed("请求参数有误", {"verified": "应为 true（合格）或 false（不合格）"})


@bp.get("/archive/search")
def archive_search():
    actor = api_actor()
    args = request.args
    year = year_argument(args.get("year"))
    page, per_page = page_args()
    after = _after()
    result = services.search(actor, year=year, name=args.get("name"), id_number=args.get("id_number"),
                             region=args.get("region"), title_level=args.get("title_level"),
                             verified=_verified_arg(args.get("verified")), gender=args.get("gender"),
                             page=page, per_page=per_page, after=after, sort=_search_sort(after))
    return jsonify({"items": [{
        "name": r.person.name, "id_number": mask_id_number(r.person.id_number), "gender": r.person.gender,
        "title_level": r.person.title_level, "unit": r.unit_name, "region": r.region, "year": r.year,
        "total_hours": float(r.total_hours), "verified": r.verified, "result": r.result_label,
        "missing": r.missing,
    } for r in result.items], "total": result.total, "page": result.page, "per_page": result.per_page,
        "next_after": result.next_after})


@bp.post("/archive/recount")
def archive_recount():
    """重新统计学时: re-verify a year for one person (``person_id_number``) or, for administrators,
    for every person in their scope."""
    actor = api_actor()
    body = json_body() if request.content_length else {}
    year = year_argument(body.get("year"))
    id_number = body.get("person_id_number")
    if id_number or not actor.staff_roots:
        person = services.visible_person(actor, id_number)
        services.verify_year(person, year)
        db.session.commit()
        return jsonify({"year": year, "verified_persons": 1})
    result = enqueue(recount_job, year, actor.id)
    if isinstance(result, int):
        return jsonify({"year": year, "verified_persons": result})
    return jsonify({"year": year, "job_id": result.id}), 202


@bp.get("/credit-declarations")
def credit_declarations():
    actor = api_actor()
    args = request.args
    errors = {}
    scope = args.get("scope") or "mine"
    if scope not in records.SCOPES:
        errors["scope"] = "应为 mine、unit 或 org"
    status = args.get("status") or "all"
    if status not in records.STATUS_TABS:
        errors["status"] = "应为 all、pending、approved 或 rejected"
    form = args.get("learning_form") or None
    if form and form not in LEARNING_FORMS:
        errors["learning_form"] = "学习形式应为 " + "、".join(LEARNING_FORMS)
    subject = args.get("subject_type") or None
    if subject and subject not in SUBJECT_TYPES:
        errors["subject_type"] = "科目类型应为 " + "、".join(SUBJECT_TYPES)
    if errors:
        raise ValidationFailed("请求参数有误", errors)
    year = year_argument(args.get("year"), required=False)
    page, per_page = page_args()
    result = records.declarations(actor, scope=scope, status=status, year=year, learning_form=form,
                                  name=args.get("name"), id_number=args.get("id_number"), subject_type=subject,
                                  course_name=(args.get("course_name") or "")[:200] or None,
                                  page=page, per_page=per_page)
    return jsonify({"items": [{
        "instance_id": inst.id, "applicant": inst.applicant_name,
        "applicant_id_number": mask_id_number(inst.applicant_id_number), "year": inst.year,
        "course_name": inst.title, "status": inst.status, "outcome": inst.outcome,
        "status_label": records.STATUS_LABELS.get(inst.status, inst.status),
        "subject_type": d.subject_type if d else None, "learning_form": d.learning_form if d else None,
        "hours": float(d.hours) if d and d.hours is not None else None,
        "declared_by_unit": bool(d and d.declared_by_unit),
        "created_at": api_time(inst.created_at),
    } for inst, d in result.items], "total": result.total, "page": result.page, "per_page": result.per_page})
