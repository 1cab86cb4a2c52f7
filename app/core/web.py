"""Web-wide pieces: error pages, template helpers, security headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError

from app.core.errors import DomainError, PasswordRejected
from app.core.i18n import translate, translated_error
from app.core.validators import mask_id_number, mask_mobile
from app.extensions import db

STATUS_LABELS = {"running": "审核中", "completed": "审核通过", "rejected": "未通过（已结案）", "withdrawn": "已撤回"}
OUTCOME_LABELS = {
    "submit": "提交申报", "approve": "同意", "reject": "不同意并结案", "return": "不同意并退案",
    "resubmit": "修改后重新提交", "withdraw": "撤回", "closed": "自动结案",
}


def _local(app: Flask, d: datetime) -> datetime:
    """Times are stored in UTC without a zone; show them in the platform's zone (Beijing time)."""
    offset = timezone(timedelta(hours=app.config.get("DISPLAY_UTC_OFFSET_HOURS", 8)))
    return (d.replace(tzinfo=UTC) if d.tzinfo is None else d).astimezone(offset)


def hours_text(value: Decimal | float | int | None) -> str:
    """Hours as written: 90 → "90", 12.50 → "12.5" (``Decimal.normalize`` alone would print 9E+1)."""
    return "" if value is None else f"{Decimal(str(value)).normalize():f}"


def _json_error(code: str, message: str, status: int):
    """An error the framework raised (no route, wrong method, too large) in the API's one error shape."""
    body = DomainError(message).to_dict()
    body["error"]["code"] = code
    return jsonify(body), status


def register_web(app: Flask) -> None:
    from flask_bootstrap import Bootstrap5

    app.config.setdefault("BOOTSTRAP_SERVE_LOCAL", True)
    Bootstrap5(app)

    from app.extensions import login_manager

    login_manager.localize_callback = gettext  # "请先登录" in the page's language

    app.jinja_env.filters["mask_id"] = mask_id_number
    app.jinja_env.filters["hours"] = hours_text
    app.jinja_env.filters["mask_mobile"] = mask_mobile
    app.jinja_env.filters["status_label"] = lambda s: STATUS_LABELS.get(s, s)
    app.jinja_env.filters["outcome_label"] = lambda s: OUTCOME_LABELS.get(s, s)
    app.jinja_env.filters["dt"] = lambda d: date_time_text(_local(app, d)) if d else ""
    #: Translate a string that is data, not template text (form titles, labels): unlike ``_()``
    #: in templates the result stays escaped, so it is safe on anything.
    app.jinja_env.filters["tr"] = translate  # also sentences registered with app.core.i18n.sentence

    from app.workflow import webforms
    from app.workflow.forms import choice_titles, display_value

    app.jinja_env.globals.update(
        ordered_fields=webforms.ordered_fields, file_fields=webforms.file_fields,
        required_fields=webforms.required_fields,
        change_rows=webforms.change_rows, choice_titles=choice_titles, display_value=display_value)

    def wants_json() -> bool:
        return request.path.startswith("/api/")

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        from app.accounts.services import keep_password_failure

        db.session.rollback()
        if isinstance(exc, PasswordRejected):  # a wrong password counts towards the lockout
            keep_password_failure(exc)
            db.session.commit()
        if wants_json():  # Chinese unless the call asks for ?lang=en
            resp = jsonify(translated_error(exc))
            if exc.status == 401:  # RFC 6750: say how to authenticate
                resp.headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return resp, exc.status, exc.headers
        return render_template("error.html", error=exc), exc.status, exc.headers

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        # refused outright (nothing was done); the page says why and how to go on
        message = gettext("页面已过期或请求无效（CSRF 校验失败），请刷新页面后重试")
        return render_template("error.html", error=DomainError(message)), 400

    @app.errorhandler(404)
    def _not_found(exc):
        if wants_json():
            return _json_error("not_found", gettext("资源不存在"), 404)
        return render_template("error.html", error=DomainError(gettext("页面不存在"))), 404

    @app.errorhandler(413)
    def _too_large(exc):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        message = gettext("提交的内容过大（合计不能超过%(mb)sMB），请减少或压缩附件后重试", mb=limit // (1024 * 1024))
        if wants_json():
            return _json_error("too_large", message, 413)
        return render_template("error.html", error=DomainError(message)), 413

    @app.errorhandler(DBAPIError)
    def _database_unavailable(exc: DBAPIError):
        # a deadlock the database broke, a lost connection (restarted or terminated server): nothing was
        # saved (the transaction is rolled back), and the same request may well succeed a moment later
        if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
            raise exc  # a bug, not the database's state: a 500
        app.logger.warning("database unavailable for %s %s: %s", request.method, request.path, exc.orig)
        db.session.rollback()
        message = gettext("系统繁忙，请稍后重试")
        if wants_json():
            resp, status = _json_error("unavailable", message, 503)
        else:
            resp, status = app.make_response(render_template("error.html", error=DomainError(message))), 503
        resp.headers["Retry-After"] = "1"
        return resp, status

    @app.errorhandler(500)
    def _internal_error(exc):
        # an unexpected exception: the API still answers in its one error shape (the web keeps the default page)
        if wants_json():
            return _json_error("internal_error", gettext("服务器内部错误，请稍后重试"), 500)
        return exc

    @app.errorhandler(405)
    def _method(exc):
        if wants_json():
            return _json_error("method_not_allowed", gettext("不支持的请求方法"), 405)
        return exc

    @app.teardown_appcontext
    def _close_session(_exc) -> None:
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier). When the database dropped the
        # connection after the answer was made (a failover, pg_terminate_backend), closing the session
        # raises and a committed request would answer 500; the failed close invalidated the connection,
        # so closing again only forgets it (nothing is left to roll back).
        try:
            db.session.remove()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            app.logger.warning("database connection lost at the end of a request: %s", exc.orig)
            db.session.remove()

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp


def date_time_text(moment: datetime) -> str:
    """A time as its reader writes it: 2026年3月1日 09:30 in Chinese, 2026-03-01 09:30 in English."""
    from flask import g

    if g.get("lang") == "en":
        return moment.strftime("%Y-%m-%d %H:%M")
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
