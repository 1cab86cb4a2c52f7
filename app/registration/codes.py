"""One-time verification codes: issue (rate-limited), check (limited attempts, expiry)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select

from app.core.errors import DomainError, ValidationFailed
from app.core.models import utcnow
from app.extensions import db
from app.registration.models import VerificationCode
from app.registration.senders import get_sender

REGISTER, RESET_PASSWORD = "register", "reset_password"
MAX_ATTEMPTS = 5
FIELD = "verification_code"


class WrongCode(ValidationFailed):
    """A wrong guess: the caller rolls back, then :func:`penalise` records it and commits."""

    def __init__(self, purpose: str, target: str) -> None:
        super().__init__("提交的内容有误，请按提示修改", {FIELD: "验证码不正确"})
        self.purpose, self.target = purpose, target


def penalise(exc: WrongCode) -> None:
    """Count a wrong guess against the newest code (after the failed action was rolled back)."""
    row = db.session.scalar(select(VerificationCode).where(
        VerificationCode.purpose == exc.purpose, VerificationCode.target == exc.target,
        VerificationCode.used_at.is_(None)).order_by(VerificationCode.created_at.desc()).limit(1))
    if row is not None:
        row.attempts += 1
        db.session.flush()


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"


def _hash(target: str, code: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{target}\0{code}".encode(), hashlib.sha256).hexdigest()


def issue(purpose: str, channel: str, target: str) -> str:
    """Create a code for ``target`` and hand it to the configured sender; returns the code
    (shown on the page only in development). Flushes; the caller commits."""
    now = utcnow()
    interval = int(current_app.config.get("VERIFICATION_RESEND_SECONDS", 60))
    last = db.session.scalar(select(VerificationCode).where(
        VerificationCode.purpose == purpose, VerificationCode.target == target)
        .order_by(VerificationCode.created_at.desc()).limit(1))
    if last is not None and (now - last.created_at).total_seconds() < interval:
        wait = interval - int((now - last.created_at).total_seconds())
        raise TooManyRequests(gettext("验证码发送过于频繁，请%(wait)s秒后再试", wait=wait))
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = int(current_app.config.get("VERIFICATION_CODE_MINUTES", 10))
    db.session.add(VerificationCode(purpose=purpose, channel=channel, target=target, code_hash=_hash(target, code),
                                    expires_at=now + timedelta(minutes=minutes), created_at=now))
    db.session.flush()
    get_sender().send(channel, target, code, purpose)
    return code


def consume(purpose: str, target: str, code: str | None) -> None:
    """Accept the newest unused code for ``target`` once, or raise a field error on
    ``verification_code``. A wrong guess raises :class:`WrongCode` (the caller counts it
    with :func:`penalise`); after MAX_ATTEMPTS wrong guesses the code is void."""
    code = (code or "").strip()
    if not code:
        raise ValidationFailed("提交的内容有误，请按提示修改", {FIELD: "请输入验证码"})
    now = utcnow()
    row = db.session.scalar(select(VerificationCode).where(
        VerificationCode.purpose == purpose, VerificationCode.target == target, VerificationCode.used_at.is_(None))
        .order_by(VerificationCode.created_at.desc()).limit(1))
    if row is None or row.expires_at < now or row.attempts >= MAX_ATTEMPTS:
        raise ValidationFailed("提交的内容有误，请按提示修改", {FIELD: "验证码已失效，请重新获取"})
    if not hmac.compare_digest(row.code_hash, _hash(target, code)):
        raise WrongCode(purpose, target)
    row.used_at = now
    db.session.flush()


def show_in_page() -> bool:
    """Development shows the code on the page (there is no SMS gateway)."""
    return bool(current_app.config.get("SHOW_VERIFICATION_CODE") or current_app.debug)
