"""Pages under /training (培训管理): the catalogues, annual training plans and annual reports of a training
institution (or a unit that trains its own staff). Thin views: the forms go through the same schemas as the
API and the same services; without 培训管理 every page is a 404."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.api.args import load_args
from app.classes.models import STATUS_LABELS
from app.classes.queries import plan_classes
from app.core.auth import web_actor
from app.core.errors import DomainError, InvalidState, ValidationFailed
from app.core.i18n import translate
from app.core.sorting import Sort, parse_sort, sort_args
from app.core.validators import whole_number, whole_numbers
from app.extensions import db
from app.training import access, catalogue, course_plans, plans, profile, queries, reports
from app.training.models import (
    HOURS_PER_DAY,
    SITE_KINDS,
    SUBJECT_TYPES,
    Teacher,
    TrainingCourse,
    TrainingSite,
    TrainingSubject,
)
from app.training.schemas import (
    CourseArgs,
    CoursePlanArgs,
    CoursePlanClassArgs,
    PlanArgs,
    ProfileArgs,
    ReportArgs,
    SiteArgs,
    SubjectArgs,
    TeacherArgs,
)
from app.workflow import attachments
from app.workflow.models import ProcessInstance

bp = Blueprint("training", __name__, url_prefix="/training")


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    return {"nav_training": current_user.is_authenticated and access.can_use(web_actor())}


def _org():  # noqa: ANN202
    return access.current_org(web_actor(), whole_number(request.args.get("org")))


def _common(org) -> dict[str, Any]:  # noqa: ANN001
    return {"org": org, "orgs": access.training_orgs(web_actor()), "subject_types": SUBJECT_TYPES,
            "state_labels": queries.STATE_LABELS}


@bp.get("/")
@login_required
def index():
    return redirect(url_for("training.docs_page", kind="plans", org=_org().id))


# --------------------------------------------------------------------------- catalogues

#: kind -> (title, model, input schema, fields [(name, label, widget)], add, update, delete or None)
CATALOGUES: dict[str, dict[str, Any]] = {
    "courses": {"title": "培训课程", "model": TrainingCourse, "args": CourseArgs, "add": catalogue.add_course,
                "update": catalogue.update_course, "delete": catalogue.delete_course,
                "fields": [("name", "课程名称", "text"), ("subject_type", "科目类型", "subject_type"),
                           ("hours", "学时", "number"), ("content", "课程内容", "textarea")]},
    "subjects": {"title": "专业科目设置", "model": TrainingSubject, "args": SubjectArgs, "add": catalogue.add_subject,
                 "update": catalogue.update_subject, "delete": None, "toggle": True,
                 "fields": [("name", "科目名称", "text")]},
    "teachers": {"title": "师资", "model": Teacher, "args": TeacherArgs, "add": catalogue.add_teacher,
                 "update": catalogue.update_teacher, "delete": catalogue.delete_teacher, "toggle": True,
                 "fields": [("name", "姓名", "text"), ("id_number", "身份证号码", "text"), ("gender", "性别", "gender"),
                            ("mobile", "手机号码", "text"), ("email", "电子邮箱", "text"), ("title", "职称", "text"),
                            ("course_ids", "可授课程", "courses"), ("profile", "个人简介", "textarea")]},
    "sites": {"title": "培训对接", "model": TrainingSite, "args": SiteArgs, "add": catalogue.add_site,
              "update": catalogue.update_site, "delete": catalogue.delete_site,
              "fields": [("name", "名称", "text"), ("kind", "类型", "site_kind"), ("address", "地址或网址", "text"),
                         ("contact", "联系人", "text"), ("phone", "联系电话", "text")]},
}
_KINDS = "<any(courses, subjects, teachers, sites):kind>"


def _rows(kind: str, org_id: int, sort: Sort) -> list[Any]:
    return {"courses": catalogue.courses, "subjects": catalogue.subjects, "teachers": catalogue.teachers,
            "sites": catalogue.sites}[kind](org_id, sort=sort)


def _form(kind: str) -> dict[str, Any]:
    """The posted form as the schema reads it (multi-selects as lists)."""
    data: dict[str, Any] = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    if kind == "teachers":
        data["course_ids"] = request.form.getlist("course_ids")
    return data


def _catalogue_page(kind: str, org, *, errors=None, values=None, editing=None, status=200):  # noqa: ANN001
    spec = CATALOGUES[kind]
    courses = catalogue.courses(org.id)
    used = {"courses": catalogue.courses_in_use, "teachers": catalogue.teachers_in_use}.get(kind)
    sort = parse_sort(request.args.get("sort"), catalogue.SORTS[kind], catalogue.DEFAULT_SORT)
    return render_template(
        "training/catalogue.html", kind=kind, spec=spec, rows=_rows(kind, org.id, sort), errors=errors or {},
        sort=sort, sortable=catalogue.SORTS[kind], link_args={"kind": kind, "org": org.id, **sort_args(sort)},
        values=values or {}, editing=editing, courses={c.id: c for c in courses}, site_kinds=SITE_KINDS,
        in_use=used(org.id) if used else set(), **_common(org)), status


@bp.get(f"/{_KINDS}")
@login_required
def catalogue_page(kind: str):
    return _catalogue_page(kind, _org())


@bp.get(f"/{_KINDS}/<int:row_id>")
@login_required
def catalogue_edit(kind: str, row_id: int):
    row = access.owned(web_actor(), CATALOGUES[kind]["model"], row_id)
    org = access.current_org(web_actor(), row.organisation_id)
    values = {name: getattr(row, name) for name, _label, _w in CATALOGUES[kind]["fields"]}
    return _catalogue_page(kind, org, values=values, editing=row)


@bp.post(f"/{_KINDS}")
@login_required
def catalogue_add(kind: str):
    spec, org = CATALOGUES[kind], _org()
    data = _form(kind)
    try:
        spec["add"](web_actor(), org.id, load_args(spec["args"](), data))
    except ValidationFailed as exc:
        db.session.rollback()
        return _catalogue_page(kind, org, errors=exc.fields, values=data, status=422)
    db.session.commit()
    flash(_("已添加"), "success")
    return redirect(url_for("training.catalogue_page", kind=kind, org=org.id))


@bp.post(f"/{_KINDS}/<int:row_id>")
@login_required
def catalogue_update(kind: str, row_id: int):
    spec, actor = CATALOGUES[kind], web_actor()
    row = access.owned(actor, spec["model"], row_id)
    org = access.current_org(actor, row.organisation_id)
    data = _form(kind)
    try:
        spec["update"](actor, row_id, load_args(spec["args"](), data, partial=True))
    except ValidationFailed as exc:
        db.session.rollback()
        return _catalogue_page(kind, org, errors=exc.fields, values=data, editing=row, status=422)
    db.session.commit()
    flash(_("已保存"), "success")
    return redirect(url_for("training.catalogue_page", kind=kind, org=org.id))


@bp.post(f"/{_KINDS}/<int:row_id>/<any(enable, disable, delete):action>")
@login_required
def catalogue_action(kind: str, row_id: int, action: str):
    spec, actor = CATALOGUES[kind], web_actor()
    row = access.owned(actor, spec["model"], row_id)
    org_id = row.organisation_id
    try:
        if action == "delete" and spec["delete"] is not None:
            spec["delete"](actor, row_id)
        elif action != "delete" and spec.get("toggle"):
            spec["update"](actor, row_id, {"enabled": action == "enable"})
        else:
            return redirect(url_for("training.catalogue_page", kind=kind, org=org_id))
    except DomainError as exc:
        db.session.rollback()
        flash(translate(exc.message), "danger")
        return redirect(url_for("training.catalogue_page", kind=kind, org=org_id))
    db.session.commit()
    flash({"delete": _("已删除"), "enable": _("已启用"), "disable": _("已停用")}[action], "success")
    return redirect(url_for("training.catalogue_page", kind=kind, org=org_id))


# --------------------------------------------------------------------------- the institution's profile


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile_page():
    actor = web_actor()
    current = profile.get(actor, whole_number(request.args.get("org")))
    errors: dict[str, str] = {}
    values: dict[str, Any] = {name: getattr(current.own, name) for name in profile.FIELDS}
    if request.method == "POST":
        values = {k: v.strip() for k, v in request.form.items() if k in profile.FIELDS}
        try:
            profile.update(actor, current.org.id, load_args(ProfileArgs(), values))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            flash(_("已保存"), "success")
            return redirect(url_for("training.profile_page", org=current.org.id))
    return render_template("training/profile.html", profile=current, values=values, errors=errors,
                           **_common(current.org)), 422 if errors else 200


# --------------------------------------------------------------------------- plans, reports and course plans


def _review_state(row: Any, values: dict[str, Any] | None) -> tuple[str, ProcessInstance | None, list[Any]]:
    """A plan's or report's state, its latest case and the attachments its form lists (the ones being
    re-filled, else its own)."""
    state = queries.state_of(row) if row is not None else queries.DRAFT
    instance = db.session.get(ProcessInstance, row.instance_id) if row is not None and row.instance_id else None
    ids = values.get("attachment_ids") if values else (row.attachment_ids if row is not None else [])
    files = attachments.info_for(ids or [], actor=web_actor(), instance=instance)
    if instance is not None and row is not None and not files:
        files = attachments.attachments_for(row.attachment_ids, instance)
    return state, instance, files


def _act(svc: Any, row_id: int, action: str, page: str, listing: str, submitted: str,  # noqa: ANN202
         **page_args: Any):
    """Run a submission action of ``svc`` (submit, withdraw, resubmit, delete) and go back to the row's page
    (``page``), or to the list (``listing``) after a delete; a refusal is flashed. ``submitted``: what a
    submission tells."""
    actor = web_actor()
    org_id = svc.get(actor, row_id).organisation_id
    try:
        getattr(svc, action)(actor, row_id)
    except DomainError as exc:
        db.session.rollback()
        message = "；".join(str(translate(m)) for m in exc.fields.values()) if isinstance(exc, ValidationFailed) else ""
        flash(message or translate(exc.message), "danger")
        return redirect(url_for(page, row_id=row_id, **page_args))
    db.session.commit()
    flash({"submit": submitted, "withdraw": _("已撤销，可修改后重新提交"), "resubmit": _("已重新提交，等待审核"),
           "delete": _("已删除")}[action], "success")
    if action == "delete":
        return redirect(url_for(listing, org=org_id, **page_args))
    return redirect(url_for(page, row_id=row_id, **page_args))

DOCS: dict[str, dict[str, Any]] = {
    "plans": {"svc": plans, "args": PlanArgs, "list": queries.plans, "title": "年度培训计划",
              "template": "training/plan.html"},
    "reports": {"svc": reports, "args": ReportArgs, "list": queries.reports, "title": "年度报告",
                "template": "training/report.html"},
}


def _doc_form(kind: str) -> dict[str, Any]:
    """The plan or report form: uploads saved (flushed) and their ids added to ``attachment_ids``."""
    data: dict[str, Any] = {k: v.strip() for k, v in request.form.items()
                            if k not in ("csrf_token", "attachment_ids") and not k.startswith("course_")
                            and not k.startswith("teacher_")}
    saved, errors = attachments.save_uploads(request.files.getlist("files"), actor=web_actor())
    if errors:
        raise ValidationFailed(_("提交的内容有误，请按提示修改"), {"attachment_ids": "；".join(errors)})
    data["attachment_ids"] = whole_numbers(request.form.getlist("attachment_ids")) + [a.id for a in saved]
    if kind == "plans":
        data["courses"] = [{"course_id": cid, "teacher_id": whole_number(request.form.get(f"teacher_{cid}")) or None}
                           for cid in whole_numbers(request.form.getlist("course_ids"))]
    return data


def _doc_page(kind: str, org, row=None, *, errors=None, values=None, status=200):  # noqa: ANN001, ANN202
    state, instance, files = _review_state(row, values)
    context: dict[str, Any] = {}
    if kind == "plans":
        chosen = {}
        if values and "courses" in values:
            chosen = {c["course_id"]: c.get("teacher_id") for c in values["courses"]}
        elif row is not None:
            chosen = {pc.course_id: pc.teacher_id for pc in row.courses}
        context = {"subjects": catalogue.subjects(org.id), "courses": catalogue.courses(org.id),
                   "teachers": catalogue.teachers(org.id), "chosen": chosen}
    if values is None and row is not None:
        values = {"year": row.year, "name": row.name, "notes": row.notes or ""}
        if kind == "plans":
            values.update(subject_type=row.subject_type, subject_id=row.subject_id)
    return render_template(
        DOCS[kind]["template"], row=row, state=state, instance=instance, errors=errors or {}, values=values or {},
        files=files, editable=state in (queries.DRAFT, queries.RETURNED), **context, **_common(org)), status


@bp.get("/<any(plans, reports):kind>")
@login_required
def docs_page(kind: str):
    org = _org()
    sort = parse_sort(request.args.get("sort"), queries.SORTS[kind], queries.DEFAULT_SORT)
    rows = DOCS[kind]["list"](org.id, sort=sort)
    return render_template("training/docs.html", kind=kind, title=DOCS[kind]["title"], rows=rows,
                           states=queries.states(rows), sort=sort,
                           link_args={"kind": kind, "org": org.id, **sort_args(sort)}, **_common(org))


@bp.route("/<any(plans, reports):kind>/new", methods=["GET", "POST"])
@login_required
def doc_new(kind: str):
    org = _org()
    if request.method == "GET":
        return _doc_page(kind, org, values={"year": _this_year(), "subject_type": "professional"})
    data: dict[str, Any] = {}
    try:
        data = _doc_form(kind)
        row = DOCS[kind]["svc"].create(web_actor(), org.id, load_args(DOCS[kind]["args"](), data))
    except ValidationFailed as exc:
        db.session.rollback()
        return _doc_page(kind, org, errors=exc.fields, values=data or request.form.to_dict(), status=422)
    db.session.commit()
    flash(_("已保存草稿"), "success")
    return redirect(url_for("training.doc_page", kind=kind, row_id=row.id))


@bp.route("/<any(plans, reports):kind>/<int:row_id>", methods=["GET", "POST"])
@login_required
def doc_page(kind: str, row_id: int):
    actor = web_actor()
    row = DOCS[kind]["svc"].get(actor, row_id)
    org = access.current_org(actor, row.organisation_id)
    if request.method == "GET":
        return _doc_page(kind, org, row)
    data: dict[str, Any] = {}
    try:
        data = _doc_form(kind)
        DOCS[kind]["svc"].update(actor, row_id, load_args(DOCS[kind]["args"](), data))
    except ValidationFailed as exc:
        db.session.rollback()
        return _doc_page(kind, org, row, errors=exc.fields, values=data or request.form.to_dict(), status=422)
    db.session.commit()
    flash(_("已保存"), "success")
    return redirect(url_for("training.doc_page", kind=kind, row_id=row_id))


@bp.post("/<any(plans, reports):kind>/<int:row_id>/<any(submit, withdraw, resubmit, delete):action>")
@login_required
def doc_action(kind: str, row_id: int, action: str):
    return _act(DOCS[kind]["svc"], row_id, action, "training.doc_page", "training.docs_page",
                _("已提交，等待审核"), kind=kind)


def _this_year() -> int:
    from app.core.models import utcnow

    return utcnow().year


# --------------------------------------------------------------------------- professional-course plans (Guangdong)


def _course_plan_form() -> dict[str, Any]:
    """The plan's basic information: uploads saved (flushed) and their ids added to ``attachment_ids``."""
    data: dict[str, Any] = {k: v.strip() for k, v in request.form.items() if k not in ("csrf_token", "attachment_ids")}
    saved, errors = attachments.save_uploads(request.files.getlist("files"), actor=web_actor())
    if errors:
        raise ValidationFailed(_("提交的内容有误，请按提示修改"), {"attachment_ids": "；".join(errors)})
    data["attachment_ids"] = whole_numbers(request.form.getlist("attachment_ids")) + [a.id for a in saved]
    return data


def _course_plan_page(org, row=None, *, errors=None, values=None, class_errors=None,  # noqa: ANN001, ANN202
                      class_values=None, editing=None, status=200):
    state, instance, files = _review_state(row, values)
    if values is None and row is not None:
        values = {name: getattr(row, name) for name in (
            "course_id", "year", "name", "days", "hours", "sessions", "start_date", "end_date", "content",
            "audience", "notes")}
    running = plan_classes([c.id for c in row.classes]) if row is not None and state == queries.APPROVED else {}
    return render_template(
        "training/course_plan.html", row=row, state=state, instance=instance, errors=errors or {}, running=running,
        class_labels=STATUS_LABELS,
        values=values or {}, files=files, editable=state in (queries.DRAFT, queries.RETURNED),
        courses=catalogue.courses(org.id, subject_type="professional"), teachers=catalogue.teachers(org.id),
        subjects=catalogue.subjects(org.id), class_errors=class_errors or {}, class_values=class_values or {},
        editing=editing, hours_per_day=HOURS_PER_DAY, **_common(org)), status


@bp.get("/course-plans")
@login_required
def course_plans_page():
    org = _org()
    year = whole_number(request.args.get("year"), 9999)
    sort = parse_sort(request.args.get("sort"), course_plans.SORTS, course_plans.DEFAULT_SORT)
    rows = course_plans.plans(org.id, year=year, sort=sort)
    link_args = {"org": org.id, **({"year": year} if year else {}), **sort_args(sort)}
    return render_template("training/course_plans.html", rows=rows, states=queries.states(rows), sort=sort,
                           link_args=link_args, **_common(org))


@bp.get("/course-plans/approved")
@login_required
def course_plans_approved():
    """专业课计划查询 (004 §1.9.1): approved plans with their classes, attachments and review history."""
    org = _org()
    year, q = whole_number(request.args.get("year"), 9999), (request.args.get("q") or "").strip()
    course_id = whole_number(request.args.get("course_id"))
    rows = course_plans.approved(org.id, year=year, course_id=course_id, q=q or None)
    running = plan_classes([c.id for r in rows for c in r.classes])
    return render_template("training/course_plans_approved.html", rows=rows, details=course_plans.details(rows),
                           running=running, class_labels=STATUS_LABELS,
                           year=year, q=q, course_id=course_id,
                           courses=catalogue.courses(org.id, subject_type="professional"), **_common(org))


@bp.route("/course-plans/new", methods=["GET", "POST"])
@login_required
def course_plan_new():
    org = _org()
    if request.method == "GET":
        return _course_plan_page(org, values={"sessions": 1, "days": 1, "hours": HOURS_PER_DAY})
    data: dict[str, Any] = {}
    try:
        data = _course_plan_form()
        row = course_plans.create(web_actor(), org.id, load_args(CoursePlanArgs(), data))
    except ValidationFailed as exc:
        db.session.rollback()
        return _course_plan_page(org, errors=exc.fields, values=data or request.form.to_dict(), status=422)
    db.session.commit()
    flash(_("已保存草稿，请新增培训班"), "success")
    return redirect(url_for("training.course_plan_page", row_id=row.id))


@bp.route("/course-plans/<int:row_id>", methods=["GET", "POST"])
@login_required
def course_plan_page(row_id: int):
    actor = web_actor()
    row = course_plans.get(actor, row_id)
    org = access.current_org(actor, row.organisation_id)
    if request.method == "GET":
        return _course_plan_page(org, row)
    data: dict[str, Any] = {}
    try:
        data = _course_plan_form()
        course_plans.update(actor, row_id, load_args(CoursePlanArgs(), data))
    except ValidationFailed as exc:
        db.session.rollback()
        return _course_plan_page(org, row, errors=exc.fields, values=data or request.form.to_dict(), status=422)
    except DomainError as exc:
        db.session.rollback()
        flash(translate(exc.message), "danger")
        return redirect(url_for("training.course_plan_page", row_id=row_id))
    db.session.commit()
    flash(_("已保存"), "success")
    return redirect(url_for("training.course_plan_page", row_id=row_id))


def _class_form() -> dict[str, Any]:
    data: dict[str, Any] = {k: v.strip() for k, v in request.form.items()
                            if k not in ("csrf_token", "teacher_ids", "subject_ids")}
    data["teacher_ids"] = whole_numbers(request.form.getlist("teacher_ids"))
    data["subject_ids"] = whole_numbers(request.form.getlist("subject_ids"))
    return data


def _save_class(row_id: int, class_id: int | None):  # noqa: ANN202
    """Add a class (``class_id`` None) or change one; the plan's page again, with the errors if any."""
    actor = web_actor()
    row = course_plans.get(actor, row_id)
    editing = course_plans.get_class(actor, row_id, class_id) if class_id else None
    org = access.current_org(actor, row.organisation_id)
    data = _class_form()
    try:
        values = load_args(CoursePlanClassArgs(), data)
        if editing is None:
            course_plans.add_class(actor, row_id, values)
        else:
            course_plans.update_class(actor, row_id, editing.id, values)
    except ValidationFailed as exc:
        db.session.rollback()
        return _course_plan_page(org, row, class_errors=exc.fields, class_values=data, editing=editing, status=422)
    except DomainError as exc:
        db.session.rollback()
        flash(translate(exc.message), "danger")
        return redirect(url_for("training.course_plan_page", row_id=row_id))
    db.session.commit()
    flash(_("已新增培训班") if editing is None else _("已保存"), "success")
    return redirect(url_for("training.course_plan_page", row_id=row_id, _anchor="classes"))


@bp.post("/course-plans/<int:row_id>/classes")
@login_required
def course_plan_class_add(row_id: int):
    return _save_class(row_id, None)


@bp.route("/course-plans/<int:row_id>/classes/<int:class_id>", methods=["GET", "POST"])
@login_required
def course_plan_class_edit(row_id: int, class_id: int):
    """The plan's page with the class's form filled in (GET), or its changes saved (POST)."""
    if request.method == "POST":
        return _save_class(row_id, class_id)
    actor = web_actor()
    editing = course_plans.get_class(actor, row_id, class_id)
    values = {"name": editing.name, "head_teacher_id": editing.head_teacher_id,
              "opening_date": editing.opening_date, "participants": editing.participants, "days": editing.days,
              "teacher_ids": [t.id for t in editing.teachers], "subject_ids": [s.id for s in editing.subjects]}
    return _course_plan_page(access.current_org(actor, editing.plan.organisation_id), editing.plan,
                             class_values=values, editing=editing)


@bp.post("/course-plans/<int:row_id>/classes/<int:class_id>/delete")
@login_required
def course_plan_class_delete(row_id: int, class_id: int):
    try:
        course_plans.delete_class(web_actor(), row_id, class_id)
    except (InvalidState, ValidationFailed) as exc:
        db.session.rollback()
        flash(translate(exc.message), "danger")
        return redirect(url_for("training.course_plan_page", row_id=row_id))
    db.session.commit()
    flash(_("已删除"), "success")
    return redirect(url_for("training.course_plan_page", row_id=row_id, _anchor="classes"))


@bp.post("/course-plans/<int:row_id>/<any(submit, withdraw, resubmit, delete):action>")
@login_required
def course_plan_action(row_id: int, action: str):
    return _act(course_plans, row_id, action, "training.course_plan_page", "training.course_plans_page",
                _("已送审，等待审核"))
