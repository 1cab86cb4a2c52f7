"""Pages under /classes (培训班管理): the class list with its filters, the declaration form, and each class's
page (state and actions, enrolment, grades, attendance). Thin views: the forms go through the same schemas and
services as the API; without 培训管理 every page is a 404."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from app.api.args import load_args
from app.classes import queries, services
from app.classes.models import ATTENDANCE, REPORT_MODES, RESULTS, TrainingClass
from app.classes.schemas import ClassArgs, ClassFilterArgs, GradeArgs, SessionArgs
from app.core.auth import web_actor
from app.core.errors import DomainError, InvalidState, ValidationFailed
from app.core.i18n import translate
from app.core.sorting import parse_sort, sort_args
from app.core.validators import whole_number, whole_numbers
from app.extensions import db
from app.training import access, catalogue
from app.training import queries as plan_queries
from app.training.models import SUBJECT_TYPES
from app.workflow import attachments
from app.workflow.models import ProcessInstance

bp = Blueprint("classes", __name__, url_prefix="/classes")


def _common(org) -> dict[str, Any]:  # noqa: ANN001
    return {
        "org": org,
        "orgs": access.training_orgs(web_actor()),
        "subject_types": SUBJECT_TYPES,
        "state_labels": queries.STATE_LABELS,
        "report_modes": REPORT_MODES,
        "results": RESULTS,
        "attendance": ATTENDANCE,
    }


def _fail(exc: DomainError) -> None:
    db.session.rollback()
    message = "；".join(str(translate(m)) for m in exc.fields.values()) if isinstance(exc, ValidationFailed) else ""
    flash(message or translate(exc.message), "danger")


@bp.get("/")
@login_required
def index():
    actor = web_actor()
    try:
        args = load_args(ClassFilterArgs(), {k: v for k, v in request.args.items() if k not in ("org", "sort", "lang")})
    except ValidationFailed:
        args = load_args(ClassFilterArgs(), {})
    org = access.current_org(actor, whole_number(request.args.get("org")))
    sort = parse_sort(request.args.get("sort"), queries.SORTS, queries.DEFAULT_SORT)
    page = queries.classes(
        org.id,
        year=args["year"],
        subject_type=args["subject_type"],
        state=args["state"],
        q=args["q"],
        reported=args["reported"],
        page=args["page"],
        per_page=args["per_page"],
        sort=sort,
    )
    link_args = {
        "org": org.id,
        **{k: args[k] for k in ("year", "subject_type", "state", "q") if args[k]},
        **({"reported": "true" if args["reported"] else "false"} if args["reported"] is not None else {}),
        **sort_args(sort),
    }
    return render_template(
        "classes/list.html",
        page=page,
        filters=args,
        sort=sort,
        args=link_args,
        counts=queries.member_counts([r.id for r in page.items]),
        **_common(org),
    )


def _form() -> dict[str, Any]:
    data: dict[str, Any] = {
        k: v.strip()
        for k, v in request.form.items()
        if k not in ("csrf_token", "attachment_ids") and not k.startswith(("course_", "teacher_"))
    }
    saved, errors = attachments.save_uploads(request.files.getlist("files"), actor=web_actor())
    if errors:
        raise ValidationFailed(_("提交的内容有误，请按提示修改"), {"attachment_ids": "；".join(errors)})
    data["attachment_ids"] = whole_numbers(request.form.getlist("attachment_ids")) + [a.id for a in saved]
    data["courses"] = [
        {"course_id": cid, "teacher_id": whole_number(request.form.get(f"teacher_{cid}")) or None}
        for cid in whole_numbers(request.form.getlist("course_ids"))
    ]
    return data


def _page(org, row: TrainingClass | None = None, *, errors=None, values=None, status=200):  # noqa: ANN001, ANN202
    actor = web_actor()
    state = queries.state_of(row) if row is not None else "draft"
    instance = db.session.get(ProcessInstance, row.instance_id) if row is not None and row.instance_id else None
    ids = (values or {}).get("attachment_ids") if values else (row.attachment_ids if row is not None else [])
    files = attachments.info_for(ids or [], actor=actor, instance=instance)
    if instance is not None and row is not None and not files:
        files = attachments.attachments_for(row.attachment_ids, instance)
    if values and "courses" in values:
        chosen = {c["course_id"]: c.get("teacher_id") for c in values["courses"]}
    else:
        chosen = {cc.course_id: cc.teacher_id for cc in row.courses} if row is not None else {}
    if values is None and row is not None:
        values = {
            k: getattr(row, k)
            for k in (
                "year",
                "name",
                "subject_type",
                "subject_id",
                "audience",
                "report_mode",
                "start_date",
                "end_date",
                "site_id",
                "capacity",
                "notes",
                "plan_id",
            )
        }
    editable = row is None or services.editable(row)
    context: dict[str, Any] = {}
    if row is not None:
        members = queries.members(row.id)
        recorded = services.recorded_members([m.id for m in members])
        q = (request.args.get("q") or "").strip()[:50]
        context = {
            "members": members,
            "recorded": recorded,
            "sessions": queries.sessions(row.id),
            "q": q,
            "candidates": queries.candidates(row, q=q or None, own_only=services.internal(row, org)),
            "own_only": services.internal(row, org),
            "course_names": {str(cc.course_id): cc.course.name for cc in row.courses},
        }
    plans = [p for p in plan_queries.plans(org.id) if plan_queries.state_of(p) == plan_queries.APPROVED]
    return render_template(
        "classes/class.html",
        row=row,
        state=state,
        instance=instance,
        errors=errors or {},
        values=values or {},
        files=files,
        editable=editable,
        chosen=chosen,
        plans=plans,
        subjects=catalogue.subjects(org.id),
        courses=catalogue.courses(org.id),
        teachers=catalogue.teachers(org.id),
        sites=catalogue.sites(org.id),
        **context,
        **_common(org),
    ), status


@bp.route("/grades", methods=["GET", "POST"])
@login_required
def grades():
    """学员成绩申报: the institution declares students' grades in batch (one case per student)."""
    actor = web_actor()
    org = access.current_org(actor, whole_number(request.args.get("org")))

    def num(name: str, low: int = 1, high: int = 10**9) -> int | None:
        text = (request.values.get(name) or "").strip()
        return int(text) if text.isdigit() and len(text) < 10 and low <= int(text) <= high else None

    filters = {
        "class_id": num("class_id"),
        "year": num("year", 2000, 2100),
        "ce_year": num("ce_year", 2000, 2100),
        "state": request.args.get("state") if request.args.get("state") in queries.DECLARATION_LABELS else None,
    }
    if request.method == "POST":
        class_ids: dict[int, list[int]] = {}
        for value in request.form.getlist("member_ids"):
            cid, _sep, mid = value.partition(":")
            if cid.isdigit() and mid.isdigit() and len(cid) < 19 and len(mid) < 19:
                class_ids.setdefault(int(cid), []).append(int(mid))
        ce_year = num("declare_year", 2000, 2100)
        if not class_ids or ce_year is None:
            flash(_("请选择学员并填写继续教育年度"), "danger")
            return redirect(url_for("classes.grades", org=org.id))
        started, failed = 0, 0
        try:
            for cid, mids in class_ids.items():
                done, refused = services.declare_grades(actor, cid, mids, ce_year)
                started, failed = started + len(done), failed + len(refused)
        except DomainError as exc:
            _fail(exc)
            return redirect(url_for("classes.grades", org=org.id))
        db.session.commit()
        flash(_("已申报 %(n)d 名学员的成绩，等待用人单位审核", n=started), "success")
        if failed:
            flash(_("%(n)d 名学员未能申报（已申报过或不符合条件）", n=failed), "warning")
        return redirect(url_for("classes.grades", org=org.id))
    rows = queries.declarable(org.id, **filters)
    return render_template(
        "classes/grades.html",
        rows=rows,
        filters=filters,
        classes=queries.declare_classes(org.id),
        labels=queries.DECLARATION_LABELS,
        **_common(org),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    org = access.current_org(web_actor(), whole_number(request.args.get("org")))
    if request.method == "GET":
        from app.core.models import utcnow

        return _page(org, values={"year": utcnow().year, "subject_type": "professional", "report_mode": "later"})
    data: dict[str, Any] = {}
    try:
        data = _form()
        row = services.create(web_actor(), org.id, load_args(ClassArgs(), data))
    except ValidationFailed as exc:
        db.session.rollback()
        return _page(org, errors=exc.fields, values=data or request.form.to_dict(), status=422)
    db.session.commit()
    flash(_("已保存草稿"), "success")
    return redirect(url_for("classes.view", class_id=row.id))


@bp.post("/from-course-plan/<int:plan_id>/<int:planned_id>")
@login_required
def from_course_plan(plan_id: int, planned_id: int):
    """设置培训班 for a class of an approved course plan; its page, where it is opened, staffed and graded."""
    try:
        row, _created = services.set_up_from_plan(web_actor(), plan_id, planned_id)
    except InvalidState as exc:
        _fail(exc)
        return redirect(url_for("training.course_plan_page", row_id=plan_id))
    db.session.commit()
    flash(_("已设置培训班：专业课计划已审核通过，无需再申报"), "success")
    return redirect(url_for("classes.view", class_id=row.id))


@bp.route("/<int:class_id>", methods=["GET", "POST"])
@login_required
def view(class_id: int):
    actor = web_actor()
    row = services.get(actor, class_id)
    org = access.current_org(actor, row.organisation_id)
    if request.method == "GET":
        return _page(org, row)
    data: dict[str, Any] = {}
    try:
        data = _form()
        services.update(actor, class_id, load_args(ClassArgs(), data))
    except ValidationFailed as exc:
        db.session.rollback()
        return _page(org, row, errors=exc.fields, values=data or request.form.to_dict(), status=422)
    except DomainError as exc:
        _fail(exc)
        return redirect(url_for("classes.view", class_id=class_id))
    db.session.commit()
    flash(_("已保存"), "success")
    return redirect(url_for("classes.view", class_id=class_id))


def _done(action: str) -> str:
    return {
        "submit": _("已提交，等待审核"),
        "withdraw": _("已撤销，可修改后重新提交"),
        "resubmit": _("已重新提交，等待审核"),
        "delete": _("已删除"),
        "open": _("已开班"),
        "close": _("已结班，合格人员的学时已记入培训档案"),
        "cancel": _("培训班已取消"),
        "report": _("培训成果已上报，学时已记入培训档案"),
        "enrol": _("已录入人员"),
        "unenrol": _("已取消报名"),
    }[action]


_ACTIONS = "<any(submit, withdraw, resubmit, delete, open, close, cancel, report, enrol, unenrol):action>"


@bp.post(f"/<int:class_id>/{_ACTIONS}")
@login_required
def action(class_id: int, action: str):
    actor = web_actor()
    row = services.get(actor, class_id)
    org_id = row.organisation_id
    try:
        if action == "cancel":
            services.cancel(actor, class_id, request.form.get("note", ""))
        elif action == "open":
            services.open_class(actor, class_id)
        elif action == "report":
            services.report_results(actor, class_id, _ids("member_ids") or None)
        elif action == "enrol":
            from app.people.models import Person

            ids = _ids("person_ids")
            id_number = (request.form.get("id_number") or "").strip().upper()[:18]
            named = [id_number] if id_number else []
            # people ticked in the list of a search by full ID number (the form's hidden q) are named by it
            searched = (request.form.get("q") or "").strip().upper()[:18]
            found = db.session.scalar(select(Person.id).where(Person.id_number == searched)) if searched else None
            if found is not None and found in ids:
                ids.remove(found)
                named.append(searched)
            if not ids and not named:
                raise ValidationFailed(_("提交的内容有误，请按提示修改"), {"person_ids": "请选择要录入的人员"})
            services.enrol(actor, class_id, ids, id_numbers=named)
        elif action == "unenrol":
            services.unenrol(actor, class_id, _ids("member_ids"))
        else:
            getattr(services, action)(actor, class_id)
    except DomainError as exc:
        _fail(exc)
        return redirect(url_for("classes.view", class_id=class_id))
    db.session.commit()
    flash(_done(action), "success")
    if action == "delete":
        return redirect(url_for("classes.index", org=org_id))
    return redirect(url_for("classes.view", class_id=class_id))


def _ids(name: str) -> list[int]:
    return whole_numbers(request.form.getlist(name))


@bp.route("/<int:class_id>/members/<int:member_id>", methods=["GET", "POST"])
@login_required
def grade(class_id: int, member_id: int):
    actor = web_actor()
    row, m = services.member(actor, class_id, member_id)
    org = access.current_org(actor, row.organisation_id)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "total_score": m.total_score,
        "result": m.result,
        "actual_start": m.actual_start,
        "actual_end": m.actual_end,
        "subject_scores": m.subject_scores or {},
    }
    if request.method == "POST":
        data: dict[str, Any] = {
            k: v.strip()
            for k, v in request.form.items()
            if k in ("total_score", "result", "actual_start", "actual_end")
        }
        data["subject_scores"] = {
            k[6:]: v.strip() for k, v in request.form.items() if k.startswith("score_") and v.strip()
        }
        try:
            services.set_grade(actor, class_id, member_id, load_args(GradeArgs(), data))
        except ValidationFailed as exc:
            db.session.rollback()
            errors, values = exc.fields, data
        except DomainError as exc:
            _fail(exc)
            return redirect(url_for("classes.view", class_id=class_id))
        else:
            db.session.commit()
            flash(_("成绩已保存"), "success")
            return redirect(url_for("classes.view", class_id=class_id, _anchor="members"))
    return render_template(
        "classes/grade.html", row=row, m=m, errors=errors, values=values, **_common(org)
    ), 422 if errors else 200


@bp.post("/<int:class_id>/sessions")
@login_required
def session_add(class_id: int):
    actor = web_actor()
    services.get(actor, class_id)
    try:
        args = load_args(SessionArgs(), {k: v.strip() for k, v in request.form.items() if k in ("held_at", "note")})
        # the form's time is Beijing time (as pages show times); stored in UTC like every time
        offset = timedelta(hours=current_app.config.get("DISPLAY_UTC_OFFSET_HOURS", 8))
        held_at = args["held_at"]
        held_at = held_at.astimezone(UTC).replace(tzinfo=None) if held_at.tzinfo else held_at - offset
        services.add_session(actor, class_id, held_at, args["note"])
    except DomainError as exc:
        _fail(exc)
        return redirect(url_for("classes.view", class_id=class_id, _anchor="attendance"))
    db.session.commit()
    flash(_("已添加考勤"), "success")
    return redirect(url_for("classes.view", class_id=class_id, _anchor="attendance"))


@bp.route("/<int:class_id>/sessions/<int:session_id>", methods=["GET", "POST"])
@login_required
def session_page(class_id: int, session_id: int):
    actor = web_actor()
    row, s = services.session_of(actor, class_id, session_id)
    org = access.current_org(actor, row.organisation_id)
    if request.method == "POST":
        statuses = {
            int(k[7:]): v
            for k, v in request.form.items()
            if k.startswith("status_") and k[7:].isdigit() and len(k) < 26 and v
        }
        try:
            services.mark(actor, class_id, session_id, statuses)
        except DomainError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("考勤已保存"), "success")
        return redirect(url_for("classes.session_page", class_id=class_id, session_id=session_id))
    summary = next(x for x in queries.sessions(row.id) if x.session.id == s.id)
    return render_template(
        "classes/session.html",
        row=row,
        s=s,
        summary=summary,
        members=queries.members(row.id),
        marks=queries.marks(s.id),
        **_common(org),
    )
