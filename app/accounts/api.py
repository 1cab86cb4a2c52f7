"""JSON API of signing in: a bearer token for a login and password (design §3)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from app.accounts.passwords import must_change_password
from app.accounts.schemas import TokenArgs, TokenSchema
from app.accounts.services import authenticate, issue_token
from app.api.args import json_body, load_args
from app.api.openapi import json_request, responses
from app.core.errors import DomainError, PasswordChangeNeeded
from app.extensions import db

bp = Blueprint("accounts_api", __name__)


@bp.post("/auth/token")
def token():
    args = load_args(TokenArgs(), json_body())
    try:
        user = authenticate(args["login"], args["password"], address=request.remote_addr)
    except DomainError:
        db.session.commit()  # keep the failure count
        raise
    if must_change_password(user.id):
        db.session.commit()  # the successful sign-in reset the failure count
        raise PasswordChangeNeeded("管理员已为您重置密码，请先通过 POST /password/change 修改临时密码")
    value = issue_token(user)
    db.session.commit()
    return jsonify(TokenSchema().dump({"token": value, "expires_in": current_app.config["API_TOKEN_HOURS"] * 3600}))


def add_paths(spec) -> None:  # noqa: ANN001
    """The sign-in path of the OpenAPI document."""
    spec.components.schema("Token", schema=TokenSchema)
    spec.components.schema("TokenArgs", schema=TokenArgs)
    spec.path(path="/auth/token", operations={"post": {
        "summary": "Exchange login and password for a bearer token", "security": [],
        "description": "403 `password_change_required`: an administrator reset the password; change the "
                       "temporary one with POST /password/change (with `login`) first.",
        "requestBody": json_request("TokenArgs"),
        "responses": responses("200", "Token", "400", "401", "403", "422", "423", "429")}})
