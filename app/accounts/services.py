"""Authentication: password hashing, login with lockout, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from app.audit import services as audit
from app.core.errors import AccountLocked, AuthenticationFailed, PasswordRejected, ValidationFailed
from app.core.models import utcnow
from app.core.validators import normalise_id_number
from app.extensions import db

from .models import ApiToken, User

#: pbkdf2 keeps logins fast enough for a busy login page while staying well above OWASP's floor.
PASSWORD_METHOD = "pbkdf2:sha256:600000"


def hash_password(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD") or PASSWORD_METHOD
    return generate_password_hash(password, method=method)


def find_user(login: str) -> User | None:
    """Users log in with their login name or their ID number."""
    login = (login or "").strip()
    if not login:
        return None
    return db.session.scalar(select(User).where(
        or_(User.login == login, User.id_number == normalise_id_number(login))))


def _locked_for(user: User, now) -> int | None:
    """Minutes the account stays locked, or None."""
    if user.locked_until and user.locked_until > now:
        return max(1, -(-int((user.locked_until - now).total_seconds()) // 60))
    return None


def _count_failure(user: User, now) -> int | None:
    """One more wrong password: the tries left before the lock, or None when this one locked the account."""
    user.failed_logins = (user.failed_logins or 0) + 1
    limit = current_app.config["LOCKOUT_FAILURES"]
    if user.failed_logins >= limit:
        user.locked_until = now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
        user.failed_logins = 0
        db.session.flush()
        return None
    db.session.flush()
    return limit - user.failed_logins


def _locked_message() -> str:
    return gettext("密码连续错误%(n)s次，帐号已锁定%(minutes)s分钟", n=current_app.config["LOCKOUT_FAILURES"],
                   minutes=current_app.config["LOCKOUT_MINUTES"])


def authenticate(login: str, password: str) -> User:
    """Return the user or raise; counts failures and locks the account (design §4).
    The caller commits, so failed attempts are recorded even though login fails."""
    user = find_user(login)
    now = utcnow()
    if user is None:
        audit.record("auth.sign_in_failed", actor=None, login=login, details={"reason": "unknown_login"}, keep=True)
        raise AuthenticationFailed("用户名或密码错误")
    minutes = _locked_for(user, now)
    if minutes is not None:
        audit.record("auth.sign_in_failed", actor=user, details={"reason": "locked"}, keep=True)
        raise AccountLocked(gettext("密码错误次数过多，帐号已锁定，请%(minutes)s分钟后再试", minutes=minutes))
    if not check_password_hash(user.password_hash, password or ""):
        left = _count_failure(user, now)
        audit.record("auth.sign_in_failed", actor=user, details={"reason": "wrong_password", "locked": left is None},
                     keep=True)
        if left is None:
            raise AccountLocked(_locked_message())
        raise AuthenticationFailed(gettext("用户名或密码错误，再错%(n)s次帐号将被锁定", n=left))
    if user.status != "active":
        audit.record("auth.sign_in_failed", actor=user, details={"reason": user.status}, keep=True)
    if user.status in ("pending", "rejected"):
        raise AuthenticationFailed(inactive_message(user))
    if user.status != "active":
        raise AuthenticationFailed("此帐号已被停用，请联系管理员")
    user.failed_logins = 0
    user.locked_until = None
    audit.record("auth.sign_in", actor=user)
    db.session.flush()
    return user


def check_password(user: User, password: str, *, field: str, message: str, wrong: str) -> None:
    """The account's own password typed outside the login form (to change it, or to add the account
    as an administrator elsewhere): refused while the account is locked, and a wrong one counts
    towards the lockout as a failed login does (:class:`PasswordRejected`, ``{field: wrong}``)."""
    now = utcnow()
    minutes = _locked_for(user, now)
    if minutes is not None:
        raise ValidationFailed(message, {field: gettext(
            "密码错误次数过多，该帐号已锁定，请%(minutes)s分钟后再试", minutes=minutes)})
    if not check_password_hash(user.password_hash, password or ""):
        raise PasswordRejected(message, {field: wrong}, user.id, field)


def keep_password_failure(exc: BaseException) -> None:
    """After the action that raised ``exc`` was rolled back: count its wrong password (see
    :func:`check_password`) in the fresh transaction, and say in the error how many tries are left.
    Does nothing for other errors; the caller commits."""
    if not isinstance(exc, PasswordRejected):
        return
    user = db.session.get(User, exc.user_id)
    if user is None:
        return
    left = _count_failure(user, utcnow())
    audit.record("auth.password_failed", actor=user, details={"locked": left is None})
    exc.fields[exc.field] = (_locked_message() if left is None else gettext(
        "%(reason)s，再错%(n)s次帐号将被锁定", reason=gettext(exc.fields[exc.field]), n=left))


def end_sessions(user: User) -> None:
    """Signing out: every web session of the user made before ends, even one whose cookie was copied."""
    user.session_epoch = (user.session_epoch or 0) + 1
    db.session.flush()


def revoke_tokens(user: User) -> None:
    """The password changed: the API tokens issued with the old one stop working."""
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(
        user_id=user.id, token_hash=_token_hash(token),
        expires_at=utcnow() + timedelta(hours=current_app.config["API_TOKEN_HOURS"]),
    ))
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    # the token, its user, the user's memberships and own record in one query (every API request needs them)
    user = joinedload(ApiToken.user)
    row = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))
                             .options(user.joinedload(User.memberships), user.joinedload(User.person))
                             ).unique().one_or_none()
    if row is None or row.expires_at < utcnow() or not row.user.is_active:
        return None
    return row.user


#: Who explains to a registrant not yet approved (or refused) why they cannot sign in: the registration
#: domain sets it when it registers its processes (accounts knows no registration).
_INACTIVE_EXPLAINER: list = []


def explain_inactive_with(explain) -> None:  # noqa: ANN001  (User -> str)
    _INACTIVE_EXPLAINER[:] = [explain]


def inactive_message(user: User) -> str:
    if _INACTIVE_EXPLAINER:
        return _INACTIVE_EXPLAINER[0](user)
    return gettext("此帐号还未被审核，请联系所在单位管理员")
