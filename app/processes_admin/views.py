"""Pages of process administration (审批流程管理): versions, the steps of each, upload of an edited diagram."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.auth import web_actor
from app.core.errors import DomainError
from app.core.i18n import translated_error
from app.extensions import db
from app.processes_admin import services
from app.workflow.lanes import known_lanes
from app.workflow.versions import parsed_for

bp = Blueprint("processes_admin", __name__, url_prefix="/admin/processes")


@bp.app_context_processor
def _nav() -> dict:
    return {"nav_can_manage_processes": current_user.is_authenticated and services.can_manage(web_actor())}


@bp.get("/")
@login_required
def index():
    return render_template("processes_admin/index.html", current=services.overview(web_actor()))


def _detail(key: str, error: str | None = None, status: int = 200):
    rows = services.history(web_actor(), key)
    current = next((r.version for r in rows if r.version.active), rows[0].version if rows else None)
    parsed = parsed_for(current) if current is not None else None
    steps = sorted(parsed.user_tasks.values(), key=lambda t: t.spec_id) if parsed else []
    return render_template("processes_admin/detail.html", key=key, rows=rows, current=current, steps=steps,
                           lane_labels=known_lanes(), error=error), status


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
    rows = services.history(web_actor(), key)
    current = next((r.version for r in rows if r.version.active), rows[0].version)
    return render_template("processes_admin/edit.html", key=key, current=current, available=editor_available())


@bp.post("/<key>/xml")
@login_required
def save_xml(key: str):
    """The editor posts the diagram as XML (CSRF token in the X-CSRFToken header); answers JSON."""
    try:
        version = services.upload(web_actor(), key, f"{key}.bpmn", request.get_data(cache=False))
    except DomainError as exc:  # refused file, or (SQLite) another save at the same moment
        db.session.rollback()
        return jsonify(translated_error(exc)), exc.status  # for the editor page: in the page's language
    db.session.commit()
    flash(_("已启用第 %(n)s 版：新的申请按此版本办理，进行中的申请仍按原版本办理", n=version.version), "success")
    return jsonify({"version": version.version, "redirect": url_for("processes_admin.detail", key=key)})
