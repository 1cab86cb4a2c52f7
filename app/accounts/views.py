"""Web pages for signing in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.accounts import captcha, services
from app.core.errors import DomainError, ValidationFailed
from app.extensions import db

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never redirect to another host after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = _safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("workbench.index"))
    login_name = ""
    error = None
    status, headers = 200, {}
    if request.method == "POST":
        login_name = (request.form.get("login") or "").strip()
        password = request.form.get("password") or ""
        try:
            if not captcha.check(request.form.get("captcha")):
                raise ValidationFailed(_("验证码错误，请重新输入图片中的字符"))
            user = services.authenticate(login_name, password, address=request.remote_addr)
        except DomainError as exc:
            db.session.commit()  # the failure count and a lock must persist
            error, status, headers = exc.message, exc.status, exc.headers
        else:
            db.session.commit()
            login_user(user)
            flash(_("欢迎，%(name)s", name=user.name), "success")
            return redirect(next_url or url_for("workbench.index"))
    question = None
    if captcha.enabled():
        if request.args.get("captcha") == "text":  # the accessible alternative to the image
            question = _(captcha.QUESTION, **captcha.new_question())
        else:
            captcha.new_answer()
    return render_template("accounts/login.html", login_name=login_name, error=error, next_url=next_url,
                           captcha_enabled=captcha.enabled(), captcha_question=question), status, headers


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        services.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    flash(_("您已安全退出"), "info")
    return redirect(url_for("accounts.login"))
