"""JSON API of registration and passwords (under /api/v1; anonymous except where noted)."""

from __future__ import annotations

import base64
import binascii
from io import BytesIO
from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for
from werkzeug.datastructures import FileStorage

from app.accounts.actor import Actor
from app.accounts.services import authenticate, issue_token
from app.api.args import json_body, load_args, page_args
from app.core.auth import api_actor
from app.core.errors import DomainError, ValidationFailed
from app.core.sorting import parse_sort
from app.core.validators import whole_number
from app.extensions import db
from app.registration import codes, picker, queries, services
from app.registration.openapi import add_paths  # noqa: F401  (the OpenAPI paths of these routes)
from app.registration.schemas import PickerOrganisationSchema, ReviewedListArgs, ReviewedSchema

bp = Blueprint("registration_api", __name__)


def _code_answer(code: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"sent": True, "message": "如信息无误，验证码已发送，请注意查收"}
    if code is not None and codes.show_in_page():
        body["code"] = code  # development only: there is no SMS gateway
    return body


def _guarded(fn, *args, **kwargs):
    """Run a service; count a wrong verification code even though the action fails."""
    try:
        return fn(*args, **kwargs)
    except codes.WrongCode as exc:
        db.session.rollback()
        codes.penalise(exc)
        db.session.commit()
        raise


def _registration_answer(instance) -> dict[str, Any]:
    return {"instance_id": instance.id, "status": "pending", "message": "注册申请已提交，请等待审核"}


@bp.post("/registrations/code")
def registration_code():
    code = services.send_registration_code(str(json_body().get("mobile") or ""), address=request.remote_addr)
    db.session.commit()
    return jsonify(_code_answer(code)), 202


@bp.post("/registrations/person")
def register_person():
    instance = _guarded(services.register_person, json_body())
    db.session.commit()
    return jsonify(_registration_answer(instance)), 201


def _licence(data: dict[str, Any]) -> FileStorage | None:
    """The USCC scan: a multipart file ``licence`` or JSON ``{"licence": {"filename", "content_base64"}}``."""
    if request.files.get("licence"):
        return request.files["licence"]
    value = data.get("licence")
    if not isinstance(value, dict):
        return None
    try:
        raw = base64.b64decode(str(value.get("content_base64") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("提交的内容有误，请按提示修改", {"licence": "文件内容不是有效的 base64"}) from None
    return FileStorage(stream=BytesIO(raw), filename=str(value.get("filename") or "licence"))


@bp.post("/registrations/organisation")
def register_organisation():
    data = json_body() if request.is_json else request.form.to_dict()
    actor = api_actor() if request.headers.get("Authorization") else None
    instance = _guarded(services.register_organisation, data, _licence(data), actor=actor,
                        address=request.remote_addr)
    db.session.commit()
    return jsonify(_registration_answer(instance)), 201


@bp.get("/registrations/organisations")
def organisations():
    """Active organisations to register under (the organisation picker): children of ``parent_id``
    (the tree, lazily; roots without it), or those whose name starts with / contains ``q`` (or whose
    USCC is ``q``); optionally only of the ``kind`` (repeatable or comma-separated). At most ``limit``
    rows (default 50, at most 200); ``X-More-Results: true`` says there are more, and browsing continues
    with ``after`` = the last id (a ``Link: rel="next"`` header gives the URL)."""
    kinds = picker.parse_kinds(request.args.getlist("kind"))
    limit = picker.clamp_limit(request.args.get("limit"))
    after_arg = request.args.get("after", "")
    after = whole_number(after_arg)
    q = (request.args.get("q") or "").strip()[:50]
    parent = request.args.get("parent_id", "")
    if q:
        rows, more = picker.search(q, kinds, limit)
    elif (parent_id := whole_number(parent)) is not None:
        rows, more = picker.children(parent_id, kinds, limit, after)
    elif kinds:
        rows, more = picker.of_kinds(kinds, limit, after)
    else:
        rows, more = picker.children(None, kinds, limit, after)
    resp = jsonify(PickerOrganisationSchema(many=True).dump(picker.describe(rows)))
    resp.headers["X-More-Results"] = "true" if more else "false"
    if more and not q and rows:
        args = {**request.args.to_dict(flat=False), "after": [str(rows[-1].id)], "limit": [str(limit)]}
        resp.headers["Link"] = f'<{url_for(".organisations", _external=False, **args)}>; rel="next"'
    return resp


@bp.post("/password/reset/code")
def reset_code():
    body = json_body()
    code = services.send_reset_code(str(body.get("id_number") or ""), str(body.get("channel") or "sms"),
                                    str(body.get("contact") or ""), address=request.remote_addr)
    db.session.commit()
    return jsonify(_code_answer(code)), 202


@bp.post("/password/reset")
def reset():
    b = json_body()
    _guarded(services.reset_password, str(b.get("id_number") or ""), str(b.get("channel") or "sms"),
             str(b.get("contact") or ""), str(b.get("verification_code") or ""), str(b.get("password") or ""),
             str(b.get("password_confirm") or b.get("password") or ""))
    db.session.commit()
    return jsonify({"reset": True, "message": "密码已重置，请使用新密码登录"})


@bp.post("/password/change")
def change():
    """With a bearer token: the actor's own password. Without one, with ``login``: the way out of a temporary
    password (an administrator's reset; /auth/token issues no token for it), answered with a token."""
    b = json_body()
    old, new = str(b.get("old_password") or ""), str(b.get("password") or "")
    confirm = str(b.get("password_confirm") or b.get("password") or "")
    login = str(b.get("login") or "")
    if request.headers.get("Authorization") or not login:
        actor = api_actor()
        services.change_password(actor, old, new, confirm)  # revokes every token issued before, this one too
        token = issue_token(actor.user)
        db.session.commit()
        return jsonify({"changed": True, "token": token,
                        "expires_in": current_app.config["API_TOKEN_HOURS"] * 3600})
    try:
        user = authenticate(login, old, address=request.remote_addr)
    except DomainError:
        db.session.commit()  # keep the failure count
        raise
    services.change_password(Actor.of(user), old, new, confirm)
    token = issue_token(user)
    db.session.commit()
    return jsonify({"changed": True, "token": token, "expires_in": current_app.config["API_TOKEN_HOURS"] * 3600})


@bp.get("/tasks/reviewed")
def reviewed():
    """已审核: tasks the actor's organisations completed, newest first."""
    actor = api_actor()
    page, per_page = page_args()
    sort = load_args(ReviewedListArgs(), {"sort": request.args.get("sort")} if "sort" in request.args else {})
    result = queries.reviewed(actor, process=request.args.get("process") or None,
                              q=(request.args.get("q") or "").strip()[:50] or None, page=page, per_page=per_page,
                              sort=parse_sort(sort["sort"], queries.REVIEWED_SORTS, queries.REVIEWED_DEFAULT_SORT))
    return jsonify({"items": ReviewedSchema(many=True).dump(result.items), "total": result.total,
                    "page": result.page, "per_page": result.per_page})
