"""Who is acting: Flask-Login sessions for the web, bearer tokens for the API."""

from __future__ import annotations

import hmac

from flask import request
from flask_login import current_user
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from app.accounts import usercache
from app.accounts.actor import Actor
from app.accounts.models import User
from app.core.errors import AuthenticationFailed
from app.extensions import db, login_manager
from app.people.models import Person  # noqa: F401  (User.person: the mapper needs the class)

#: The actor is cached per request (not in `g`, which outlives a request in tests).
_KEY = "cepp.actor"

login_manager.login_view = "accounts.login"
login_manager.login_message = "请先登录"
login_manager.login_message_category = "warning"
login_manager.session_protection = "strong"


#: Every request's actor needs the memberships (and their organisations) and, for a professional, their own
#: record (with its unit): one query with the user.
_WITH_MEMBERSHIPS = (joinedload(User.memberships), joinedload(User.person))


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session made by ``User.get_id()``; None (signed out) when the account was disabled,
    its password changed or its user signed out since."""
    user_id, _, stamp = session_id.partition(".")
    if not user_id.isdigit() or not stamp:
        return None
    user = _cached_user(int(user_id))
    if user is None or not user.is_active or not hmac.compare_digest(stamp, user.session_stamp()):
        return None
    return user


def _cached_user(user_id: int) -> User | None:
    """The user with memberships and own record: from this process's cache while its ``auth_version`` is the
    stored one (one indexed read), else loaded in one joined statement and kept (:mod:`app.accounts.usercache`)."""
    users = usercache.cache()
    if users.version_of(user_id) is not None:
        version = db.session.execute(usercache.VERSION_OF_USER, {"user_id": user_id}).scalar()
        if version is None:
            return None
        snapshot = users.get(user_id, version)
        if snapshot is not None:
            return usercache.attach(snapshot)
    held = db.session.identity_map.get(identity_key(User, user_id)) is not None
    user = db.session.get(User, user_id, options=_WITH_MEMBERSHIPS)
    if user is not None and not held:  # loaded just now, whole: worth keeping
        users.put(user, user.auth_version)
    return user


def web_actor() -> Actor:
    """The signed-in user of a web request (views are behind @login_required)."""
    actor = request.environ.get(_KEY)
    if actor is None:
        actor = request.environ[_KEY] = Actor.of(current_user._get_current_object())
    return actor


def api_actor() -> Actor:
    """The user of an API request, from ``Authorization: Bearer <token>``."""
    from app.accounts.services import user_for_token

    actor = request.environ.get(_KEY)
    if actor is not None:
        return actor
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = user_for_token(token.strip()) if scheme.lower() == "bearer" and token else None
    if user is None:
        raise AuthenticationFailed("缺少或无效的访问令牌")
    actor = request.environ[_KEY] = Actor.of(user)
    return actor
