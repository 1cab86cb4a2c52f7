"""API of info changes: the immediate (unreviewed) profile fields, and the superiors an organisation
may pick. Reviewed changes start through the generic ``POST /processes/<key>/instances``."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.api.args import json_body
from app.changes.openapi import add_paths  # noqa: F401  (the OpenAPI paths of these routes)
from app.core.auth import api_actor
from app.core.errors import NotFound
from app.extensions import db

from . import services as profile
from .workflow_hooks import superior_candidates

bp = Blueprint("changes_api", __name__)


@bp.get("/profile")
def get_profile():
    return jsonify(profile.person_profile(api_actor()))


@bp.patch("/profile")
def patch_profile():
    body = profile.update_person_contact(api_actor(), json_body())
    db.session.commit()
    return jsonify(body)


@bp.get("/organisations/<int:org_id>/profile")
def get_organisation_profile(org_id: int):
    org = profile.visible_organisation(org_id, api_actor())
    return jsonify(profile.organisation_profile(org))


@bp.patch("/organisations/<int:org_id>/profile")
def patch_organisation_profile(org_id: int):
    org = profile.update_organisation_contact(org_id, api_actor(), json_body())
    db.session.commit()
    return jsonify(profile.organisation_profile(org))


@bp.get("/organisations/<int:org_id>/superior-candidates")
def superior_candidate_list(org_id: int):
    actor = api_actor()
    if not any(m.organisation_id == org_id and m.role == "admin" for m in actor.memberships):
        raise NotFound("单位不存在或您不是该单位的管理员")
    org = profile.visible_organisation(org_id, actor)
    return jsonify([{"id": o.id, "name": o.name, "kind": str(o.kind)} for o in superior_candidates(org)])
