"""Organisations, users and memberships (design §1)."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, DateTime, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import TimestampMixin, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.people.models import Person


class OrgKind(enum.StrEnum):
    HR_BUREAU = "hr_bureau"
    SUPERVISORY_DEPARTMENT = "supervisory_department"
    EMPLOYER_UNIT = "employer_unit"
    TRAINING_INSTITUTION = "training_institution"


class OrgStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"
    #: A registration the parent organisation turned down; the same USCC may register again.
    REJECTED = "rejected"


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUB_ADMIN = "sub_admin"
    MEMBER = "member"


#: Permission modules a role can hold; admins hold all of them.
PERMISSION_MODULES = {
    "credit_review": "学时审核",
    "people": "人员管理",
    "training": "培训管理",
    "statistics": "统计查询",
    "registration_review": "注册审核",
    "change_review": "信息变更审核",
    "organisation": "机构管理",
    "integrity": "信用管理",
}


class Organisation(TimestampMixin, db.Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[OrgKind] = mapped_column(
        Enum(OrgKind, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    #: province / city / district for HR bureaus; free text elsewhere.
    level: Mapped[str | None] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    #: Materialised path of ids, e.g. "/1/2/5/": subtree queries are an indexed prefix match.
    path: Mapped[str] = mapped_column(String(400), nullable=False, default="/", index=True)
    region: Mapped[str | None] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(100))
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    status: Mapped[OrgStatus] = mapped_column(
        Enum(OrgStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
        default=OrgStatus.ACTIVE,
    )
    #: 关闭审核权限: while False, approval chains skip this organisation's review steps.
    review_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: Contact details: edited at once, no review (issue 4 item 7).
    contact_person: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])

    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to the parent (excluding self)."""
        return [int(p) for p in self.path.strip("/").split("/") if p][:-1]

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name}>"


def new_auth_version() -> int:
    """The ``auth_version`` of a new user row: random, not 0, so a database emptied and filled again (tests, a
    restore) does not meet a process's cached entries' versions by chance (:mod:`app.accounts.usercache`)."""
    return secrets.randbelow(2**31 - 2) + 1


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    #: Raised by signing out: every session signed in before then ends (see :meth:`get_id`).
    session_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    #: Renewed in the transaction of every change to what a request's signed-in user holds (this row, the
    #: memberships, the own record, their organisations): the per-process user cache serves an entry only while
    #: it matches (:mod:`app.accounts.usercache`).
    auth_version: Mapped[int] = mapped_column(Integer, nullable=False, default=new_auth_version, server_default="0")

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", lazy="selectin")
    #: The user's own professional record (专技人员档案), if they have one.
    person: Mapped[Person | None] = relationship(back_populates="user", uselist=False)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.status == "active"

    def get_id(self) -> str:
        """What Flask-Login keeps in the signed session (and the remember-me cookie): the id and a stamp
        of the password and the sign-out count, so changing the password or signing out ends every
        session made before, even a copied cookie (:func:`app.core.auth.load_user` compares)."""
        return f"{self.id}.{self.session_stamp()}"

    def session_stamp(self) -> str:
        key = current_app.secret_key
        key = key.encode() if isinstance(key, str) else bytes(key or b"")
        msg = f"{self.id}:{self.password_hash}:{self.session_epoch or 0}".encode()
        return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]


class Membership(db.Model):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False, index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
        default=Role.MEMBER,
    )
    #: Permission modules held by a sub-admin (keys of PERMISSION_MODULES); admins hold all.
    permissions: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: The named role (app.orgadmin.models.AdminRole) a sub-admin holds; ``permissions`` mirrors its modules.
    admin_role_id: Mapped[int | None] = mapped_column(ForeignKey("admin_role.id"), index=True)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(lazy="joined")

    def can(self, module: str) -> bool:
        if self.role == Role.ADMIN:
            return True
        return self.role == Role.SUB_ADMIN and module in (self.permissions or [])


class ApiToken(TimestampMixin, db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False, index=True)
    #: sha256 of the bearer token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    user: Mapped[User] = relationship()


class CaptchaUse(db.Model):
    """A captcha that was answered (rightly or wrongly): its nonce, so the same signed cookie cannot be
    replayed for another attempt. Rows older than ``CAPTCHA_SECONDS`` are useless; ``cleanup`` drops them."""

    __tablename__ = "captcha_use"

    nonce: Mapped[str] = mapped_column(String(16), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)


class PasswordChangeRequired(db.Model):
    """A superior administrator reset this user's password: the temporary one must be changed
    on the next web sign-in."""

    __tablename__ = "password_change_required"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    reset_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reset_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
