"""Web pages of info changes (信息变更): start a reviewed change, edit contact details at once."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.core.auth import web_actor
from app.core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.people import fields as person_fields
from app.workflow import services, webforms

from . import services as profile
from .workflow_hooks import (
    ORG_CHANGE,
    PERSON_CHANGE,
    SUPERIOR_CHANGE,
    SUPERIOR_KINDS,
    managed_organisations,
    superior_choices,
)

bp = Blueprint("changes", __name__)

PERSON_CONTACT_FORM = {
    "title": "联系方式", "type": "object", "required": ["mobile"],
    "properties": {"mobile": {"type": "string", "title": "手机号码", "maxLength": 20},
                   "email": {"type": "string", "title": "电子邮箱", "format": "email", "maxLength": 200}},
}
ORG_CONTACT_FORM = {
    "title": "单位联系信息", "type": "object",
    "properties": {"contact_person": {"type": "string", "title": "联系人", "maxLength": 100},
                   "contact_phone": {"type": "string", "title": "联系电话", "maxLength": 20},
                   "contact_email": {"type": "string", "title": "电子邮箱", "format": "email", "maxLength": 200},
                   "address": {"type": "string", "title": "通讯地址", "maxLength": 300},
                   "principal": {"type": "string", "title": "负责人", "maxLength": 100},
                   "phone": {"type": "string", "title": "单位电话", "maxLength": 30},
                   "postcode": {"type": "string", "title": "邮政编码", "maxLength": 6},
                   "functions": {"type": "string", "title": "单位职能简介", "maxLength": 500}},
}
ORG_CONTACT_UI = {"postcode": {"ui:help": "6位数字"},
                  "functions": {"ui:widget": "textarea", "ui:rows": 4, "ui:help": "限500字"}}


def _detail_property(name: str) -> dict[str, Any]:
    field = person_fields.BY_NAME[name]
    prop: dict[str, Any] = {"type": "string", "title": field.label, "maxLength": field.max_length}
    if field.choices:
        prop["oneOf"] = [{"const": c, "title": c} for c in field.choices]
    if field.kind == "date":
        prop["format"] = "date"
    return prop


#: 完善个人信息: a professional's basic information that needs no review (app.changes.services.PERSON_DETAILS).
PERSON_DETAILS_FORM = {"title": "完善个人信息", "type": "object",
                       "properties": {name: _detail_property(name) for name in profile.PERSON_DETAILS}}
_TITLES = {PERSON_CHANGE: "申请信息变更", ORG_CHANGE: "申请单位信息变更", SUPERIOR_CHANGE: "申请变更上级单位"}


def _managed(actor: Actor, org_id: int) -> Organisation:
    org = next((o for o in managed_organisations(actor) if o.id == org_id), None)
    if org is None:
        raise NotFound("单位不存在或您不是该单位的管理员")
    return org


@bp.get("/changes")
@login_required
def index():
    actor = web_actor()
    person = actor.person
    orgs = managed_organisations(actor)
    return render_template("changes/index.html", person=person, orgs=orgs, superior_kinds=SUPERIOR_KINDS,
                           actor=actor, details=profile.registration_details([o.id for o in orgs]))


def _start_page(key: str, org: Organisation | None, prefill: dict[str, Any], action: str):
    actor = web_actor()
    _version, schema, ui = services.start_form(key)
    schema = webforms.with_choices(schema, _choices(key, org) if org is not None else {})
    values: dict[str, Any] = dict(prefill)
    errors: dict[str, str] = {}
    message = None
    status = 200
    if request.method == "POST":
        raw = webforms.raw_from_form(schema, ui, request.form)
        if org is not None:
            raw["organisation_id"] = str(org.id)
        try:
            instance = services.start_process(key, raw, actor=actor)
        except (ValidationFailed, InvalidState) as exc:
            db.session.rollback()
            values, errors, message = raw, dict(exc.fields), exc.message
            status = 409 if isinstance(exc, InvalidState) else 422
        else:
            db.session.commit()
            flash(_("变更申请已提交，等待审核"), "success")
            return redirect(url_for("cases.application", instance_id=instance.id))
    return render_template("changes/start.html", schema=schema, ui=ui, values=values, errors=errors,
                           message=message, action=action, heading=_TITLES[key], org=org), status


def _choices(key: str, org: Organisation) -> dict:
    return superior_choices(org) if key == SUPERIOR_CHANGE else {}


@bp.route("/changes/person", methods=["GET", "POST"])
@login_required
def person_change():
    actor = web_actor()
    person = actor.person
    if person is None:
        raise PermissionDenied("只有专业技术人员本人可以申请信息变更")
    current = {"title_series": person.title_series, "title_level": person.title_level,
               "education": person.education, "major": person.major,
               "work_start_date": person.work_start_date.isoformat() if person.work_start_date else None}
    return _start_page(PERSON_CHANGE, None, {k: v for k, v in current.items() if v},
                       url_for("changes.person_change"))


@bp.route("/changes/organisations/<int:org_id>", methods=["GET", "POST"])
@login_required
def organisation_change(org_id: int):
    org = _managed(web_actor(), org_id)
    return _start_page(ORG_CHANGE, org, {"name": org.name, "uscc": org.uscc or ""},
                       url_for("changes.organisation_change", org_id=org.id))


@bp.route("/changes/organisations/<int:org_id>/superior", methods=["GET", "POST"])
@login_required
def superior_change(org_id: int):
    org = _managed(web_actor(), org_id)
    return _start_page(SUPERIOR_CHANGE, org, {}, url_for("changes.superior_change", org_id=org.id))


def _contact_page(schema: dict, values: dict, action: str, heading: str, errors: dict | None = None,
                  message: str | None = None, status: int = 200, back: str | None = None, note: str | None = None,
                  ui: dict | None = None):
    return render_template("changes/contact.html", schema=schema, values=values, errors=errors or {},
                           message=message, action=action, heading=heading, back=back, note=note,
                           ui=ui or {}), status


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def person_profile():
    actor = web_actor()
    current = profile.person_profile(actor)
    action = url_for("changes.person_profile")
    if request.method == "POST":
        raw = {name: request.form.get(name, "") for name in PERSON_CONTACT_FORM["properties"]}
        try:
            profile.update_person_contact(actor, raw)
        except ValidationFailed as exc:
            db.session.rollback()
            return _contact_page(PERSON_CONTACT_FORM, raw, action, _("修改联系方式"), exc.fields, exc.message, 422)
        db.session.commit()
        flash(_("联系方式已更新"), "success")
        return redirect(url_for("changes.index"))
    return _contact_page(PERSON_CONTACT_FORM, {"mobile": current["mobile"], "email": current["email"]}, action,
                         _("修改联系方式"))


@bp.route("/profile/details", methods=["GET", "POST"])
@login_required
def person_details():
    actor = web_actor()
    profile.own_person(actor)  # a user without a professional's record has nothing to complete (404)
    action = url_for("changes.person_details")
    heading, note = _("完善个人信息"), _("以下信息无需审核，保存后立即生效；职称、学历等信息请通过信息变更申请修改。")
    if request.method == "POST":
        raw = {name: request.form.get(name, "") for name in profile.PERSON_DETAILS}
        try:
            profile.update_person_details(actor, raw)
        except ValidationFailed as exc:
            db.session.rollback()
            return _contact_page(PERSON_DETAILS_FORM, raw, action, heading, exc.fields, exc.message, 422, note=note)
        db.session.commit()
        flash(_("个人信息已更新"), "success")
        return redirect(url_for("changes.index"))
    return _contact_page(PERSON_DETAILS_FORM, profile.person_profile(actor)["details"], action, heading, note=note)


@bp.route("/organisations/<int:org_id>/profile", methods=["GET", "POST"])
@login_required
def organisation_profile(org_id: int):
    actor = web_actor()
    org = _managed(actor, org_id)
    action = url_for("changes.organisation_profile", org_id=org.id)
    heading = _("修改单位联系信息") + _("：") + org.name
    note = _("联系信息、负责人、单位电话、邮政编码和单位职能简介无需审核，保存后立即生效。")
    if request.method == "POST":
        raw = {name: request.form.get(name, "") for name in ORG_CONTACT_FORM["properties"]}
        try:
            profile.update_organisation_contact(org.id, actor, raw)
        except ValidationFailed as exc:
            db.session.rollback()
            return _contact_page(ORG_CONTACT_FORM, raw, action, heading, exc.fields, exc.message, 422,
                                 note=note, ui=ORG_CONTACT_UI)
        db.session.commit()
        flash(_("单位联系信息已更新"), "success")
        return redirect(url_for("changes.index"))
    current = profile.organisation_profile(org)
    return _contact_page(ORG_CONTACT_FORM, {n: current[n] for n in ORG_CONTACT_FORM["properties"]}, action, heading,
                         note=note, ui=ORG_CONTACT_UI)
