"""Web pages of the task inbox (待办任务): list, batch review, one task, attachments."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.core.auth import web_actor
from app.core.errors import DomainError, ValidationFailed
from app.core.validators import page_number, whole_number
from app.extensions import db
from app.inbox import queries
from app.workflow import attachments, registry, services, webforms
from app.workflow.forms import coerce, validate
from app.workflow.models import Attachment, ProcessInstance, WorkflowTask
from app.workflow.versions import current_version

bp = Blueprint("inbox", __name__)


def _int_arg(name: str) -> int | None:
    return whole_number(request.args.get(name))


def _process_names() -> dict[str, str]:
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
    page = queries.inbox(actor, **filters, page=page_number(request.args.get("page")),
                         per_page=current_app.config.get("INBOX_PAGE_SIZE", 20))
    assignees = queries.user_names({t.assignee_id for t in page.items if t.assignee_id})
    args = {k: v for k, v in filters.items() if v is not None}
    return render_template("inbox/tasks.html", page=page, filters=filters, args=args, assignees=assignees,
                           processes=_process_names(), actor=actor)


@bp.post("/tasks/batch")
@login_required
def batch():
    actor = web_actor()
    ids = [i for i in request.form.getlist("task_ids") if i]
    back = url_for("inbox.tasks", **{k: v for k, v in request.args.items() if k in ("process", "year", "q", "page")})
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
    if done and outcome == "reject":
        flash(_("批量审核完成：%(n)s 个任务已审核为不同意", n=len(done)), "success")
    elif done:
        flash(_("批量审核完成：%(n)s 个任务已审核通过", n=len(done)), "success")
    for item in failed:
        flash(_("%(task)s 未能审核：%(error)s", task=_describe(item["id"], actor), error=_(item["error"])), "danger")
    return redirect(back)


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
        "inbox/task.html", task=task, instance=instance, actor=actor,
        rows=webforms.declaration_rows(instance, data), id_number=data.get("person_id_number")
        or instance.applicant_id_number,
        attachments=attachments.attachments_for(data.get("attachments"), instance),
        events=services.history(instance), props=webforms.all_properties(instance),
        schema=schema, ui=ui, values=values, errors=errors or {}, message=message, files=files,
        can_work=can_work, names=names, changes=webforms.change_list(data),
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
    raw = webforms.raw_from_form(schema, ui, request.form)
    new_ids, upload_errors = attachments.take_uploads(webforms.file_fields(schema, ui), raw, request.files,
                                                      actor=actor, instance=task.instance)
    if new_ids:
        db.session.commit()  # good files stay uploaded even if the form has to be shown again
    if upload_errors:
        context = services.instance_data(task.instance)
        errors = {**validate(schema, coerce(schema, raw), context), **upload_errors}
        return _task_page(task, values=raw, errors=errors, message=_("提交的内容有误，请按提示修改"), status=422)
    personal = task.candidate_user_id is not None
    try:
        instance = services.complete_task(task_id, raw, actor=actor)
    except ValidationFailed as exc:
        db.session.rollback()
        return _task_page(task, values=raw, errors=exc.fields, message=exc.message, status=422)
    attachments.link(new_ids, instance, actor=actor)
    db.session.commit()
    flash(_("已提交：%(name)s", name=task.name), "success")
    if personal:  # the applicant revised their own declaration: show it
        return redirect(url_for("credits.application", instance_id=instance.id))
    return redirect(url_for("inbox.tasks"))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):
    services.claim_task(task_id, actor=web_actor())
    db.session.commit()
    flash(_("已认领该任务，其他人将不能办理"), "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    services.unclaim_task(task_id, actor=web_actor())
    db.session.commit()
    flash(_("已取消认领"), "info")
    return redirect(url_for("inbox.task", task_id=task_id))


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
