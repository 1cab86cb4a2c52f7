"""Web pages: registration of professionals and organisations, captcha, forgotten and changed
passwords, and the 已审核 (already reviewed) list."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from app.accounts import captcha
from app.accounts.models import OrgKind
from app.accounts.services import keep_password_failure
from app.core.auth import web_actor
from app.core.errors import DomainError, ValidationFailed
from app.core.i18n import translated_error
from app.core.sorting import parse_sort, sort_args
from app.core.validators import page_number
from app.extensions import db
from app.people import fields as person_fields
from app.registration import codes, picker, queries, services

bp = Blueprint("registration", __name__)
bp.add_app_template_global(picker.choice, "org_picker_choice")

#: Fields never echoed back into a re-shown form.
_SECRETS = ("password", "password_confirm", "admin_password", "admin_password_confirm", "verification_code",
            "captcha", "csrf_token")


def _values() -> dict[str, Any]:
    return {k: v for k, v in request.form.items() if k not in _SECRETS}


def _code_notice(code: str | None, target: str) -> tuple[str, str | None]:
    """What the page says once a code went out, and in development the code itself (no SMS gateway)."""
    dev_note = _("开发环境：验证码为 %(code)s", code=code) if code is not None and codes.show_in_page() else None
    return _("如信息无误，验证码已发送至 %(target)s，请注意查收", target=target), dev_note


def _flash_code(code: str | None, target: str) -> None:
    notice, dev_note = _code_notice(code, target)
    flash(notice, "info")
    if dev_note:
        flash(dev_note, "warning")


#: The organisation fields of each registration form and the kinds each may name.
PERSON_ORG_FIELDS = {"unit_id": (OrgKind.EMPLOYER_UNIT,)}


def _org_fields(kind: str) -> dict[str, tuple[OrgKind, ...]]:
    if kind == OrgKind.TRAINING_INSTITUTION.value:
        return {"hr_bureau_id": (OrgKind.HR_BUREAU,), "supervisory_department_id": (OrgKind.SUPERVISORY_DEPARTMENT,)}
    return {"parent_id": services.PARENT_KINDS.get(kind, services.PARENT_KINDS[OrgKind.EMPLOYER_UNIT.value])}


def _resolve_lookups(data: dict[str, Any], values: dict[str, Any], fields: dict[str, tuple[OrgKind, ...]]) -> None:
    """The no-JavaScript picker posts a name or USCC: resolve it to the id field (or a field error)."""
    errors = picker.resolve_lookups(data, fields)
    for field in fields:
        if field in data:
            values[field] = data[field]
    if errors:
        raise ValidationFailed(services.MESSAGE, errors)


def _send_code_or_none(fn, *args) -> tuple[dict[str, str], DomainError | None]:
    """Ask for a code (``fn(*args)``, the last argument its target): the field errors and the error, if any."""
    try:
        _flash_code(fn(*args, address=request.remote_addr), args[-1])
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return exc.fields or {"_form": exc.message}, exc
    return {}, None


def _guarded(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except codes.WrongCode as exc:
        db.session.rollback()
        codes.penalise(exc)
        db.session.commit()
        raise


@bp.route("/register", methods=["GET", "POST"])
def register_person():
    values: dict[str, Any] = _values() if request.method == "POST" else {}
    errors: dict[str, str] = {}
    status, headers = 200, {}
    if request.method == "POST":
        if request.form.get("action") == "send_code":
            errors, exc = _send_code_or_none(services.send_registration_code, values.get("mobile", ""))
            if exc is not None:
                status, headers = exc.status, exc.headers
        else:
            try:
                data = request.form.to_dict()
                _resolve_lookups(data, values, PERSON_ORG_FIELDS)
                _guarded(services.register_person, data)
            except ValidationFailed as exc:
                db.session.rollback()
                errors, status = exc.fields, 422
            else:
                db.session.commit()
                flash(_("注册申请已提交，请等待所在单位审核；审核通过后即可登录"), "success")
                return redirect(url_for("accounts.login"))
    choices = {name: [(c, _(c)) for c in person_fields.BY_NAME[name].choices or ()]
               for name in ("title_series", "title_level", "education")}
    return render_template("registration/person.html", values=values, errors=errors,
                           org_fields=PERSON_ORG_FIELDS, title_series=choices["title_series"],
                           title_levels=choices["title_level"], educations=choices["education"]), status, headers


@bp.post("/register/code")
def registration_code():
    """For js/send-code.js: a registration code sent without leaving the form; JSON in the page's language."""
    mobile = (request.form.get("mobile") or "").strip()
    try:
        code = services.send_registration_code(mobile, address=request.remote_addr)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return jsonify(translated_error(exc)), exc.status, exc.headers
    notice, dev_note = _code_notice(code, mobile)
    return jsonify({"message": notice, **({"dev_note": dev_note} if dev_note else {})})


@bp.route("/register/organisation", methods=["GET", "POST"])
def register_organisation():

    actor = web_actor() if current_user.is_authenticated else None
    values: dict[str, Any] = _values() if request.method == "POST" else {
        "kind": request.args.get("kind") or OrgKind.EMPLOYER_UNIT.value, "admin_mode": "new"}
    errors: dict[str, str] = {}
    status, headers = 200, {}
    if request.method == "POST":
        if request.form.get("action") == "send_code":
            errors, exc = _send_code_or_none(services.send_registration_code, values.get("admin_mobile", ""))
            errors = {("admin_mobile" if k == "mobile" else k): v for k, v in errors.items()}
            if exc is not None:
                status, headers = exc.status, exc.headers
        else:
            try:
                data = request.form.to_dict()
                _resolve_lookups(data, values, _org_fields(str(values.get("kind") or "")))
                _guarded(services.register_organisation, data, request.files.get("licence"), actor=actor,
                         address=request.remote_addr)
            except ValidationFailed as exc:
                db.session.rollback()
                errors, status = exc.fields, 422
            else:
                db.session.commit()
                flash(_("单位注册申请已提交，请等待上级单位审核；审核通过后申请人即为该单位的超级管理员"), "success")
                return redirect(url_for("workbench.index") if actor else url_for("accounts.login"))
    kind = values.get("kind") if values.get("kind") in services.PARENT_KINDS else OrgKind.EMPLOYER_UNIT.value
    return render_template(
        "registration/organisation.html", values=values, errors=errors, kind=kind, kinds=services.KIND_LABELS,
        org_fields=_org_fields(kind), natures=services.NATURES,
        levels=services.LEVELS, industries=services.INDUSTRIES, actor=actor,
        max_mb=current_app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024),
    ), status, headers


@bp.get("/captcha.png")
def captcha_image():
    resp = Response(captcha.image_png(captcha.new_answer()), mimetype="image/png")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    values: dict[str, Any] = _values() if request.method == "POST" else {"channel": "sms"}
    errors: dict[str, str] = {}
    status, headers = 200, {}
    if request.method == "POST":
        f = request.form
        if f.get("action") == "send_code":
            answered = captcha.check(f.get("captcha"))
            db.session.commit()  # the answered captcha stays used, whatever follows
            if not answered:
                errors, status = {"captcha": _("验证码错误，请重新输入图片中的字符")}, 422
            else:
                errors, exc = _send_code_or_none(services.send_reset_code, f.get("id_number", ""),
                                                 f.get("channel", "sms"), f.get("contact", ""))
                if exc is not None:
                    status, headers = exc.status, exc.headers
        else:
            try:
                _guarded(services.reset_password, f.get("id_number", ""), f.get("channel", "sms"),
                         f.get("contact", ""), f.get("verification_code", ""), f.get("password", ""),
                         f.get("password_confirm", ""))
            except ValidationFailed as exc:
                db.session.rollback()
                errors, status = exc.fields, 422
            else:
                db.session.commit()
                flash(_("密码已重置，请使用新密码登录"), "success")
                return redirect(url_for("accounts.login"))
    if captcha.enabled():
        captcha.new_answer()
    return render_template("registration/forgot.html", values=values, errors=errors), status, headers


@bp.route("/password/change", methods=["GET", "POST"])
@login_required
def change_password():
    return password_form("registration/change_password.html")


def password_form(template: str):
    """The signed-in user changes their password (old_password, password, password_confirm); also the
    page that replaces a temporary password (orgadmin.password), with its own wording."""
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        f = request.form
        try:
            services.change_password(web_actor(), f.get("old_password", ""), f.get("password", ""),
                                     f.get("password_confirm", ""))
        except ValidationFailed as exc:
            db.session.rollback()
            keep_password_failure(exc)  # a wrong old password counts towards the lockout
            db.session.commit()
            errors, status = exc.fields, 422
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # this session goes on; every other one has ended
            flash(_("密码已修改"), "success")
            return redirect(url_for("workbench.index"))
    return render_template(template, errors=errors), status


@bp.get("/tasks/reviewed")
@login_required
def reviewed():
    actor = web_actor()
    process = (request.args.get("process") or "").strip() or None
    q = (request.args.get("q") or "").strip()[:50] or None
    page_arg = request.args.get("page", "1")
    sort = parse_sort(request.args.get("sort"), queries.REVIEWED_SORTS, queries.REVIEWED_DEFAULT_SORT)
    page = queries.reviewed(actor, process=process, q=q, page=page_number(page_arg),
                            per_page=current_app.config.get("INBOX_PAGE_SIZE", 20), sort=sort)
    from app.cases.views import process_names as _process_names

    args = {**{k: v for k, v in (("process", process), ("q", q)) if v}, **sort_args(sort)}
    return render_template("registration/reviewed.html", page=page, args=args, process=process, q=q,
                           processes=_process_names(), sort=sort)
