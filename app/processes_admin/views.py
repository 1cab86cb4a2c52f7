"""Pages of process administration (审批流程管理): versions, the steps of each, upload of an edited diagram."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.auth import web_actor
from app.core.errors import DomainError, InvalidState, NotFound, ValidationFailed
from app.core.i18n import translated_error
from app.core.validators import whole_number, whole_numbers
from app.extensions import db
from app.processes_admin import services
from app.workflow import diagram_diff
from app.workflow.lanes import known_lanes
from app.workflow.migration import REFUSALS
from app.workflow.validation import check_text
from app.workflow.versions import parsed_for

bp = Blueprint("processes_admin", __name__, url_prefix="/admin/processes")


@bp.app_context_processor
def _nav() -> dict:
    return {"nav_can_manage_processes": current_user.is_authenticated and services.can_manage(web_actor())}


@bp.get("/")
@login_required
def index():
    return render_template("processes_admin/index.html", current=services.overview(web_actor()),
                           rules=services.decision_keys())


def _detail(key: str, error: str | None = None, status: int = 200):
    rows = services.history(web_actor(), key)
    current = next((r.version for r in rows if r.version.active), rows[0].version if rows else None)
    parsed = parsed_for(current) if current is not None else None
    steps = sorted(parsed.user_tasks.values(), key=lambda t: t.spec_id) if parsed else []
    older = sum(r.running for r in rows if current is None or r.version.id != current.id)
    candidates = None
    if current is not None and older and request.args.get("preview"):
        candidates = services.migration_preview(web_actor(), key, current.version, request.args.get("step") or None)
    return render_template("processes_admin/detail.html", key=key, rows=rows, current=current, steps=steps,
                           lane_labels=known_lanes(), error=error, older=older, candidates=candidates,
                           refusals=REFUSALS, draft=services.draft(web_actor(), key)), status


@bp.get("/<key>")
@login_required
def detail(key: str):
    return _detail(key)


@bp.post("/<key>")
@login_required
def upload(key: str):
    file = request.files.get("file")
    if file is None or not file.filename:
        return _detail(key, _("请选择要上传的 .bpmn 文件"), 422)
    try:
        version = services.upload(web_actor(), key, file.filename, file.read(services.MAX_BPMN_BYTES + 1))
    except DomainError as exc:  # refused file, or (SQLite) another save at the same moment
        db.session.rollback()
        detail = exc.fields.get("file", "")
        message = _("%(message)s：%(detail)s", message=_(exc.message), detail=_(detail) if detail else "")
        return _detail(key, message, 422)
    db.session.commit()
    flash(_("已启用第 %(n)s 版：新的申请按此版本办理，进行中的申请仍按原版本办理", n=version.version), "success")
    return redirect(url_for("processes_admin.detail", key=key))


@bp.get("/<key>/v<int:number>.bpmn")
@login_required
def download(key: str, number: int):
    version = services.version(web_actor(), key, number)
    return Response(version.bpmn_xml, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{key}-v{number}.bpmn"'})


def editor_available() -> bool:
    """bpmn-js is installed by scripts/install.sh when npm is present."""
    bundle = Path(current_app.static_folder or "") / "node_modules/bpmn-js/dist/bpmn-modeler.production.min.js"
    return bundle.is_file()


@bp.get("/<key>/edit")
@login_required
def edit(key: str):
    """The editor, on the current version, or with ``?draft=1`` on the draft kept on the server."""
    actor = web_actor()
    rows = services.history(actor, key)
    current = next((r.version for r in rows if r.version.active), rows[0].version)
    draft = services.draft(actor, key) if request.args.get("draft") else None
    if request.args.get("draft") and draft is None:
        raise NotFound("这个流程没有草稿")
    return render_template("processes_admin/edit.html", key=key, current=current, available=editor_available(),
                           config=services.editor_config(actor, key), texts=_editor_texts(), draft=draft)


def _editor_texts() -> dict:
    """The words of the editor's panels, in the page's language."""
    return {
        "lane": _("办理方（泳道）"), "form": _("表单"), "operation": _("平台操作"),
        "condition": _("条件表达式"), "unknown_lane": _("未知泳道"),
        "platform_group": _("本平台的设置"), "pick_label": _("常用条件"), "hours_n": _("学时 N"),
        "form_preview": _("表单预览"), "colon": _("："),
        "lane_help": _("泳道代表与申请人的组织关系，由平台为每件申请找到具体组织"),
        "lane_task_help": _("选择后任务移到该泳道；图中还没有的泳道会添加在最下面"),
        "operation_help": _("服务任务只能执行平台登记的操作"),
        "default_flow": _("默认流向（其他条件都不满足时走这条）"),
        "pick": _("选择常用条件…"),
        "picks": [["approve", _("审核结果为同意"), "outcome == 'approve'"],
                  ["reject", _("审核结果为不同意并结案"), "outcome == 'reject'"],
                  ["return", _("审核结果为不同意并退案"), "outcome == 'return'"],
                  ["supervisory", _("申请人单位有主管部门"), "lanes['supervisory_department']"],
                  ["no_supervisory", _("申请人单位没有主管部门"), "not lanes['supervisory_department']"],
                  ["hours", _("申报学时超过 N"), "hours > {N}"]],
        "condition_help": _("也可以直接输入表达式，输入时即检查"),
        "expression_ok": _("表达式可以使用"),
        "problems_n": _("{n} 个问题"), "no_problems": _("没有问题"),
        "running": _("正在试运行…"), "fix_first": _("请先改正上面列出的问题"),
        "all_end": _("每个示例申请都能办结"), "stranded": _("有示例申请无法办结，不能启用"),
        "stranded_at": _("停在"),
        "scenarios": {"approve": _("全部同意"), "return": _("在“{step}”退案一次后重新提交"),
                      "reject": _("在“{step}”不同意并结案")},
        "applicants": {"with_supervisory": _("单位有主管部门"), "without_supervisory": _("单位没有主管部门")},
        "outcomes": {"approve": _("同意"), "reject": _("不同意并结案"), "return": _("不同意并退案"),
                     "resubmit": _("重新提交")},
        "kinds": {"UserTask": _("用户任务"), "ServiceTask": _("服务任务"), "ScriptTask": _("脚本任务"),
                  "ExclusiveGateway": _("排他网关"), "SequenceFlow": _("顺序流"), "Lane": _("泳道"),
                  "StartEvent": _("开始事件"), "EndEvent": _("结束事件"), "Task": _("任务")},
    }


@bp.post("/<key>/validate")
@login_required
def validate(key: str):
    """The editor checks the diagram (or one expression, ``?expression=1``) as the administrator works."""
    actor = web_actor()
    if request.args.get("expression"):
        services.validate(actor, b"")  # only administrators
        reason = check_text(request.get_data(as_text=True))
        return jsonify({"valid": reason is None, "message": reason})
    problems = services.dry_run(actor, key, request.get_data(cache=False)).problems
    return jsonify({"valid": not problems, "problems": [p.__dict__ for p in problems]})


@bp.post("/<key>/dry-run")
@login_required
def dry_run(key: str):
    from app.processes_admin.api import DryRunSchema

    report = services.dry_run(web_actor(), key, request.get_data(cache=False))
    return jsonify(DryRunSchema().dump({"valid": not report.problems, "deployable": report.deployable,
                                        "problems": report.problems, "paths": report.paths}))


@bp.post("/<key>/migrate")
@login_required
def migrate(key: str):
    """Move the chosen running cases to the current version, as a background job (task centre)."""
    from app.taskcentre.services import send

    actor = web_actor()
    current = next(r.version for r in services.history(actor, key) if r.version.active)
    ids = whole_numbers(request.form.getlist("instance_id"))
    try:
        job = services.migration_start(actor, key, current.version, ids)
    except DomainError as exc:
        db.session.rollback()
        flash(_(exc.message), "danger")
        return redirect(url_for("processes_admin.detail", key=key))
    db.session.commit()
    send(job)
    flash(_("已开始迁移 %(n)s 件申请，进度见任务中心", n=job.total), "success")
    return redirect(url_for("processes_admin.detail", key=key))


@bp.get("/<key>/v<int:number>")
@login_required
def show_version(key: str, number: int):
    """One version's diagram, read-only; with ``?compare=<m>``, what changed from version m (highlighted)."""
    actor = web_actor()
    version = services.version(actor, key, number)
    rows = services.history(actor, key)
    other = whole_number(request.args.get("compare"))
    base = services.version(actor, key, other) if other else None
    changes = diagram_diff.diff(base.bpmn_xml, version.bpmn_xml) if base is not None else None
    names = diagram_diff.names(base.bpmn_xml, version.bpmn_xml) if base is not None else {}
    aspects = {"type": _("类型"), "name": _("名称"), "lane": _("办理方（泳道）"), "form": _("表单"),
               "condition": _("条件"), "source": _("起点"), "target": _("终点"), "operation": _("平台操作"),
               "script": _("脚本"), "default": _("默认流向")}
    return render_template("processes_admin/version.html", key=key, version=version, rows=rows, base=base,
                           changes=changes.__dict__ if changes else None, available=editor_available(),
                           names=names, aspects=aspects)


@bp.post("/<key>/v<int:number>/restore")
@login_required
def restore(key: str, number: int):
    """Deploy an earlier version's diagram again, as a new version (the old one stays as it was)."""
    try:
        version = services.restore(web_actor(), key, number)
    except DomainError as exc:
        db.session.rollback()
        flash(_("%(message)s：%(detail)s", message=_(exc.message), detail=_(exc.fields.get("file", ""))), "danger")
        return redirect(url_for("processes_admin.detail", key=key))
    db.session.commit()
    flash(_("已恢复第 %(old)s 版，现为当前版本（第 %(n)s 版）", old=number, n=version.version), "success")
    return redirect(url_for("processes_admin.detail", key=key))


@bp.post("/<key>/xml")
@login_required
def save_xml(key: str):
    """The editor posts the diagram as XML (CSRF token in the X-CSRFToken header); answers JSON."""
    try:
        version = services.upload(web_actor(), key, f"{key}.bpmn", request.get_data(cache=False))
        if request.args.get("draft") and services.draft(web_actor(), key) is not None:
            services.discard_draft(web_actor(), key)  # the editor was opened on the draft: it is deployed now
    except DomainError as exc:  # refused file, or (SQLite) another save at the same moment
        db.session.rollback()
        return jsonify(translated_error(exc)), exc.status  # for the editor page: in the page's language
    db.session.commit()
    flash(_("已启用第 %(n)s 版：新的申请按此版本办理，进行中的申请仍按原版本办理", n=version.version), "success")
    return jsonify({"version": version.version, "redirect": url_for("processes_admin.detail", key=key)})


@bp.get("/<key>/draft.bpmn")
@login_required
def draft_xml(key: str):
    draft = services.draft(web_actor(), key)
    if draft is None:
        raise NotFound("这个流程没有草稿")
    return Response(draft.bpmn_xml, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{key}-draft.bpmn"'})


@bp.post("/<key>/draft")
@login_required
def save_draft(key: str):
    """The editor keeps its unfinished work on the server (XML body, CSRF token in the X-CSRFToken header)."""
    try:
        draft = services.save_draft(web_actor(), key, request.get_data(cache=False)[: services.MAX_BPMN_BYTES + 1],
                                    whole_number(request.args.get("base")))
    except DomainError as exc:
        db.session.rollback()
        return jsonify(translated_error(exc)), exc.status
    db.session.commit()
    at = current_app.jinja_env.filters["dt"](draft.saved_at)
    return jsonify({"saved_at": at, "message": _("草稿已保存（%(at)s）：可以在流程页面继续编辑", at=at)})


@bp.post("/<key>/draft/delete")
@login_required
def discard_draft(key: str):
    services.discard_draft(web_actor(), key)
    db.session.commit()
    flash(_("草稿已删除"), "success")
    return redirect(url_for("processes_admin.detail", key=key))


# --------------------------------------------------------------------------- decision tables (dmn-js)


def dmn_editor_available() -> bool:
    bundle = Path(current_app.static_folder or "") / "node_modules/dmn-js/dist/dmn-modeler.production.min.js"
    return bundle.is_file()


@bp.get("/rules/<rule_key>")
@login_required
def rule(rule_key: str):
    """A decision table edited in the browser (dmn-js): checked cell by cell, tried on inputs, deployed as
    a new version; its versions, each viewable and restorable."""
    rows = services.decision_history(web_actor(), rule_key)
    texts = {"problems_n": _("{n} 个问题"), "no_problems": _("没有问题"), "no_rule": _("没有适用的规则"),
             "saving": _("正在检查并保存…"), "failed": _("未能保存"), "colon": _("："), "separator": _("；")}
    return render_template("processes_admin/rule.html", key=rule_key, rows=rows, available=dmn_editor_available(),
                           texts=texts, version=whole_number(request.args.get("v")), current_year=date.today().year)


@bp.get("/rules/<rule_key>/current.dmn")
@login_required
def rule_current(rule_key: str):
    return Response(services.decision_text(web_actor(), rule_key), mimetype="application/xml")


@bp.get("/rules/<rule_key>/v<int:number>.dmn")
@login_required
def rule_version(rule_key: str, number: int):
    return Response(services.decision_text(web_actor(), rule_key, number), mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{rule_key}-v{number}.dmn"'})


@bp.post("/rules/<rule_key>/validate")
@login_required
def rule_validate(rule_key: str):
    problems = services.check_decision(web_actor(), rule_key, request.get_data(cache=False))
    return jsonify({"valid": not problems, "problems": [p.__dict__ for p in problems]})


@bp.post("/rules/<rule_key>/try")
@login_required
def rule_try(rule_key: str):
    """What the draft answers for ``?year=&province=&title_level=`` (nothing is stored)."""
    inputs = {"year": request.args.get("year", type=int), "province": request.args.get("province") or None,
              "title_level": request.args.get("title_level") or None}
    inputs["region"] = inputs["province"]
    try:
        answer = services.try_decision(web_actor(), rule_key, request.get_data(cache=False), inputs)
    except DomainError as exc:
        return jsonify(translated_error(exc)), exc.status
    return jsonify({"answer": {k: v for k, v in answer.items() if not k.startswith("_")}})


@bp.post("/rules/<rule_key>/xml")
@login_required
def rule_deploy(rule_key: str):
    try:
        row = services.deploy_decision(web_actor(), rule_key, request.get_data(cache=False))
    except DomainError as exc:
        db.session.rollback()
        return jsonify(translated_error(exc)), exc.status
    db.session.commit()
    flash(_("决策表第 %(n)s 版已启用：此后的年度验证按此表计算", n=row.version), "success")
    return jsonify({"version": row.version, "redirect": url_for("processes_admin.rule", rule_key=rule_key)})


@bp.post("/rules/<rule_key>/v<int:number>/restore")
@login_required
def rule_restore(rule_key: str, number: int):
    try:
        row = services.restore_decision(web_actor(), rule_key, number)
    except DomainError as exc:
        db.session.rollback()
        flash(_("%(message)s：%(detail)s", message=_(exc.message), detail=_(exc.fields.get("file", ""))), "danger")
        return redirect(url_for("processes_admin.rule", rule_key=rule_key))
    db.session.commit()
    flash(_("已恢复第 %(old)s 版，现为当前版本（第 %(n)s 版）", old=number, n=row.version), "success")
    return redirect(url_for("processes_admin.rule", rule_key=rule_key))


# --------------------------------------------------------------------------- forms


@bp.get("/forms/")
@login_required
def forms():
    from app.core.i18n import translate

    actor = web_actor()
    used = services.forms_in_use()
    rows = []
    for stem in services.form_names(actor):
        schema_text, _ui = services.form_texts(actor, stem)
        try:
            title = translate(json.loads(schema_text).get("title") or stem)
        except ValueError:
            title = stem
        rows.append({"name": stem, "title": title, "used_by": used.get(stem, [])})
    return render_template("processes_admin/forms.html", rows=rows)


def _form_page(stem: str, schema_text: str, ui_text: str, *, new: bool, errors: dict | None = None,
               status: int = 200):
    used = [] if new else services.forms_in_use().get(stem, [])
    return render_template("processes_admin/form_edit.html", name=stem, schema_text=schema_text, ui_text=ui_text,
                           new=new, used_by=used, errors=errors or {}), status


NEW_FORM = json.dumps({"title": "新表单", "type": "object", "required": ["comment"], "properties": {
    "comment": {"type": "string", "title": "意见", "maxLength": 500}}}, ensure_ascii=False, indent=2) + "\n"


@bp.get("/forms/<form_name>")
@login_required
def form_edit(form_name: str):
    """A form's JSON Schema and UI schema, edited with a live preview; ``?new=1``: a new form of that name."""
    if request.args.get("new"):
        services.form_names(web_actor())  # only administrators
        if not services.FORM_STEM.fullmatch(form_name):
            raise NotFound("没有这个表单")
        return _form_page(form_name, NEW_FORM, '{\n  "comment": {"ui:widget": "textarea"}\n}\n', new=True)
    schema_text, ui_text = services.form_texts(web_actor(), form_name)
    return _form_page(form_name, schema_text, ui_text, new=False)


@bp.post("/forms/<form_name>")
@login_required
def form_save(form_name: str):
    new = bool(request.form.get("new"))
    schema_text, ui_text = request.form.get("schema", ""), request.form.get("ui", "")
    try:
        services.save_form(web_actor(), form_name, schema_text, ui_text, new=new)
    except ValidationFailed as exc:
        return _form_page(form_name, schema_text, ui_text, new=new, errors=exc.fields, status=422)
    db.session.commit()
    flash(_("表单已保存：使用它的流程在下一件新申请时启用新版本，进行中的申请仍用原来的表单"), "success")
    return redirect(url_for("processes_admin.form_edit", form_name=form_name))


@bp.post("/forms/<form_name>/delete")
@login_required
def form_delete(form_name: str):
    try:
        services.delete_form(web_actor(), form_name)
    except InvalidState as exc:
        flash(_("%(message)s：%(detail)s", message=_(exc.message), detail=exc.fields.get("name", "")), "danger")
        return redirect(url_for("processes_admin.form_edit", form_name=form_name))
    db.session.commit()
    flash(_("表单已删除"), "success")
    return redirect(url_for("processes_admin.forms"))


@bp.post("/forms/preview")
@login_required
def form_preview():
    """The form as applicants and reviewers will see it, for the JSON being edited (JSON body
    ``{"schema": text, "ui": text}``); with what is wrong."""
    services.form_names(web_actor())  # only administrators
    body = request.get_json(silent=True) or {}
    errors, schema, ui = services.check_form(str(body.get("schema") or ""), str(body.get("ui") or "{}"))
    html = render_template("processes_admin/form_preview.html", schema=schema, ui=ui or {}) if schema else ""
    return jsonify({"errors": errors, "html": html})
