"""Web-wide pieces: error pages, template helpers, security headers, and the checks every request's
input passes before a view reads it (text, numbers and JSON nesting)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter

from app.core.errors import DomainError, PasswordRejected, ValidationFailed
from app.core.i18n import translate, translated_error
from app.core.validators import (
    MAX_INTEGER,
    MAX_JSON_DEPTH,
    json_depth,
    mask_id_number,
    mask_mobile,
    unsafe_fields,
    whole_number,
)
from app.extensions import db

STATUS_LABELS = {"running": "审核中", "completed": "审核通过", "rejected": "未通过（已结案）", "withdrawn": "已撤回"}
OUTCOME_LABELS = {
    "submit": "提交申报", "approve": "同意", "reject": "不同意并结案", "return": "不同意并退案",
    "resubmit": "修改后重新提交", "withdraw": "撤回", "closed": "自动结案",
    "migrated": "迁移到新版本",
}


def _local(app: Flask, d: datetime) -> datetime:
    """Times are stored in UTC without a zone; show them in the platform's zone (Beijing time)."""
    offset = timezone(timedelta(hours=app.config.get("DISPLAY_UTC_OFFSET_HOURS", 8)))
    return (d.replace(tzinfo=UTC) if d.tzinfo is None else d).astimezone(offset)


def hours_text(value: Decimal | float | int | None) -> str:
    """Hours as written: 90 → "90", 12.50 → "12.5" (``Decimal.normalize`` alone would print 9E+1)."""
    return "" if value is None else f"{Decimal(str(value)).normalize():f}"


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in a URL, at most 64 bits: a longer number names no row, so it is a 404 like any id that
    does not exist (SQLite cannot even compare it). Installed in ``create_app`` before the routes. It answers
    404 at once rather than failing the match, which would make werkzeug try the path's other methods and
    answer 405; no route has another rule that a number could match at the same place."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_INTEGER:
            raise NotFound()
        return number


class JSONRefused(ValueError):
    """A JSON text that parses but is not kept: nested too deeply, or with NaN / Infinity / an infinite number."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _no_constant(name: str) -> Any:
    raise JSONRefused("JSON 中不能使用 NaN 或 Infinity，数字必须是有限值")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as infinity
        raise JSONRefused("JSON 中的数字超出范围")
    return value


def strict_loads(text: str | bytes) -> Any:
    """``json.loads`` for what comes from outside: standard JSON only (no NaN, Infinity or numbers that
    overflow to infinity, all of which Python accepts) nested at most :data:`MAX_JSON_DEPTH` deep, the depth
    checked before parsing. Raises :class:`JSONRefused` or another ValueError."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise JSONRefused(gettext("JSON 嵌套层数过多（最多%(n)s层）", n=MAX_JSON_DEPTH))
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:  # not reached below the depth limit; kept as a ValueError all the same
        raise JSONRefused(gettext("JSON 嵌套层数过多（最多%(n)s层）", n=MAX_JSON_DEPTH)) from None


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (data stored before they were refused)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Reads request bodies with :func:`strict_loads` and never writes NaN or Infinity, which are not JSON
    (a standard parser fails on the whole answer): such a value is written as null."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return strict_loads(s)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return super().dumps(obj, allow_nan=False, **kwargs)
        except ValueError:
            return super().dumps(_finite(obj), allow_nan=False, **kwargs)


#: The parsed body is kept with the request (not in ``g``, which outlives a request when an app context is shared).
_JSON_KEY = "cepp.request_json"
_MISSING = object()


def request_json() -> Any:
    """The request's JSON body, read with :func:`strict_loads` once per request, or a DomainError (400)
    saying why it cannot be read."""
    cached = request.environ.get(_JSON_KEY, _MISSING)
    if cached is not _MISSING:
        return cached
    try:
        body = strict_loads(request.get_data(cache=True))
    except JSONRefused as exc:
        raise DomainError(exc.message) from None
    except ValueError:  # not JSON, not UTF-8, a number of thousands of digits
        raise DomainError(gettext("请求体不是有效的 JSON")) from None
    request.environ[_JSON_KEY] = body
    return body


def year_argument(raw: Any, required: bool = True) -> int | None:
    """A year an API client sends (a query argument or a body field): a whole number from 1990 to 2100, else a
    422 naming ``year``; None when absent and not ``required``."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        if required:
            raise ValidationFailed("请求参数有误", {"year": "请填写年度（如 2026）"})
        return None
    year = whole_number(text)
    if year is None or not 1990 <= year <= 2100:
        raise ValidationFailed("请求参数有误", {"year": "年度应为 1990 到 2100 之间的四位数字"})
    return year


def refuse_unsafe_input() -> None:
    """Before any view: refuse control characters and lone surrogates in the query string (400), in posted
    form fields, file names and JSON bodies (422), and a JSON body that does not parse or nests too deeply
    (400), each with the field at fault, so no view or service ever handles such a value."""
    errors = unsafe_fields(request.args.to_dict(flat=False))
    if errors:
        raise DomainError(gettext("查询参数含有不允许的字符"), errors)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    errors = {}
    if not request.is_json:  # a JSON body has no form fields or files (parsing it as a form finds none)
        errors = unsafe_fields(request.form.to_dict(flat=False))
        for name, file in request.files.items(multi=True):
            errors.update(unsafe_fields({name: file.filename or ""}))
    else:
        body = request_json()
        if isinstance(body, dict):
            errors.update(unsafe_fields(body))
        elif (found := unsafe_fields({"_body": body})):
            errors.update(found)
    if errors:
        raise ValidationFailed(gettext("提交的内容有误，请按提示修改"), errors)


#: Chinese messages for the framework's own errors on API paths (other codes keep a general message).
_HTTP_MESSAGES = {
    400: "请求无效", 401: "请先登录", 403: "没有权限", 415: "不支持的请求内容类型", 429: "请求过于频繁，请稍后再试",
}
_HTTP_OTHER = "请求无法处理"


def _json_error(code: str, message: str, status: int):
    """An error the framework raised (no route, wrong method, too large) in the API's one error shape."""
    body = DomainError(message).to_dict()
    body["error"]["code"] = code
    return jsonify(body), status


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a request without the cookie (every API call: it signs in
    with a bearer token) gets its new empty session without building the signer first."""

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def register_web(app: Flask) -> None:
    from flask_bootstrap import Bootstrap5

    app.session_interface = CookieSessions()

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
    from app.workflow.forms import PICKER_SOURCES, choice_titles, display_value

    app.jinja_env.globals.update(
        ordered_fields=webforms.ordered_fields, file_fields=webforms.file_fields,
        required_fields=webforms.required_fields,
        change_rows=webforms.change_rows, choice_titles=choice_titles, display_value=display_value,
        picker_sources=PICKER_SOURCES)

    app.json = StrictJSONProvider(app)

    def wants_json() -> bool:
        return request.path.startswith("/api/")

    app.before_request(refuse_unsafe_input)

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

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # any other error of the framework (a malformed multipart body, an unsupported media type …)
        if not wants_json() or exc.code is None:
            return exc
        message = gettext(_HTTP_MESSAGES.get(exc.code, _HTTP_OTHER))
        return _json_error((exc.name or "error").lower().replace(" ", "_"), message, exc.code)

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
