"""Web pages of the credit-hour declaration (学时申报) and of "my applications" (我的申报)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.auth import web_actor
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.validators import page_number
from app.credits.workflow_hooks import PROCESS_KEY
from app.extensions import db
from app.inbox import queries
from app.workflow import attachments, registry, services, webforms
from app.workflow.forms import coerce, validate
from app.workflow.models import INSTANCE_STATUSES

bp = Blueprint("credits", __name__)


def _can_declare() -> bool:
    hooks = registry.hooks_for(PROCESS_KEY)
    return hooks is not None and hooks.can_start(web_actor())


@bp.app_context_processor
def _nav() -> dict:
    """Show 学时申报 in the menu only to those who may declare."""
    return {"nav_can_declare": current_user.is_authenticated and _can_declare()}


def _declare_page(schema: dict, ui: dict, values: dict, errors: dict | None = None, message: str | None = None,
                  status: int = 200):
    actor = web_actor()
    files = {name: attachments.info_for(values.get(name) or [], actor=actor)
             for name in webforms.file_fields(schema, ui)}
    return render_template("credits/declare.html", schema=schema, ui=ui, values=values, errors=errors or {},
                           message=message, files=files, own=actor.user.id_number), status


@bp.route("/declare", methods=["GET", "POST"])
@login_required
def declare():
    actor = web_actor()
    if not _can_declare():
        raise PermissionDenied("您无权申报学时：只有专业技术人员本人或用人单位管理员可以申报")
    _version, schema, ui = services.start_form(PROCESS_KEY)
    if request.method == "GET":
        return _declare_page(schema, ui, {"year": str(date.today().year)})

    raw = webforms.raw_from_form(schema, ui, request.form)
    new_ids, upload_errors = attachments.take_uploads(webforms.file_fields(schema, ui), raw, request.files,
                                                      actor=actor)
    if new_ids:
        db.session.commit()  # good files stay uploaded even if the form has to be shown again
    if upload_errors:
        errors = {**validate(schema, coerce(schema, raw)), **upload_errors}
        return _declare_page(schema, ui, raw, errors, _("提交的内容有误，请按提示修改"), 422)
    try:
        instance = services.start_process(PROCESS_KEY, raw, actor=actor)
    except ValidationFailed as exc:
        db.session.rollback()
        return _declare_page(schema, ui, raw, exc.fields, exc.message, 422)
    attachments.link(raw.get("attachments") or [], instance, actor=actor)
    db.session.commit()
    flash(_("申报已提交，等待审核"), "success")
    return redirect(url_for("credits.application", instance_id=instance.id))


@bp.get("/applications")
@login_required
def applications():
    actor = web_actor()
    status = request.args.get("status") if request.args.get("status") in INSTANCE_STATUSES else None
    page_no = request.args.get("page", "1")
    page = queries.my_applications(actor, status=status, page=page_number(page_no),
                                   per_page=current_app.config.get("INBOX_PAGE_SIZE", 20))
    waiting = queries.waiting_at([i.id for i in page.items])
    orgs = queries.organisation_names({t.candidate_org_id for ts in waiting.values() for t in ts
                                       if t.candidate_org_id})
    args = {"status": status} if status else {}
    return render_template("credits/applications.html", page=page, waiting=waiting, orgs=orgs, status=status,
                           statuses=INSTANCE_STATUSES, args=args, actor=actor)


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
        "credits/application.html", instance=instance,
        rows=webforms.masked(webforms.declaration_rows(instance, data), props),
        attachments=attachments.attachments_for(data.get("attachments"), instance), events=events,
        props=props, open_tasks=open_tasks, orgs=orgs,
        revise=revise, my_revise=revise if revise is not None and revise.candidate_user_id == actor.id else None,
        last_return=returns[-1] if returns else None, actor=actor, changes=webforms.change_list(data),
    )
