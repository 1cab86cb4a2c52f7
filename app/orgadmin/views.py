"""Pages under /org: administrators, roles, departments, subordinate organisations (thin views)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.models import PERMISSION_MODULES, Role
from app.accounts.services import keep_password_failure
from app.core.auth import web_actor
from app.core.errors import DomainError, PermissionDenied, ValidationFailed
from app.core.validators import page_number, whole_number
from app.extensions import db
from app.orgadmin import services
from app.registration.views import password_form

bp = Blueprint("orgadmin", __name__, url_prefix="/org")

#: Endpoints a user who must change a temporary password may still reach.
_ALLOWED_WHILE_FORCED = {"orgadmin.password", "registration.change_password", "accounts.logout", "accounts.login",
                         "static", "bootstrap.static"}


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    if not current_user.is_authenticated or not any(m.role in (Role.ADMIN, Role.SUB_ADMIN)
                                                    for m in current_user.memberships):
        return {"nav_org_admin": False}
    actor = web_actor()
    return {"nav_org_admin": any(any(services.capabilities(actor, o.id).values())
                                 for o in services.managed_organisations(actor)),
            "org_caps": lambda org_id: services.capabilities(actor, org_id)}


@bp.before_app_request
def _force_password_change():
    # the API first: its requests carry a bearer token, and asking for current_user would load a user from
    # the session cookie for nothing
    if (not request.path.startswith("/api/") and request.endpoint not in _ALLOWED_WHILE_FORCED
            and current_user.is_authenticated and services.must_change_password(current_user.id)):
        flash(_("管理员已为您重置密码，请先修改临时密码"), "warning")
        return redirect(url_for("orgadmin.password"))
    return None


def _org_id() -> int | None:
    value = whole_number(request.args.get("org"))
    return value


def _org():
    return services.current_org(web_actor(), _org_id())


def _back(endpoint: str, org_id: int, **kw):
    return redirect(url_for(endpoint, org=org_id, **kw))


def _int(name: str) -> int | None:
    return whole_number(request.form.get(name))


# --- administrators ------------------------------------------------------------------------------

def _admins_page(org, *, errors: dict[str, str] | None = None, form: str | None = None,
                 values: dict[str, Any] | None = None, temp_password: tuple[str, str] | None = None,
                 status: int = 200):
    actor = web_actor()
    if not services.is_super_admin(actor, org.id):
        return _redirect_for_sub_admin(org)
    return render_template(
        "orgadmin/admins.html", org=org, orgs=services.managed_organisations(actor),
        rows=services.list_admins(actor, org.id), roles=services.list_roles(actor, org.id),
        members=services.members_without_admin_role(actor, org.id), errors=errors or {}, form=form,
        values=values or {}, temp_password=temp_password, me=actor.id,
    ), status


def _redirect_for_sub_admin(org):
    """A sub-admin opening a super-admin page goes to the first /org page they may use."""
    caps = services.capabilities(web_actor(), org.id)
    for page in ("admins", "departments", "subordinates"):
        if caps[page]:
            return redirect(url_for(f"orgadmin.{page}", org=org.id))
    raise PermissionDenied(_("您在本机构没有可以使用的管理功能，请联系本单位超级管理员"))


@bp.get("/")
@login_required
def index():
    actor = web_actor()
    for org in services.managed_organisations(actor):
        if any(services.capabilities(actor, org.id).values()):
            return _redirect_for_sub_admin(org)
    return _redirect_for_sub_admin(_org())


@bp.get("/admins")
@login_required
def admins():
    return _admins_page(_org())


@bp.post("/admins/add")
@login_required
def add_admin():
    org, actor = _org(), web_actor()
    way = request.form.get("way")
    form = request.form
    try:
        if way == "member":
            services.add_member_as_sub_admin(actor, org.id, _int("user_id") or 0, _int("role_id"))
        elif way == "register":
            services.register_sub_admin(actor, org.id, login=form.get("login", ""), name=form.get("name", ""),
                                        id_number=form.get("id_number", ""), mobile=form.get("mobile", ""),
                                        password=form.get("password", ""), role_id=_int("role_id"))
        elif way == "existing":
            services.add_registered_user_as_sub_admin(actor, org.id, login=form.get("login", ""),
                                                      password=form.get("password", ""), role_id=_int("role_id"))
        else:
            raise ValidationFailed(_("请选择添加方式"), {"way": _("请选择添加方式")})
    except ValidationFailed as exc:
        db.session.rollback()
        keep_password_failure(exc)  # a wrong password for the account counts towards its lockout
        db.session.commit()
        values = {k: v for k, v in form.items() if "password" not in k}
        return _admins_page(org, errors=exc.fields, form=way, values=values, status=422)
    db.session.commit()
    flash(_("已添加子管理员"), "success")
    return _back("orgadmin.admins", org.id)


def _admin_action(mid: int, action: str):
    """One POST per button on an administrator row; answers back to the page it came from."""
    actor = web_actor()
    org_id = whole_number(request.args.get("org"))
    back = request.form.get("back") or "admins"
    temp = None
    if action == "role":
        services.assign_role(actor, mid, _int("role_id"))
        message = _("已更新角色")
    elif action == "transfer":
        services.transfer_super_admin(actor, mid)
        message = _("已转让超级管理员，您已不再是本单位管理员")
    elif action in ("disable", "enable"):
        user = services.set_admin_active(actor, mid, action == "enable")
        message = _("已启用 %(name)s", name=user.name) if action == "enable" else _("已停用 %(name)s", name=user.name)
    elif action == "reset-password":
        user, password = services.reset_admin_password(actor, mid)
        temp = (user.name, password)
        message = None
    elif action == "delete":
        services.remove_sub_admin(actor, mid)
        message = _("已删除该子管理员")
    else:
        raise DomainError(_("不支持的操作"))
    db.session.commit()
    if temp is not None:  # shown once, in this answer only (never in a flash cookie)
        if back.startswith("subordinate:"):
            sub_id = int(back.split(":", 1)[1])
            return _subordinate_page(sub_id, temp_password=temp)
        return _admins_page(services.current_org(actor, org_id), temp_password=temp)
    flash(message, "success")
    if back.startswith("subordinate:"):
        return redirect(url_for("orgadmin.subordinate", org_id=int(back.split(":", 1)[1])))
    if action == "transfer":
        return redirect(url_for("workbench.index"))
    return _back("orgadmin.admins", org_id)


@bp.post("/admins/<int:mid>/<action>")
@login_required
def admin_action(mid: int, action: str):
    return _admin_action(mid, action)


# --- roles ---------------------------------------------------------------------------------------

def _roles_page(org, *, errors=None, values=None, status=200):
    actor = web_actor()
    if not services.is_super_admin(actor, org.id):
        return _redirect_for_sub_admin(org)
    roles = services.list_roles(actor, org.id)
    return render_template("orgadmin/roles.html", org=org, orgs=services.managed_organisations(actor), roles=roles,
                           holders=services.role_holders([r.id for r in roles]), modules=PERMISSION_MODULES,
                           errors=errors or {}, values=values or {}), status


@bp.get("/roles")
@login_required
def roles():
    return _roles_page(_org())


@bp.post("/roles")
@login_required
def create_role():
    org = _org()
    try:
        services.create_role(web_actor(), org.id, request.form.get("name", ""), request.form.getlist("modules"))
    except ValidationFailed as exc:
        db.session.rollback()
        return _roles_page(org, errors=exc.fields, values={"name": request.form.get("name", ""),
                                                         "modules": request.form.getlist("modules")}, status=422)
    db.session.commit()
    flash(_("已新增角色"), "success")
    return _back("orgadmin.roles", org.id)


@bp.post("/roles/<int:role_id>")
@login_required
def update_role(role_id: int):
    actor = web_actor()
    role = services.get_role(actor, role_id)
    org_id = role.organisation_id
    if request.form.get("delete"):
        services.delete_role(actor, role_id)
        message = _("已删除角色")
    else:
        try:
            services.update_role(actor, role_id, name=request.form.get("name", ""),
                                 modules=request.form.getlist("modules"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = {f"role-{role_id}-{k}": v for k, v in exc.fields.items()}
            return _roles_page(services.current_org(actor, org_id), errors=errors, status=422)
        message = _("已保存角色")
    db.session.commit()
    flash(message, "success")
    return _back("orgadmin.roles", org_id)


# --- departments ---------------------------------------------------------------------------------

def _departments_page(org, *, errors=None, values=None, status=200):
    actor = web_actor()
    tree = services.list_departments(actor, org.id)
    return render_template("orgadmin/departments.html", org=org, orgs=services.managed_organisations(actor),
                           tree=tree, errors=errors or {}, values=values or {}), status


@bp.get("/departments")
@login_required
def departments():
    return _departments_page(_org())


@bp.post("/departments")
@login_required
def create_department():
    org = _org()
    try:
        services.create_department(web_actor(), org.id, request.form.get("name", ""), _int("parent_id"))
    except ValidationFailed as exc:
        db.session.rollback()
        return _departments_page(org, errors=exc.fields, values=request.form.to_dict(), status=422)
    db.session.commit()
    flash(_("已添加部门"), "success")
    return _back("orgadmin.departments", org.id)


@bp.post("/departments/<int:dept_id>")
@login_required
def update_department(dept_id: int):
    actor = web_actor()
    dept = services.get_department(actor, dept_id)
    org_id = dept.organisation_id
    status = request.form.get("status")
    if status:
        services.update_department(actor, dept_id, status=status)
    else:
        try:
            services.update_department(actor, dept_id, name=request.form.get("name", ""),
                                       parent_id=_int("parent_id"), move=True)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = {f"dept-{dept_id}-{k}": v for k, v in exc.fields.items()}
            return _departments_page(services.current_org(actor, org_id), errors=errors, status=422)
    db.session.commit()
    flash(_("已保存部门"), "success")
    return _back("orgadmin.departments", org_id)


# --- subordinate organisations -------------------------------------------------------------------

@bp.get("/subordinates")
@login_required
def subordinates():
    actor = web_actor()
    org = _org()
    page = page_number(request.args.get("page"))
    q = (request.args.get("q") or "").strip()
    rows, total = services.list_subordinates(actor, org.id, q=q or None, page=page)
    return render_template("orgadmin/subordinates.html", org=org, orgs=services.managed_organisations(actor),
                           rows=rows, total=total, q=q, page=page)


def _subordinate_page(org_id: int, temp_password: tuple[str, str] | None = None):
    actor = web_actor()
    sub = services.supervised_org(actor, org_id)
    return render_template("orgadmin/subordinate.html", sub=sub, rows=services.list_admins(actor, sub.id),
                           temp_password=temp_password, me=actor.id)


@bp.get("/subordinates/<int:org_id>")
@login_required
def subordinate(org_id: int):
    return _subordinate_page(org_id)


@bp.post("/subordinates/<int:org_id>/<action>")
@login_required
def subordinate_action(org_id: int, action: str):
    actor = web_actor()
    if action in ("disable", "enable"):
        services.set_org_status(actor, org_id, action == "enable")
        message = _("已启用该机构") if action == "enable" else _("已停用该机构，其管理员将不能再办理业务")
    elif action in ("review-on", "review-off"):
        services.set_review_enabled(actor, org_id, action == "review-on")
        message = _("已开启审核权限") if action == "review-on" else _("已关闭审核权限，审核流程将跳过该机构")
    else:
        raise DomainError(_("不支持的操作"))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("orgadmin.subordinate", org_id=org_id))


# --- temporary password --------------------------------------------------------------------------

@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    if not services.must_change_password(current_user.id):  # ordinary password changes live elsewhere
        return redirect(url_for("workbench.index"))
    return password_form("orgadmin/password.html")
