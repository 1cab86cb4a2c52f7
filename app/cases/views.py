"""Pages that work for any process: the task inbox (待办任务: list, batch review, one task), "my applications"
(我的申报), the case page with its live diagram, the generic start page, attachments."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.exc import SQLAlchemyError

from app.cases import queries
from app.cases.panels import panels_for
from app.cases.submit import submit_with_uploads
from app.core.auth import web_actor
from app.core.errors import DomainError, NotFound, PermissionDenied
from app.core.sorting import parse_sort, sort_args
from app.core.validators import page_number, whole_number
from app.extensions import db
from app.workflow import attachments, registry, services, webforms
from app.workflow.models import INSTANCE_STATUSES, Attachment, ProcessInstance, WorkflowTask
from app.workflow.versions import current_version

bp = Blueprint("cases", __name__)


@bp.app_context_processor
def _nav() -> dict:
    """Reviewer menus and panels (已审核, 批量审核) only for those who review for an organisation."""
    from flask_login import current_user

    if not current_user.is_authenticated:
        return {"nav_reviewer": False, "nav_inbox_count": 0}
    actor = web_actor()
    max_age = current_app.config.get("INBOX_BADGE_SECONDS", 30)
    try:
        count = queries.badge(actor, max_age) if max_age > 0 else 0
    except SQLAlchemyError:  # an error page while the database is away still renders
        count = 0
    return {"nav_reviewer": any(m.role != "member" for m in actor.memberships), "nav_inbox_count": count}


def _int_arg(name: str) -> int | None:
    return whole_number(request.args.get(name))


def process_names() -> dict[str, str]:
    names = {}
    for key in registry.process_keys():
        version = current_version(key)
        names[key] = version.name if version is not None else key
    return names


@bp.get("/tasks")
@login_required
def tasks():
    actor = web_actor()
    filters = {
        "process": (request.args.get("process") or "").strip() or None,
        "year": _int_arg("year"),
        "q": (request.args.get("q") or "").strip()[:50] or None,
    }
    sort = parse_sort(request.args.get("sort"), queries.INBOX_SORTS, queries.INBOX_DEFAULT_SORT)
    page = queries.inbox(actor, **filters, page=page_number(request.args.get("page")),
                         per_page=current_app.config.get("INBOX_PAGE_SIZE", 20), sort=sort)
    assignees = queries.user_names({t.assignee_id for t in page.items if t.assignee_id})
    args = {**{k: v for k, v in filters.items() if v is not None}, **sort_args(sort)}
    return render_template("cases/tasks.html", page=page, filters=filters, args=args, assignees=assignees,
                           processes=process_names(), groups=registry.inbox_groups(), actor=actor, sort=sort)


@bp.post("/tasks/batch")
@login_required
def batch():
    actor = web_actor()
    ids = [i for i in request.form.getlist("task_ids") if i]
    back = url_for("cases.tasks", **{k: v for k, v in request.args.items()
                                     if k in ("process", "year", "q", "page", "sort")})
    if not ids:
        flash(_("请先勾选要审核的任务"), "warning")
        return redirect(back)
    comment = (request.form.get("comment") or "").strip()
    outcome = "reject" if request.form.get("outcome") == "reject" else "approve"
    if outcome == "reject" and not comment:
        flash(_("批量审核为不同意时必须填写审核意见"), "warning")
        return redirect(back)
    done, failed = services.complete_tasks(ids, {"outcome": outcome, "comment": comment}, actor=actor)
    db.session.commit()
    queries.forget_badge(actor.id)
    if done and outcome == "reject":
        flash(_("批量审核完成：%(n)s 个任务已审核为不同意", n=len(done)), "success")
    elif done:
        flash(_("批量审核完成：%(n)s 个任务已审核通过", n=len(done)), "success")
    for item in failed:
        flash(_("%(task)s 未能审核：%(error)s", task=_describe(item["id"], actor), error=_(item["error"])), "danger")
    return redirect(back)


def _noun(instance: ProcessInstance) -> str:
    """申报 (a declaration) or 申请 (a registration, a change): how the pages name this process's cases."""
    hooks = registry.hooks_for(instance.process_key)
    return hooks.noun if hooks else "申报"


def _submitted(instance: ProcessInstance) -> str | None:
    """How the submission reads in the history: the process's own word (送审), 提交申请 for an application, else
    None (the history table's 提交申报)."""
    hooks = registry.hooks_for(instance.process_key)
    if hooks is None:
        return None
    return hooks.submitted or ("提交申请" if hooks.noun == "申请" else None)


def _describe(task_id: str, actor) -> str:
    """A failed task named as the reviewer knows it (only if they may see it)."""
    try:
        task = services.visible_task(task_id, actor)
    except DomainError:
        return _("任务")
    return f"{task.applicant_name or ''}《{task.title or task.name}》"


def _task_page(task: WorkflowTask, *, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
               message: str | None = None, status: int = 200):
    actor = web_actor()
    instance = task.instance
    data = services.instance_data(instance)
    schema, ui = services.task_form(task)
    schema = webforms.with_choices(schema, webforms.choices_for(instance.process_key, actor, instance))
    decl_schema, _decl_ui = webforms.start_schema(instance)
    if values is None:
        values = webforms.prefill(schema, data, set(decl_schema.get("properties", {})))
    files = {name: attachments.info_for(values.get(name) or [], actor=actor, instance=instance)
             for name in webforms.file_fields(schema, ui)}
    can_work = task.is_open and instance.status == "running" and task.assignee_id in (None, actor.id)
    names = queries.user_names({i for i in (task.assignee_id, task.completed_by_id) if i})
    return render_template(
        "cases/task.html", task=task, instance=instance, actor=actor,
        rows=webforms.declaration_rows(instance, data), id_number=data.get("person_id_number")
        or instance.applicant_id_number,
        attachments=attachments.attachments_for(data.get("attachments"), instance),
        events=services.history(instance), props=webforms.all_properties(instance),
        schema=schema, ui=ui, values=values, errors=errors or {}, message=message, files=files,
        can_work=can_work, names=names, changes=webforms.change_list(data),
        attachment_names=queries.attachment_names(instance.id), noun=_noun(instance),
        submitted=_submitted(instance), panels=panels_for(instance, actor),
        can_unclaim=task.assignee_id is not None and (task.assignee_id == actor.id
                                                     or actor.is_admin_of(task.candidate_org_id or -1)),
    ), status


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str):
    return _task_page(services.visible_task(task_id, web_actor()))


@bp.post("/tasks/<task_id>")
@login_required
def complete(task_id: str):
    actor = web_actor()
    task = services.visible_task(task_id, actor)
    schema, ui = services.task_form(task)
    personal = task.candidate_user_id is not None
    done = submit_with_uploads(schema, ui, lambda raw: services.complete_task(task_id, raw, actor=actor),
                               actor=actor, instance=task.instance,
                               context=lambda: services.instance_data(task.instance))
    if not done.ok:
        return _task_page(task, values=done.raw, errors=done.errors, message=done.message, status=done.status)
    queries.forget_badge(actor.id)
    flash(_("已提交：%(name)s", name=task.name), "success")
    if personal:  # the applicant revised their own declaration: show it
        return redirect(url_for("cases.application", instance_id=done.instance.id))
    return redirect(url_for("cases.tasks"))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):
    services.claim_task(task_id, actor=web_actor())
    db.session.commit()
    flash(_("已认领该任务，其他人将不能办理"), "success")
    return redirect(url_for("cases.task", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    services.unclaim_task(task_id, actor=web_actor())
    db.session.commit()
    flash(_("已取消认领"), "info")
    return redirect(url_for("cases.task", task_id=task_id))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    actor = web_actor()
    att = db.session.get(Attachment, attachment_id)
    if att is None:
        abort(404)
    allowed = att.uploaded_by_id == actor.id
    if not allowed and att.instance_id is not None:
        instance = db.session.get(ProcessInstance, att.instance_id)
        allowed = instance is not None and services.can_see_instance(actor, instance)
    if not allowed:
        abort(404)
    resp = send_file(BytesIO(att.data), mimetype=att.content_type, download_name=att.filename,
                     as_attachment=bool(request.args.get("download")), max_age=0, etag=att.sha256)
    resp.headers["Cache-Control"] = "private, no-store"
    if att.content_type.startswith("image/"):
        # defence in depth; not on PDFs, which browsers refuse to show in a sandboxed document
        resp.headers["Content-Security-Policy"] = (
            "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
        )
    return resp


# --------------------------------------------------------------------------- starting a case


def start_page(key: str, *, fixed: dict[str, Any] | None = None, prefill: dict[str, Any] | None = None,
               action: str | None = None, heading: str | None = None, template: str | None = None,
               context: dict[str, Any] | None = None):
    """The start form of process ``key`` (GET) and its submission (POST), for any process the actor may
    start: a domain page that needs more (an organisation from its URL, values it knows) passes them in."""
    actor = web_actor()
    hooks = registry.hooks_for(key)
    if hooks is None:
        raise NotFound(_("流程不存在"))
    if not hooks.can_start(actor):
        raise PermissionDenied(hooks.start_denied)
    _version, schema, ui = services.start_form(key)
    schema = webforms.with_choices(schema, webforms.choices_for(key, actor))
    values: dict[str, Any] = {**(hooks.start_defaults(actor) if hooks.start_defaults else {}), **(prefill or {})}
    errors: dict[str, str] = {}
    message, status = None, 200
    if request.method == "POST":
        done = submit_with_uploads(schema, ui, lambda raw: services.start_process(key, raw, actor=actor),
                                   actor=actor, fixed=fixed)
        if done.ok:
            flash(_(hooks.started_message), "success")
            return redirect(url_for("cases.application", instance_id=done.instance.id))
        values, errors, message, status = done.raw, done.errors, done.message, done.status
    files = {name: attachments.info_for(values.get(name) or [], actor=actor)
             for name in webforms.file_fields(schema, ui)}
    return render_template(
        template or hooks.start_template or "cases/start.html", schema=schema, ui=ui, values=values,
        errors=errors, message=message, files=files, process_key=key,
        action=action or url_for("cases.start", process_key=key), heading=heading or schema.get("title") or key,
        own=actor.user.id_number, **(context or {})), status


@bp.route("/start/<process_key>", methods=["GET", "POST"])
@login_required
def start(process_key: str):
    return start_page(process_key)


@bp.get("/start")
@login_required
def startable():
    """The processes this actor may start from the generic start page."""
    versions = services.startable_versions(web_actor())
    db.session.commit()  # a changed BPMN file becomes a new version on first use
    return render_template("cases/startable.html", versions=versions)


# --------------------------------------------------------------------------- my applications and the case page


@bp.get("/applications")
@login_required
def applications():
    actor = web_actor()
    status = request.args.get("status") if request.args.get("status") in INSTANCE_STATUSES else None
    sort = parse_sort(request.args.get("sort"), queries.APPLICATION_SORTS, queries.APPLICATION_DEFAULT_SORT)
    page = queries.my_applications(actor, status=status, page=page_number(request.args.get("page")),
                                   per_page=current_app.config.get("INBOX_PAGE_SIZE", 20), sort=sort)
    waiting = queries.waiting_at([i.id for i in page.items])
    orgs = queries.organisation_names({t.candidate_org_id for ts in waiting.values() for t in ts
                                       if t.candidate_org_id})
    args = {**({"status": status} if status else {}), **sort_args(sort)}
    return render_template("cases/applications.html", page=page, waiting=waiting, orgs=orgs, status=status,
                           statuses=INSTANCE_STATUSES, args=args, actor=actor, sort=sort)


@bp.get("/applications/<int:instance_id>")
@login_required
def application(instance_id: int):
    actor = web_actor()
    instance = services.visible_instance(instance_id, actor)
    data = services.instance_data(instance)
    events = services.history(instance)
    open_tasks = services.open_tasks(instance)
    orgs = queries.organisation_names({t.candidate_org_id for t in open_tasks if t.candidate_org_id})
    revise = next((t for t in open_tasks if t.candidate_user_id is not None), None)
    returns = [e for e in events if e.outcome == "return"]
    props = webforms.all_properties(instance)
    return render_template(
        "cases/application.html", instance=instance,
        rows=webforms.masked(webforms.declaration_rows(instance, data), props),
        attachments=attachments.attachments_for(data.get("attachments"), instance), events=events,
        attachment_names=queries.attachment_names(instance.id),
        props=props, open_tasks=open_tasks, orgs=orgs,
        revise=revise, my_revise=revise if revise is not None and revise.candidate_user_id == actor.id else None,
        last_return=returns[-1] if returns else None, actor=actor, changes=webforms.change_list(data),
        can_withdraw=services.can_withdraw(instance, actor, events), noun=_noun(instance),
        submitted=_submitted(instance),
        typical_wait=queries.typical_wait(open_tasks), panels=panels_for(instance, actor),
        mine=instance.started_by_id == actor.id
        or bool(actor.user.id_number and instance.applicant_id_number == actor.user.id_number),
    )


@bp.get("/applications/<int:instance_id>/diagram")
@login_required
def diagram(instance_id: int):
    """The diagram the case runs on, with the steps it has passed and those it waits at (the case page's
    viewer reads this)."""
    instance = services.visible_instance(instance_id, web_actor())
    state = services.diagram_state(instance)
    state["xml"] = _lanes_named(state["xml"])
    return jsonify(state)


def _lanes_named(xml: str) -> str:
    """The diagram as people read it: each lane named (主管部门, not supervisory_department), every name in the
    page's language."""
    from lxml import etree

    from app.core.i18n import translate
    from app.workflow.lanes import known_lanes

    if not xml:
        return xml
    root = etree.fromstring(xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    labels = known_lanes()
    for lane in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}lane"):
        if lane.get("name") in labels:
            lane.set("name", str(translate(labels[lane.get("name")])))
    # the steps, gateways and flows in the page's language (their names are in the catalogue: scripts/i18n.py)
    for el in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}*"):
        if el.get("name") and not el.tag.endswith("}lane"):
            el.set("name", str(translate(el.get("name"))))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


@bp.post("/applications/<int:instance_id>/withdraw")
@login_required
def withdraw(instance_id: int):
    """撤回: the applicant takes back a case no one has reviewed yet."""
    services.withdraw_instance(instance_id, actor=web_actor())
    db.session.commit()
    flash(_("已撤回"), "info")
    return redirect(url_for("cases.application", instance_id=instance_id))
