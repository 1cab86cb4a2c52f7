"""/api/v1/org/...: administrators, roles, departments and subordinate organisations.

Every endpoint works in one organisation the actor administers: ``?org_id=`` (default: the first one).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from marshmallow import Schema, fields, missing, validate
from marshmallow.experimental.context import Context

from app.accounts.models import PERMISSION_MODULES
from app.api.args import json_body, load_args, page_args
from app.api.openapi import json_request, responses
from app.core.auth import api_actor
from app.core.validators import MAX_PAGE, mask_id_number, mask_mobile, whole_number
from app.extensions import db
from app.orgadmin import services
from app.orgadmin.models import AdminRole, Department

bp = Blueprint("orgadmin_api", __name__)

# --- schemas (input: XArgs, output: XSchema) ------------------------------------------------------


class AddAdminArgs(Schema):
    way = fields.String(required=True, validate=validate.OneOf(("member", "register", "existing")), metadata={
        "description": "member: a registered member of the organisation (user_id); register: a new user "
                       "(login, name, id_number, mobile, password); existing: a user of another organisation "
                       "(login = login name or ID number, password = their own password)"})
    user_id = fields.Integer(load_default=None)
    login = fields.String(load_default="", validate=validate.Length(max=64))
    name = fields.String(load_default="", validate=validate.Length(max=100))
    id_number = fields.String(load_default="", validate=validate.Length(max=18))
    mobile = fields.String(load_default="", validate=validate.Length(max=20))
    password = fields.String(load_default="", validate=validate.Length(max=128))
    role_id = fields.Integer(load_default=None, allow_none=True)


class AssignRoleArgs(Schema):
    role_id = fields.Integer(required=True, allow_none=True)


class RoleArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    modules = fields.List(fields.String(validate=validate.OneOf(list(PERMISSION_MODULES))), required=True)


class RolePatchArgs(Schema):
    name = fields.String(validate=validate.Length(min=1, max=64))
    modules = fields.List(fields.String(validate=validate.OneOf(list(PERMISSION_MODULES))))


class DepartmentArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    parent_id = fields.Integer(load_default=None, allow_none=True)


class DepartmentPatchArgs(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    parent_id = fields.Integer(allow_none=True, metadata={"description": "null moves it to the top level"})
    status = fields.String(validate=validate.OneOf(("active", "disabled")))


class EnabledArgs(Schema):
    enabled = fields.Boolean(required=True)


def _role_of(row: services.AdminRow) -> dict[str, Any] | None:
    m = row.membership
    return {"id": m.admin_role_id, "name": row.role_name} if m.admin_role_id else None


class AdminSchema(Schema):
    """Dumps a ``services.AdminRow``."""

    membership_id = fields.Integer(attribute="membership.id", required=True)
    user_id = fields.Integer(attribute="user.id", required=True)
    organisation_id = fields.Integer(attribute="membership.organisation_id", required=True)
    name = fields.String(attribute="user.name", required=True)
    login = fields.String(attribute="user.login", required=True)
    id_number = fields.Function(lambda r: mask_id_number(r.user.id_number) or None, allow_none=True,
                                metadata={"description": "masked"})
    mobile = fields.Function(lambda r: mask_mobile(r.user.mobile) or None, allow_none=True,
                             metadata={"description": "masked"})
    type = fields.Function(lambda r: str(r.membership.role), required=True,
                           validate=validate.OneOf(("admin", "sub_admin")),
                           metadata={"description": "admin = super administrator"})
    role = fields.Function(_role_of, allow_none=True, metadata={"description": "{id, name} of a sub-admin's role"})
    permissions = fields.Function(
        lambda r: list(PERMISSION_MODULES) if r.membership.role == "admin" else list(r.membership.permissions or []),
        metadata={"description": "effective permission modules"})
    status = fields.String(attribute="user.status", metadata={"description": "account status: active / disabled"})
    must_change_password = fields.Boolean()


def _extra(name: str) -> Any:
    """A value the dump was given beside the objects (``holders`` by role id, ``depth`` by department id)."""
    return Context[dict[str, Any]].get(default={}).get(name, {})


class AdminRoleSchema(Schema):
    id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    name = fields.String(required=True)
    modules = fields.Function(lambda r: list(r.modules or []), required=True)
    holders = fields.Function(lambda r: _extra("holders").get(r.id, 0),
                              metadata={"description": "sub-admins holding the role"})


class DepartmentSchema(Schema):
    id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    parent_id = fields.Integer(allow_none=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    depth = fields.Function(lambda d: _extra("depth").get(d.id, missing))


class SubordinateSchema(Schema):
    """Dumps a ``services.SubordinateRow``."""

    id = fields.Integer(attribute="org.id", required=True)
    name = fields.String(attribute="org.name", required=True)
    kind = fields.Function(lambda r: str(r.org.kind), required=True)
    parent_id = fields.Integer(attribute="org.parent_id", allow_none=True)
    region = fields.String(attribute="org.region", allow_none=True)
    status = fields.Function(lambda r: str(r.org.status), required=True,
                             metadata={"description": "pending / active / disabled"})
    review_enabled = fields.Boolean(attribute="org.review_enabled", required=True,
                                    metadata={"description": "关闭审核权限 when false"})
    admins = fields.List(fields.String(), metadata={"description": "super administrators' names"})
    parent = fields.String(attribute="parent_name", allow_none=True,
                           metadata={"description": "name of the organisation directly above"})


class TemporaryPasswordSchema(Schema):
    user_id = fields.Integer(required=True)
    temporary_password = fields.String(required=True, metadata={
        "description": "shown once; the user must change it at the next web sign-in"})


SCHEMAS = {
    "AddAdminArgs": AddAdminArgs, "AssignRoleArgs": AssignRoleArgs, "RoleArgs": RoleArgs,
    "RolePatchArgs": RolePatchArgs, "DepartmentArgs": DepartmentArgs, "DepartmentPatchArgs": DepartmentPatchArgs,
    "EnabledArgs": EnabledArgs, "Admin": AdminSchema, "AdminRole": AdminRoleSchema, "Department": DepartmentSchema,
    "Subordinate": SubordinateSchema, "TemporaryPassword": TemporaryPasswordSchema,
}

# --- helpers -------------------------------------------------------------------------------------


def _org():
    return services.current_org(api_actor(), whole_number(request.args.get("org_id")))


def admin_json(row: services.AdminRow) -> dict[str, Any]:
    return AdminSchema().dump(row)


def _admin_by_membership(membership_id: int) -> dict[str, Any]:
    from app.accounts.models import Membership

    m = db.session.get(Membership, membership_id)
    rows = [r for r in services.list_admins(api_actor(), m.organisation_id) if r.membership.id == membership_id]
    return admin_json(rows[0])


def role_json(role: AdminRole, holders: int = 0) -> dict[str, Any]:
    with Context({"holders": {role.id: holders}}):
        return AdminRoleSchema().dump(role)


def department_json(d: Department, depth: int | None = None) -> dict[str, Any]:
    with Context({"depth": {d.id: depth} if depth is not None else {}}):
        return DepartmentSchema().dump(d)


def subordinate_json(row: services.SubordinateRow) -> dict[str, Any]:
    return SubordinateSchema().dump(row)


# --- endpoints -----------------------------------------------------------------------------------

@bp.get("/org/permission-modules")
def org_permission_modules():
    api_actor()
    return jsonify([{"key": k, "name": v} for k, v in PERMISSION_MODULES.items()])


@bp.get("/org/admins")
def org_admins():
    actor, org = api_actor(), _org()
    return jsonify([admin_json(r) for r in services.list_admins(actor, org.id)])


@bp.post("/org/admins")
def org_add_admin():
    actor, org = api_actor(), _org()
    args = load_args(AddAdminArgs(), json_body())
    if args["way"] == "member":
        m = services.add_member_as_sub_admin(actor, org.id, args["user_id"] or 0, args["role_id"])
    elif args["way"] == "register":
        m = services.register_sub_admin(actor, org.id, login=args["login"], name=args["name"],
                                        id_number=args["id_number"], mobile=args["mobile"],
                                        password=args["password"], role_id=args["role_id"])
    else:
        m = services.add_registered_user_as_sub_admin(actor, org.id, login=args["login"], password=args["password"],
                                                      role_id=args["role_id"])
    db.session.commit()
    return jsonify(_admin_by_membership(m.id)), 201


@bp.put("/org/admins/<int:mid>/role")
def org_admin_role(mid: int):
    actor = api_actor()  # signed out: 401 before the body is read
    args = load_args(AssignRoleArgs(), json_body())
    services.assign_role(actor, mid, args["role_id"])
    db.session.commit()
    return jsonify(_admin_by_membership(mid))


@bp.post("/org/admins/<int:mid>/transfer")
def org_admin_transfer(mid: int):
    services.transfer_super_admin(api_actor(), mid)
    db.session.commit()
    return jsonify({"membership_id": mid, "type": "admin"})


@bp.post("/org/admins/<int:mid>/disable")
def org_admin_disable(mid: int):
    user = services.set_admin_active(api_actor(), mid, False)
    db.session.commit()
    return jsonify({"user_id": user.id, "status": user.status})


@bp.post("/org/admins/<int:mid>/enable")
def org_admin_enable(mid: int):
    user = services.set_admin_active(api_actor(), mid, True)
    db.session.commit()
    return jsonify({"user_id": user.id, "status": user.status})


@bp.post("/org/admins/<int:mid>/reset-password")
def org_admin_reset_password(mid: int):
    user, password = services.reset_admin_password(api_actor(), mid)
    db.session.commit()
    return jsonify({"user_id": user.id, "temporary_password": password})


@bp.delete("/org/admins/<int:mid>")
def org_admin_delete(mid: int):
    services.remove_sub_admin(api_actor(), mid)
    db.session.commit()
    return "", 204


@bp.get("/org/roles")
def org_roles():
    actor, org = api_actor(), _org()
    roles = services.list_roles(actor, org.id)
    holders = services.role_holders([r.id for r in roles])
    return jsonify([role_json(r, holders.get(r.id, 0)) for r in roles])


@bp.post("/org/roles")
def org_create_role():
    actor, org = api_actor(), _org()
    args = load_args(RoleArgs(), json_body())
    role = services.create_role(actor, org.id, args["name"], args["modules"])
    db.session.commit()
    return jsonify(role_json(role)), 201


@bp.patch("/org/roles/<int:role_id>")
def org_update_role(role_id: int):
    args = load_args(RolePatchArgs(), json_body(), partial=True)
    role = services.update_role(api_actor(), role_id, name=args.get("name"), modules=args.get("modules"))
    db.session.commit()
    return jsonify(role_json(role, services.role_holders([role.id]).get(role.id, 0)))


@bp.delete("/org/roles/<int:role_id>")
def org_delete_role(role_id: int):
    services.delete_role(api_actor(), role_id)
    db.session.commit()
    return "", 204


@bp.get("/org/departments")
def org_departments():
    actor, org = api_actor(), _org()
    return jsonify([department_json(d, depth) for d, depth in services.list_departments(actor, org.id)])


@bp.post("/org/departments")
def org_create_department():
    actor, org = api_actor(), _org()
    args = load_args(DepartmentArgs(), json_body())
    dept = services.create_department(actor, org.id, args["name"], args["parent_id"])
    db.session.commit()
    return jsonify(department_json(dept)), 201


@bp.patch("/org/departments/<int:dept_id>")
def org_update_department(dept_id: int):
    body = json_body()
    args = load_args(DepartmentPatchArgs(), body, partial=True)
    dept = services.update_department(api_actor(), dept_id, name=args.get("name"), parent_id=args.get("parent_id"),
                                      move="parent_id" in body, status=args.get("status"))
    db.session.commit()
    return jsonify(department_json(dept))


@bp.get("/org/subordinates")
def org_subordinates():
    actor, org = api_actor(), _org()
    page, per_page = page_args(per_page=50)
    rows, total = services.list_subordinates(actor, org.id, q=request.args.get("q"), page=page, per_page=per_page)
    return jsonify({"items": [subordinate_json(r) for r in rows], "total": total, "page": page,
                    "per_page": per_page})


@bp.get("/org/subordinates/<int:org_id>/admins")
def org_subordinate_admins(org_id: int):
    actor = api_actor()
    services.supervised_org(actor, org_id)
    return jsonify([admin_json(r) for r in services.list_admins(actor, org_id)])


@bp.post("/org/subordinates/<int:org_id>/status")
def org_subordinate_status(org_id: int):
    actor = api_actor()  # signed out: 401 before the body is read
    args = load_args(EnabledArgs(), json_body())
    org = services.set_org_status(actor, org_id, args["enabled"])
    db.session.commit()
    return jsonify(subordinate_json(services.SubordinateRow(org, [])))


@bp.post("/org/subordinates/<int:org_id>/review")
def org_subordinate_review(org_id: int):
    actor = api_actor()  # signed out: 401 before the body is read
    args = load_args(EnabledArgs(), json_body())
    org = services.set_review_enabled(actor, org_id, args["enabled"])
    db.session.commit()
    return jsonify(subordinate_json(services.SubordinateRow(org, [])))


# --- OpenAPI -------------------------------------------------------------------------------------

def add_paths(spec) -> None:  # noqa: ANN001
    """Called by app.api.openapi: the /org paths and their schemas."""
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)

    def arr(name: str) -> dict:
        return {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}

    org_q = [{"in": "query", "name": "org_id", "schema": {"type": "integer"},
              "description": "the organisation acted in (default: the actor's first administered one)"}]
    mid = [{"in": "path", "name": "mid", "required": True, "schema": {"type": "integer"},
            "description": "membership id of the administrator"}]
    oid = [{"in": "path", "name": "org_id", "required": True, "schema": {"type": "integer"}}]
    rid = [{"in": "path", "name": "role_id", "required": True, "schema": {"type": "integer"}}]
    did = [{"in": "path", "name": "dept_id", "required": True, "schema": {"type": "integer"}}]
    spec.path(path="/org/permission-modules", operations={"get": {
        "summary": "Permission modules a role can hold", "responses": responses("200", None, "401")}})
    spec.path(path="/org/admins", operations={
        "get": {"summary": "Administrators of the organisation (super admin only)", "parameters": org_q,
                "responses": responses("200", arr("Admin"), "401", "404")},
        "post": {"summary": "Add a sub-administrator in one of three ways (super admin only)", "parameters": org_q,
                 "requestBody": json_request("AddAdminArgs"),
                 "responses": responses("201", "Admin", "401", "404", "422")}})
    spec.path(path="/org/admins/{mid}", operations={"delete": {
        "summary": "Delete a sub-administrator (the person's account and history stay)", "parameters": mid,
        "responses": responses("204", None, "401", "404", "409")}})
    spec.path(path="/org/admins/{mid}/role", operations={"put": {
        "summary": "Give a sub-administrator a role (null: none)", "parameters": mid,
        "requestBody": json_request("AssignRoleArgs"),
        "responses": responses("200", "Admin", "401", "404", "409", "422")}})
    spec.path(path="/org/admins/{mid}/transfer", operations={"post": {
        "summary": "Make this sub-admin the super admin; the current super admin loses the role",
        "parameters": mid, "responses": responses("200", None, "401", "404", "409")}})
    for action, summary in (("disable", "Disable the administrator's account"),
                            ("enable", "Re-enable the administrator's account")):
        spec.path(path=f"/org/admins/{{mid}}/{action}", operations={"post": {
            "summary": summary + " (own organisation or a subordinate's)", "parameters": mid,
            "responses": responses("200", None, "401", "404", "409")}})
    spec.path(path="/org/admins/{mid}/reset-password", operations={"post": {
        "summary": "Reset the administrator's password to a generated temporary one (own organisation or a "
                   "subordinate's)", "parameters": mid,
        "responses": responses("200", "TemporaryPassword", "401", "404", "409")}})
    spec.path(path="/org/roles", operations={
        "get": {"summary": "Roles of the organisation", "parameters": org_q,
                "responses": responses("200", arr("AdminRole"), "401", "404")},
        "post": {"summary": "Create a role", "parameters": org_q, "requestBody": json_request("RoleArgs"),
                 "responses": responses("201", "AdminRole", "401", "404", "422")}})
    spec.path(path="/org/roles/{role_id}", operations={
        "patch": {"summary": "Rename a role or change its modules (applies to its holders at once)",
                  "parameters": rid, "requestBody": json_request("RolePatchArgs"),
                  "responses": responses("200", "AdminRole", "401", "404", "422")},
        "delete": {"summary": "Delete an unused role", "parameters": rid,
                   "responses": responses("204", None, "401", "404", "409")}})
    spec.path(path="/org/departments", operations={
        "get": {"summary": "Internal departments as a tree in display order", "parameters": org_q,
                "responses": responses("200", arr("Department"), "401", "404")},
        "post": {"summary": "Add a department (optionally under another)", "parameters": org_q,
                 "requestBody": json_request("DepartmentArgs"),
                 "responses": responses("201", "Department", "401", "404", "422")}})
    spec.path(path="/org/departments/{dept_id}", operations={"patch": {
        "summary": "Rename, move, disable or re-enable a department", "parameters": did,
        "requestBody": json_request("DepartmentPatchArgs"),
        "responses": responses("200", "Department", "401", "404", "422")}})
    spec.path(path="/org/subordinates", operations={"get": {
        "summary": "Organisations below the actor's supervisory department or bureau",
        "parameters": org_q + [{"in": "query", "name": "q", "schema": {"type": "string"}},
                               {"in": "query", "name": "page",
                                "schema": {"type": "integer", "default": 1, "minimum": 1, "maximum": MAX_PAGE}},
                               {"in": "query", "name": "per_page",
                                "schema": {"type": "integer", "default": 50, "minimum": 1, "maximum": 200}}],
        "responses": responses("200", None, "401", "404", "422")}})
    spec.path(path="/org/subordinates/{org_id}/admins", operations={"get": {
        "summary": "A subordinate organisation's administrators", "parameters": oid,
        "responses": responses("200", arr("Admin"), "401", "404")}})
    spec.path(path="/org/subordinates/{org_id}/status", operations={"post": {
        "summary": "Disable (enabled=false) or re-enable a subordinate organisation", "parameters": oid,
        "requestBody": json_request("EnabledArgs"), "responses": responses("200", "Subordinate", "401", "404", "422")}})
    spec.path(path="/org/subordinates/{org_id}/review", operations={"post": {
        "summary": "关闭审核权限 (enabled=false) or switch it back on: while off, chains skip its review step",
        "parameters": oid, "requestBody": json_request("EnabledArgs"),
        "responses": responses("200", "Subordinate", "401", "404", "422")}})
