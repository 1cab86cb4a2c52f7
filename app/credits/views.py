"""The credit-hour declaration page (学时申报): the generic start page of ``credit_hour_approval`` at its
familiar address."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user, login_required

from app.cases.views import start_page
from app.core.auth import web_actor
from app.credits import queries
from app.credits.schemas import StaffChoiceSchema
from app.credits.workflow_hooks import PROCESS_KEY, declaring_institution
from app.workflow import registry

bp = Blueprint("credits", __name__)


@bp.app_context_processor
def _nav() -> dict:
    """Show 学时申报 in the menu only to those who may declare; tell a training institution how it declares for
    its students."""
    if not current_user.is_authenticated:
        return {"nav_can_declare": False, "declares_for_students": False}
    hooks = registry.hooks_for(PROCESS_KEY)
    actor = web_actor()
    return {"nav_can_declare": hooks is not None and hooks.can_start(actor),
            "declares_for_students": actor.person is None and declaring_institution(actor) is not None}


@bp.route("/declare", methods=["GET", "POST"])
@login_required
def declare():
    return start_page(PROCESS_KEY, action=url_for("credits.declare"))


@bp.get("/declare/people")
@login_required
def people():
    """Type-ahead of the declaration's 公民身份号码: the staff of the units the actor declares for whose name or
    ID number starts with ``q`` (at most 10; nothing for a professional declaring for themself)."""
    found = queries.staff_matching(web_actor(), request.args.get("q", "")[:18])
    return jsonify(StaffChoiceSchema(many=True).dump(found))
