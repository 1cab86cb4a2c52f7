"""Authentication: password hashing, login with lockout, API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key
from werkzeug.security import check_password_hash, generate_password_hash

from app.audit import services as audit
from app.core import ratelimit
from app.core.errors import AccountLocked, AuthenticationFailed, PasswordRejected, RateLimited, ValidationFailed
from app.core.models import utcnow
from app.core.ratelimit import counters_apart, run_counter
from app.core.validators import normalise_id_number
from app.extensions import db

from . import usercache
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


def _locked_for(user: User, now: datetime) -> int | None:
    """Minutes the account stays locked, or None."""
    if user.locked_until and user.locked_until > now:
        return max(1, -(-int((user.locked_until - now).total_seconds()) // 60))
    return None


_USERS = User.__table__


def _take_try(user_id: int, now: datetime) -> int | None:
    """Take one of the account's LOCKOUT_FAILURES tries before its password is checked: the failure count
    goes up first, in one conditional UPDATE (:func:`app.core.ratelimit.run_counter`), so however many
    requests race, at most that many passwords are checked before the lock. The try's number; None while
    the account is locked, and for the tries beyond the last one (they lock it at once)."""
    c = _USERS.c
    row = run_counter(update(_USERS).where(c.id == user_id, or_(c.locked_until.is_(None), c.locked_until <= now))
                      .values(failed_logins=c.failed_logins + 1).returning(c.failed_logins))
    if row is None:
        return None
    if row[0] > current_app.config["LOCKOUT_FAILURES"]:
        _lock(user_id, now)
        return None
    return int(row[0])


def _lock(user_id: int, now: datetime) -> None:
    run_counter(update(_USERS).where(_USERS.c.id == user_id).values(
        failed_logins=0, locked_until=now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])))


def _failed(user: User, attempt: int, now: datetime) -> int | None:
    """Try number ``attempt`` was a wrong password. It stays counted, and the last try locks the account.
    The tries left, or None when the account is now locked."""
    db.session.expire(user, ["failed_logins", "locked_until"])
    limit = current_app.config["LOCKOUT_FAILURES"]
    if attempt < limit:
        return limit - attempt
    _lock(user.id, now)
    return None


def _succeeded(user: User) -> None:
    """The right password: the failures so far are forgiven (and a lock that a racing try set is lifted)."""
    run_counter(update(_USERS).where(_USERS.c.id == user.id).values(failed_logins=0, locked_until=None))
    db.session.expire(user, ["failed_logins", "locked_until"])


#: A hash of a random password per hashing method: what an unknown login's password is checked against.
_DUMMY_HASHES: dict[str, str] = {}


def _dummy_check(password: str) -> None:
    """The work of checking a password, for an unknown login or a locked account: neither answers sooner."""
    method = current_app.config.get("PASSWORD_HASH_METHOD") or PASSWORD_METHOD
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    check_password_hash(_DUMMY_HASHES[method], password or "")


def _locked_message() -> str:
    return gettext("密码连续错误%(n)s次，帐号已锁定%(minutes)s分钟", n=current_app.config["LOCKOUT_FAILURES"],
                   minutes=current_app.config["LOCKOUT_MINUTES"])


def sign_in_failed_message() -> str:
    """The one answer to every failed sign-in: unknown login, wrong password, locked account."""
    return gettext("用户名或密码错误。密码连续错误%(n)s次，帐号将被锁定%(minutes)s分钟；可通过“忘记密码”重设密码并解锁",
                   n=current_app.config["LOCKOUT_FAILURES"], minutes=current_app.config["LOCKOUT_MINUTES"])


#: Rate-limit rules of signing in (app.core.ratelimit): failures from an address, of an account from an address.
SIGNIN_ADDRESS, SIGNIN_ACCOUNT = "signin", "signin_account"


def _signin_rules(user: User | None, login: str, address: str) -> list[tuple[str, str, str]]:
    account = f"user:{user.id}" if user is not None else f"login:{login.strip().lower()}"
    return [(SIGNIN_ADDRESS, address, "RATE_LIMIT_SIGNIN_ADDRESS"),
            (SIGNIN_ACCOUNT, f"{account}|{address}", "RATE_LIMIT_SIGNIN_ACCOUNT")]


def authenticate(login: str, password: str, *, address: str | None = None) -> User:
    """Return the user or raise. An unknown login, a wrong password and a locked account get the same
    :class:`AuthenticationFailed` after the same work (a password hash is checked every time), so the
    answer tells nobody which accounts exist; while locked, no password is checked, not even the right one,
    and the answer is :class:`AccountLocked` (423, the API contract of design §3). LOCKOUT_FAILURES failures
    lock the account for LOCKOUT_MINUTES (design §4).

    ``address`` is the client's (None outside a request: no rate limits). Failures are limited per address
    (RATE_LIMIT_SIGNIN_ADDRESS) and per account and address (RATE_LIMIT_SIGNIN_ACCOUNT, fewer than
    LOCKOUT_FAILURES, so that no single address can lock somebody's account); beyond a limit
    :class:`RateLimited`. The caller commits, also after a failure (see :mod:`app.core.ratelimit`)."""
    user = find_user(login)
    rules = _signin_rules(user, login or "", address) if address else []
    for rule, subject, setting in rules:
        wait = ratelimit.hit(rule, subject, *ratelimit.limit(setting))
        if wait is not None:
            raise RateLimited(gettext("登录失败次数过多，请%(minutes)s分钟后再试", minutes=ratelimit.minutes(wait)),
                              wait)
    now = utcnow()
    attempt = _take_try(user.id if user is not None else 0, now)  # no user has id 0: the same statement
    if user is None or attempt is None:
        _dummy_check(password)
        audit.record("auth.sign_in_failed", actor=user, login=login,
                     details={"reason": "unknown_login" if user is None else "locked"}, keep=True)
        if user is not None:
            # design §3 fixes 423 while locked: it tells that this login exists, but only once the account took
            # LOCKOUT_FAILURES failures, which one address cannot cause (RATE_LIMIT_SIGNIN_ACCOUNT)
            db.session.expire(user, ["failed_logins", "locked_until"])
            minutes = _locked_for(user, now) or current_app.config["LOCKOUT_MINUTES"]
            raise AccountLocked(gettext(
                "密码错误次数过多，帐号已锁定，请%(minutes)s分钟后再试，或通过“忘记密码”重设密码并解锁",
                minutes=minutes))
        raise AuthenticationFailed(sign_in_failed_message())
    if not check_password_hash(user.password_hash, password or ""):
        left = _failed(user, attempt, now)
        audit.record("auth.sign_in_failed", actor=user, details={"reason": "wrong_password", "locked": left is None},
                     keep=True)
        raise AuthenticationFailed(sign_in_failed_message())
    _succeeded(user)
    for rule, subject, _setting in rules:  # the limits count failures only
        ratelimit.give_back(rule, subject)
    if user.status != "active":
        audit.record("auth.sign_in_failed", actor=user, details={"reason": user.status}, keep=True)
    if user.status in ("pending", "rejected"):
        raise AuthenticationFailed(inactive_message(user))
    if user.status != "active":
        raise AuthenticationFailed("此帐号已被停用，请联系管理员")
    audit.record("auth.sign_in", actor=user)
    return user


def check_password(user: User, password: str, *, field: str, message: str, wrong: str) -> None:
    """The account's own password typed outside the login form (to change it, or to add the account
    as an administrator elsewhere): refused while the account is locked, and a wrong one counts
    towards the lockout as a failed login does (:class:`PasswordRejected`, ``{field: wrong}``), counted
    before the password is checked as at sign-in."""
    now = utcnow()
    attempt = _take_try(user.id, now)
    if attempt is None:
        db.session.expire(user, ["failed_logins", "locked_until"])
        minutes = _locked_for(user, now) or current_app.config["LOCKOUT_MINUTES"]
        raise ValidationFailed(message, {field: gettext(
            "密码错误次数过多，该帐号已锁定，请%(minutes)s分钟后再试", minutes=minutes)})
    if not check_password_hash(user.password_hash, password or ""):
        _failed(user, attempt, now)
        raise PasswordRejected(message, {field: wrong}, user.id, field)
    _succeeded(user)


def keep_password_failure(exc: BaseException) -> None:
    """After the action that raised ``exc`` was rolled back: say in the error how many tries are left (see
    :func:`check_password`). On SQLite the rollback took the wrong password's count with it, so it is
    counted again here; the caller commits. Does nothing for other errors."""
    if not isinstance(exc, PasswordRejected):
        return
    user = db.session.get(User, exc.user_id)
    if user is None:
        return
    now = utcnow()
    if counters_apart():  # counted already, in a transaction of its own
        db.session.refresh(user)
        limit = current_app.config["LOCKOUT_FAILURES"]
        left = None if _locked_for(user, now) else max(1, limit - user.failed_logins)
    else:
        attempt = _take_try(user.id, now)
        left = None if attempt is None else _failed(user, attempt, now)
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


_TOKENS = ApiToken.__table__
#: A token this process has seen: its expiry and its user's ``auth_version`` in one indexed read.
_TOKEN_CHECK = (select(_TOKENS.c.user_id, _TOKENS.c.expires_at, _USERS.c.auth_version)
                .join_from(_TOKENS, _USERS, _USERS.c.id == _TOKENS.c.user_id)
                .where(_TOKENS.c.token_hash == bindparam("token_hash")))
@functools.cache
def _token_load() -> Any:
    """A token seen for the first time: the token, its user, the user's memberships and own record in one query
    (built on first use: the mappers are complete by then)."""
    user = joinedload(ApiToken.user)
    return (select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))
            .options(user.joinedload(User.memberships), user.joinedload(User.person)))


def user_for_token(token: str) -> User | None:
    """The user of a bearer token (None when unknown, expired or the account is not active), from this
    process's user cache while the user's ``auth_version`` is current (:mod:`app.accounts.usercache`)."""
    token_hash = _token_hash(token)
    users = usercache.cache()
    if users.knows_token(token_hash):
        # a Core statement on the session's connection: the ORM's execution path adds nothing to it but CPU
        row = db.session.connection().execute(_TOKEN_CHECK, {"token_hash": token_hash}).first()
        if row is None or row.expires_at < utcnow():
            return None
        snapshot = users.get(row.user_id, row.auth_version)
        if snapshot is not None:
            user = usercache.attach(snapshot)
            return user if user.is_active else None
    held = {key for key in db.session.identity_map.keys() if key[0] is User}
    found = db.session.scalars(_token_load(), {"token_hash": token_hash}).unique().one_or_none()
    if found is None or found.expires_at < utcnow():
        return None
    user = found.user
    if identity_key(User, user.id) not in held:  # loaded just now, whole: worth keeping
        users.put(user, user.auth_version, token_hash)
    return user if user.is_active else None


#: Who explains to a registrant not yet approved (or refused) why they cannot sign in: the registration
#: domain sets it when it registers its processes (accounts knows no registration).
_INACTIVE_EXPLAINER: list = []


def explain_inactive_with(explain) -> None:  # noqa: ANN001  (User -> str)
    _INACTIVE_EXPLAINER[:] = [explain]


def inactive_message(user: User) -> str:
    if _INACTIVE_EXPLAINER:
        return _INACTIVE_EXPLAINER[0](user)
    return gettext("此帐号还未被审核，请联系所在单位管理员")
