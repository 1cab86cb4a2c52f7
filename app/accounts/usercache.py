"""The signed-in user of a request from a small per-process cache (issue 19).

Every web and API request needs its user with the memberships (and their organisations) and, for a
professional, their own record (with its unit). Loading that graph is one joined statement, but building its
ORM objects costs more CPU than anything else a request does before its view. So each process keeps the graph
of the users it saw recently, detached from any session, keyed by user id, with the user's ``auth_version``.

**Invalidation across processes.** ``user_account.auth_version`` changes in the same transaction as anything
the cached graph holds: the user's own row (password, sign-out counter, status, name, ...), their memberships,
their own professional record, and the organisations of those (see :func:`_collect` and :func:`_bump`). Every
request still reads the version with one indexed statement (for a bearer token, in the statement that checks
the token), so a change committed by one process takes effect in every other one on its next request. Only a
matching version is served from the cache; anything else loads the user as before and refreshes the entry.

A new user row gets a random version (not 0), so a database that was emptied and filled again (tests, a
restore) does not meet the old entries' versions by chance.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, inspect, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete, Insert, Update

from app.accounts.models import Membership, User
from app.extensions import db

#: Entries kept per process (least recently used dropped first): a few hundred bytes of objects each.
SIZE = 4096

_USERS = User.__table__
_MEMBERSHIPS = Membership.__table__
#: Tables whose rows the cached graph holds; a Core write to them (not through the ORM) renews every version.
_WATCHED = {"user_account", "membership", "organisation", "person"}
#: Columns of user_account that the cached graph may hold stale (sign-in failure counting, the version itself).
_UNWATCHED_USER_COLUMNS = {"failed_logins", "locked_until", "auth_version", "updated_at"}


class UserCache:
    """Detached user graphs by user id, each with the ``auth_version`` it was loaded at."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._users: OrderedDict[int, tuple[int, User]] = OrderedDict()
        #: sha256 of bearer tokens this process has seen (the token itself is checked on every request)
        self._tokens: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, user_id: int, version: int) -> User | None:
        with self._lock:
            entry = self._users.get(user_id)
            if entry is None or entry[0] != version:
                self.misses += 1
                return None
            self._users.move_to_end(user_id)
            self.hits += 1
            return entry[1]

    def version_of(self, user_id: int) -> int | None:
        entry = self._users.get(user_id)
        return entry[0] if entry else None

    def knows_token(self, token_hash: str) -> bool:
        return token_hash in self._tokens

    def put(self, user: User, version: int, token_hash: str | None = None) -> None:
        if self.size <= 0:  # turned off
            return
        snapshot = _detached_copy(user)
        with self._lock:
            if token_hash is not None:
                self._tokens[token_hash] = None
                while len(self._tokens) > self.size:
                    self._tokens.popitem(last=False)
            self._users[user.id] = (version, snapshot)
            self._users.move_to_end(user.id)
            while len(self._users) > self.size:
                self._users.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._users.clear()
            self._tokens.clear()


def _detached_copy(user: User) -> User:
    """A copy of the loaded graph (user, memberships with organisations, own record with its unit) that belongs
    to no session: what :func:`attach` copies into a request's session."""
    holder = Session()
    try:
        return holder.merge(user, load=False)
    finally:
        holder.expunge_all()
        holder.close()


def cache() -> UserCache:
    return current_app.extensions["cepp.user_cache"]


def attach(snapshot: User) -> User:
    """The cached graph as objects of this request's session, without a statement. A user the session already
    holds is returned as it is (as ``Session.get`` would)."""
    session = db.session
    key = inspect(snapshot).key
    held = session.identity_map.get(key)
    if held is not None:
        return held  # type: ignore[return-value]
    return session.merge(snapshot, load=False)


#: The version of a session's user (one indexed read by primary key).
VERSION_OF_USER = select(_USERS.c.auth_version).where(_USERS.c.id == db.bindparam("user_id"))


# ---- invalidation -------------------------------------------------------------------------------------------


def _user_changed(user: User) -> bool:
    state = inspect(user)
    for attr in state.mapper.column_attrs:
        if attr.key in _UNWATCHED_USER_COLUMNS:
            continue
        if state.attrs[attr.key].history.has_changes():
            return True
    return False


def _collect(session: Session, _flush_context: Any, _instances: Any) -> None:
    """before_flush: note whose cached graph the flush changes (users by id; organisations by id)."""
    users: set[int] = session.info.setdefault("cepp.auth_users", set())
    orgs: set[int] = session.info.setdefault("cepp.auth_orgs", set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(obj), "__tablename__", None)
        if table not in _WATCHED:
            continue
        state = inspect(obj)
        if table == "user_account":
            if obj in session.new:
                continue  # a new row: nobody can have it cached
            if obj in session.deleted or _user_changed(obj):  # type: ignore[arg-type]
                users.add(obj.id)
        elif table == "organisation":
            if obj not in session.new and obj.id is not None and (obj in session.deleted
                                                                   or session.is_modified(obj)):
                orgs.add(obj.id)
        else:  # membership, person: the user they belong to, before and after
            current = obj.user_id if obj not in session.new else state.dict.get("user_id")  # loads if expired
            for uid in (current, *state.attrs.user_id.history.deleted):
                if uid is not None:
                    users.add(uid)
            if "user" in state.attrs and state.attrs.user.history.has_changes():
                for u in (*state.attrs.user.history.added, *state.attrs.user.history.deleted):
                    if u is not None and getattr(u, "id", None) is not None:
                        users.add(u.id)


def _bump(session: Session, _flush_context: Any) -> None:
    """after_flush: renew the versions of the users noted by :func:`_collect`, in the flush's transaction."""
    users: set[int] = session.info.pop("cepp.auth_users", set())
    orgs: set[int] = session.info.pop("cepp.auth_orgs", set())
    if not users and not orgs:
        return
    conn = session.connection()
    if users:
        conn.execute(update(_USERS).where(_USERS.c.id.in_(sorted(users)))
                     .values(auth_version=_USERS.c.auth_version + 1))
    if orgs:
        conn.execute(_bump_orgs(orgs))


def _bump_orgs(orgs: set[int]) -> Update:
    people = db.metadata.tables["person"]  # by name: accounts does not import the people package
    return (update(_USERS).where(or_(
        _USERS.c.id.in_(select(_MEMBERSHIPS.c.user_id).where(_MEMBERSHIPS.c.organisation_id.in_(sorted(orgs)))),
        _USERS.c.id.in_(select(people.c.user_id).where(people.c.unit_id.in_(sorted(orgs)),
                                                       people.c.user_id.is_not(None))),
    )).values(auth_version=_USERS.c.auth_version + 1))


def _core_write(orm_execute_state: Any) -> Any:
    """do_orm_execute: a Core INSERT / UPDATE / DELETE of a watched table (e.g. moving an organisation subtree
    rewrites its paths) renews every user's version right after it ran: which users it touches is not known.
    Such writes are rare administrative actions."""
    statement = orm_execute_state.statement
    if not isinstance(statement, Insert | Update | Delete):
        return None
    table = getattr(statement.table, "name", None)
    if table not in _WATCHED:
        return None
    if table == "user_account" and isinstance(statement, Update):
        values = {getattr(k, "key", k) for k in (statement._values or {})}
        if values and values <= _UNWATCHED_USER_COLUMNS:
            return None
    renew = _users_of_insert(statement, orm_execute_state.parameters) if isinstance(statement, Insert) else None
    result = orm_execute_state.invoke_statement()
    if renew is None:  # which users it touches is not known: all of them
        orm_execute_state.session.connection().execute(update(_USERS).values(auth_version=_USERS.c.auth_version + 1))
    elif renew:
        orm_execute_state.session.connection().execute(
            update(_USERS).where(_USERS.c.id.in_(sorted(renew))).values(auth_version=_USERS.c.auth_version + 1))
    return result


def _users_of_insert(statement: Insert, parameters: Any) -> set[int] | None:
    """The users whose cached graph a Core INSERT changes, or None when that cannot be told from its values.

    New users and new organisations are in no cache (nothing to renew); a new person or membership changes
    the graph of the user it names (``user_id``), a bulk import of people mostly none."""
    table = statement.table.name
    if table in ("user_account", "organisation"):
        return set()
    rows = parameters if isinstance(parameters, list | tuple) else [parameters or {}]
    if (statement._values or getattr(statement, "_multi_values", None) or statement.select is not None
            or not all(isinstance(r, dict) for r in rows)):
        return None
    return {r["user_id"] for r in rows if r.get("user_id") is not None}


def _forget(session: Session, *_args: Any) -> None:
    """after_rollback: nothing noted for a flush that did not happen."""
    session.info.pop("cepp.auth_users", None)
    session.info.pop("cepp.auth_orgs", None)


_LISTENING = False


def init_app(app: Flask) -> None:
    global _LISTENING
    app.extensions["cepp.user_cache"] = UserCache(app.config.get("USER_CACHE_SIZE", SIZE))
    if not _LISTENING:
        _LISTENING = True
        event.listen(Session, "before_flush", _collect)
        event.listen(Session, "after_flush", _bump)
        event.listen(Session, "do_orm_execute", _core_write)
        event.listen(Session, "after_soft_rollback", _forget)
