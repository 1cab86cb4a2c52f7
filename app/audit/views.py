"""The audit log page (审计日志) at /audit: administrators search the entries of their scope."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from app.audit import queries, services
from app.core.auth import web_actor
from app.core.errors import NotFound, ValidationFailed

bp = Blueprint("audit", __name__)


@bp.app_context_processor
def _nav() -> dict:
    return {"nav_audit": current_user.is_authenticated and queries.can_read(web_actor())}


@bp.after_app_request
def _write_kept(response):  # noqa: ANN001, ANN202
    services.write_kept()  # e.g. a failed sign-in inside an action that was rolled back
    return response


@bp.get("/audit")
@login_required
def index():
    actor = web_actor()
    if not queries.can_read(actor):
        raise NotFound("页面不存在")
    error, fields = None, {}
    try:
        filters = queries.parse_filters(request.args)
    except ValidationFailed as exc:
        filters, error, fields = queries.Filters(), exc.message, exc.fields
    page = queries.search(actor, filters)
    return render_template("audit/index.html", page=page, filters=filters, actions=services.ACTIONS,
                           error=error, fields=fields), 422 if error else 200
