"""One-time verification codes: limit the requests, issue, check (limited tries, expiry, used once)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select, update

from app.core import ratelimit
from app.core.errors import RateLimited, ValidationFailed
from app.core.models import utcnow
from app.core.ratelimit import counters_apart, run_counter
from app.extensions import db
from app.registration.models import VerificationCode
from app.registration.senders import get_sender

REGISTER, RESET_PASSWORD = "register", "reset_password"
MAX_ATTEMPTS = 5
FIELD = "verification_code"
WRONG, STALE = "验证码不正确", "验证码已失效，请重新获取"
#: Password reset says one thing for a wrong, spent or never-sent code (no telling which accounts exist).
VAGUE = "验证码不正确或已失效，请重新获取"
#: Rate-limit rules (app.core.ratelimit): the resend interval and the hourly limit of one mobile number or
#: e-mail address, and the hourly limit of one client address.
RESEND, PER_TARGET, PER_ADDRESS = "code_resend", "code_target", "code_address"


class WrongCode(ValidationFailed):
    """A wrong guess. Its try was counted before the code was compared; on SQLite that count goes with the
    caller's rollback, so the caller calls :func:`penalise` afterwards and commits."""

    def __init__(self, purpose: str, target: str, message: str = WRONG) -> None:
        super().__init__("提交的内容有误，请按提示修改", {FIELD: message})
        self.purpose, self.target = purpose, target


def penalise(exc: WrongCode) -> None:
    """Count a wrong guess against the newest code again after the failed action was rolled back, where
    the rollback took the count with it (SQLite; on PostgreSQL the count has its own transaction)."""
    if counters_apart():
        return
    row = db.session.scalar(select(VerificationCode).where(
        VerificationCode.purpose == exc.purpose, VerificationCode.target == exc.target,
        VerificationCode.used_at.is_(None)).order_by(VerificationCode.created_at.desc()).limit(1))
    if row is not None:
        _take_try(row.id)


def _hash(target: str, code: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{target}\0{code}".encode(), hashlib.sha256).hexdigest()


def limit_requests(target: str, address: str | None) -> None:
    """Count a request for a code to ``target`` (the mobile number or e-mail address as typed, whether or not
    a code will go out, so the answer is the same for accounts that do not exist) and from ``address``;
    :class:`RateLimited` beyond VERIFICATION_RESEND_SECONDS, RATE_LIMIT_CODE_TARGET or
    RATE_LIMIT_CODE_ADDRESS. Call it before anything else; the caller commits."""
    target = target.strip().lower()
    interval = int(current_app.config.get("VERIFICATION_RESEND_SECONDS", 60))
    if interval > 0:
        wait = ratelimit.hit(RESEND, target, 1, interval)
        if wait is not None:
            raise RateLimited(gettext("验证码发送过于频繁，请%(wait)s秒后再试", wait=wait), wait)
    checks = [(PER_TARGET, target, "RATE_LIMIT_CODE_TARGET")]
    if address:
        checks.append((PER_ADDRESS, address, "RATE_LIMIT_CODE_ADDRESS"))
    for rule, subject, setting in checks:
        wait = ratelimit.hit(rule, subject, *ratelimit.limit(setting))
        if wait is not None:
            raise RateLimited(gettext("验证码发送次数过多，请%(minutes)s分钟后再试",
                                      minutes=ratelimit.minutes(wait)), wait)


def issue(purpose: str, channel: str, target: str) -> str:
    """Create a code for ``target`` and hand it to the configured sender; returns the code (shown on the
    page only in development). The caller limited the requests first (:func:`limit_requests`). Flushes;
    the caller commits."""
    now = utcnow()
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = int(current_app.config.get("VERIFICATION_CODE_MINUTES", 10))
    db.session.add(VerificationCode(purpose=purpose, channel=channel, target=target, code_hash=_hash(target, code),
                                    expires_at=now + timedelta(minutes=minutes), created_at=now))
    db.session.flush()
    get_sender().send(channel, target, code, purpose)
    return code


_CODES = VerificationCode.__table__


def _take_try(code_id: int) -> int | None:
    """Count one try of the code before it is compared (one conditional UPDATE, see app.core.ratelimit), so
    racing guesses compare at most MAX_ATTEMPTS. The try's number; None when the code is used or spent."""
    c = _CODES.c
    row = run_counter(update(_CODES).where(c.id == code_id, c.used_at.is_(None), c.attempts < MAX_ATTEMPTS)
                      .values(attempts=c.attempts + 1).returning(c.attempts))
    return None if row is None else int(row[0])


def consume(purpose: str, target: str, code: str | None, *, vague: bool = False) -> None:
    """Accept the newest unused code for ``target`` once, or raise a field error on ``verification_code``
    (with ``vague``, the same one for a wrong, spent or missing code). A wrong guess raises
    :class:`WrongCode`; after MAX_ATTEMPTS tries the code is void. The code is used up by a conditional
    UPDATE in the caller's transaction: of racing requests with the same code one wins, the others wait
    for its commit and are refused (or go on if it rolled back)."""
    code = (code or "").strip()
    if not code:
        raise ValidationFailed("提交的内容有误，请按提示修改", {FIELD: "请输入验证码"})
    stale = ValidationFailed("提交的内容有误，请按提示修改", {FIELD: VAGUE if vague else STALE})
    now = utcnow()
    row = db.session.scalar(select(VerificationCode).where(
        VerificationCode.purpose == purpose, VerificationCode.target == target, VerificationCode.used_at.is_(None))
        .order_by(VerificationCode.created_at.desc()).limit(1))
    if row is None or row.expires_at < now or _take_try(row.id) is None:
        raise stale
    if not hmac.compare_digest(row.code_hash, _hash(target, code)):
        raise WrongCode(purpose, target, VAGUE if vague else WRONG)
    used = db.session.execute(update(_CODES).where(_CODES.c.id == row.id, _CODES.c.used_at.is_(None))
                              .values(used_at=now))
    db.session.expire(row)
    if used.rowcount != 1:  # a racing request used it first
        raise stale


def show_in_page() -> bool:
    """Development shows the code on the page (there is no SMS gateway)."""
    return bool(current_app.config.get("SHOW_VERIFICATION_CODE") or current_app.debug)
