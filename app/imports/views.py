"""Pages of the import centre (导入任务) and the export buttons that start export jobs."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.core.auth import web_actor
from app.core.errors import NotFound, ValidationFailed
from app.extensions import db

from . import exports, registry, services, xlsx

bp = Blueprint("imports", __name__)


def _kind(key: str | None) -> registry.ImportKind:
    try:
        kind = registry.get(key or "personnel")
    except NotFound:
        abort(404)
    if not kind.allowed(web_actor()):
        abort(404)
    return kind


def _page(kind: registry.ImportKind, *, errors: dict[str, str] | None = None, status: int = 200):
    actor = web_actor()
    rows = services.history(actor, kind.key)
    others = [k for k in registry.kinds().values() if k.allowed(actor)]  # 切换类型 (Fujian 000 §5.1)
    return render_template("imports/index.html", kind=kind, kinds=others, rows=rows, errors=errors or {},
                           units=kind.targets(actor) if kind.targets else [],
                           states=services.state,
                           running=any(services.state(j) in ("queued", "running") for _i, j in rows)), status


@bp.get("/imports")
@login_required
def index():
    return _page(_kind(request.args.get("kind")))


@bp.post("/imports")
@login_required
def upload():
    kind = _kind(request.form.get("kind"))
    f = request.files.get("file")
    unit = request.form.get("unit_id", "")
    try:
        imp = services.start(web_actor(), kind.key, f.stream if f else None, f.filename if f else None,
                             int(unit) if unit.isdigit() else None)
    except ValidationFailed as exc:
        db.session.rollback()
        return _page(kind, errors=exc.fields or {"file": exc.message}, status=422)
    finally:
        if f:
            f.close()
    db.session.commit()
    services.send_import(imp)
    flash(_("文件已上传，正在后台导入"), "success")
    return redirect(url_for("imports.index", kind=kind.key))


@bp.get("/imports/templates/<kind>")
@login_required
def template(kind: str):
    k = _kind(kind)
    buf = io.BytesIO()
    xlsx.template(k, buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name=f"{k.label}导入模板.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/imports/<int:import_id>/progress")
@login_required
def progress(import_id: int):
    imp, job = services.visible(web_actor(), import_id)
    return jsonify({"state": services.state(job), "done": job.done, "total": job.total,
                    "percent": job.percent})


@bp.get("/imports/<int:import_id>/<any(failure, success):which>-file")
@login_required
def file(import_id: int, which: str):
    return services.result_download(web_actor(), import_id, which, _("失败") if which == "failure" else _("成功"))


@bp.post("/exports/<kind>")
@login_required
def export(kind: str):
    filters = {k: v for k, v in request.form.items() if k != "csrf_token" and v}
    try:
        job = exports.start(web_actor(), kind, filters)
    except ValidationFailed as exc:
        flash(next(iter(exc.fields.values()), exc.message), "danger")
        return redirect(request.referrer or url_for("taskcentre.jobs"))
    db.session.commit()
    exports.send_export(job)
    flash(_("导出任务已提交，完成后可在任务中心下载"), "success")
    return redirect(url_for("taskcentre.jobs"))
