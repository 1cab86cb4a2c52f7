"""继教综合统计 at /statistics: people, completion, hours (by subject, learning form, organisation, region), the
title-series distribution and review performance over the actor's statistics scope; every table downloads as
.xlsx (``?export=<table>``) and the charts read ``/statistics/data.json``."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.archive.models import LEARNING_FORMS, SUBJECT_TYPES
from app.audit import services as audit
from app.cases.views import process_names
from app.core.auth import web_actor
from app.core.errors import NotFound
from app.core.i18n import translate
from app.extensions import db
from app.statistics import queries
from app.statistics.excel import xlsx_response

bp = Blueprint("statistics", __name__)


@bp.app_context_processor
def _nav() -> dict:
    return {"nav_statistics": current_user.is_authenticated and queries.has_scope(web_actor())}


def _int(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None


def _filters() -> dict[str, Any]:
    year = _int("year") or date.today().year
    if not 1990 <= year <= 2100:
        year = date.today().year
    process = (request.args.get("process") or "").strip() or None
    return {"year": year, "org": _int("org"), "process": process}


#: How many reviewing organisations the page's 审核时效 table and chart show (those with the most open reviews);
#: the Excel download and the API have them all.
REVIEW_ROWS = 20


def _figures(actor, f: dict[str, Any], *, every_review: bool = False) -> dict[str, Any]:  # noqa: ANN001
    data = queries.comprehensive(actor, f["year"], f["org"])
    data["reviews"] = queries.review_times(actor, process=f["process"], year=f["year"], org_id=f["org"],
                                           limit=None if every_review else REVIEW_ROWS)
    data["reviews_limited"] = not every_review and len(data["reviews"]) >= REVIEW_ROWS
    return data


def _export(name: str, data: dict[str, Any], year: int):  # noqa: ANN202
    """One table of the page as an .xlsx download."""
    tables = {
        "years": (_("历年达标情况"), [_("年度"), _("专技人员"), _("已达标"), _("达标率（百分比）")],
                  [[r["year"], r["people"], r["completed"], r["completion_rate"]] for r in data["by_year"]]),
        "organisations": (_("按机构统计"),
                          [_("机构"), _("专技人员"), _("已达标"), _("达标率（百分比）"), _("已认定学时")],
                          [[r["organisation"], r["people"], r["completed"], r["completion_rate"], r["hours"]]
                           for r in data["by_organisation"]]),
        "regions": (_("按地区统计"), [_("地区"), _("专技人员"), _("已达标"), _("达标率（百分比）"), _("已认定学时")],
                    [[r["region"] or "", r["people"], r["completed"], r["completion_rate"], r["hours"]]
                     for r in data["by_region"]]),
        "subjects": (_("按科目类型统计"), [_("科目类型"), _("已认定学时")],
                     [[translate(SUBJECT_TYPES[k]), data["hours"][k]] for k in queries.SUBJECTS]),
        "forms": (_("按学习形式统计"), [_("学习形式"), _("学时记录"), _("已认定学时")],
                  [[translate(LEARNING_FORMS.get(r["learning_form"], r["learning_form"])), r["records"], r["hours"]]
                   for r in data["by_learning_form"]]),
        "titles": (_("职称系列分布"), [_("职称系列"), _("职称级别"), _("专技人员"), _("已达标")],
                   [[r["title_series"] or "", r["title_level"] or "", r["people"], r["completed"]]
                    for r in data["titles"]]),
        "training": (_("历年培训情况"), [_("年度"), _("培训班"), _("已批准培训计划"), _("计划课程"), _("参训人次")],
                     [[r["year"], r["classes"], r["plans"], r["courses"], r["participants"]]
                      for r in data["training"]]),
        "reviews": (_("审核时效"), [_("审核机构"), _("待审核"), _("已审核"), _("中位用时（小时）"),
                                  _("90分位用时（小时）"), _("最早待审时间"), _("每百件退案数")],
                    [[r["organisation"], r["open"], r["decided"], r["median_hours"], r["p90_hours"],
                      r["oldest_open_at"], r["returns_per_100"]] for r in data["reviews"]]),
    }
    if name not in tables:
        raise NotFound("页面不存在")
    title, headers, rows = tables[name]
    return xlsx_response(f"{title}-{year}.xlsx", title, headers, rows)


@bp.get("/statistics")
@login_required
def index():
    actor = web_actor()
    f = _filters()
    export = request.args.get("export")
    data = _figures(actor, f, every_review=export == "reviews")
    if export:
        response = _export(export, data, f["year"])
        audit.record("statistics.export", actor=actor, obj=("statistics", export),
                     details={"year": f["year"], "organisation_id": f["org"]})
        db.session.commit()
        return response
    return render_template("statistics/index.html", data=data, filters=f, subjects=SUBJECT_TYPES,
                           forms=LEARNING_FORMS, processes=process_names(),
                           args={k: v for k, v in f.items() if v is not None})


@bp.get("/statistics/data.json")
@login_required
def data():
    """The page's figures as JSON (its charts read them), in the shapes of the statistics API."""
    actor = web_actor()
    f = _filters()
    out = _figures(actor, f)
    for row in out["reviews"]:
        row["oldest_open_at"] = row["oldest_open_at"].isoformat() if row["oldest_open_at"] else None
    for row in out["titles"]:  # what the chart writes, in the page's language (the table below translates too)
        row["series_label"] = translate(row["title_series"]) if row["title_series"] else None
        row["level_label"] = translate(row["title_level"]) if row["title_level"] else None
    return jsonify(out)
