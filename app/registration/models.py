"""What registration adds to the schema: organisation details and one-time verification codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.accounts.models import Organisation
from app.core.models import TimestampMixin
from app.extensions import db


class OrganisationProfile(TimestampMixin, db.Model):
    """Registration details of an organisation (单位性质, 级别, 电话, 地址, 负责人, 邮政编码, 职能简介, 证照扫描件)."""

    __tablename__ = "organisation_profile"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    nature: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str | None] = mapped_column(String(200))
    principal: Mapped[str | None] = mapped_column(String(100))
    #: 邮政编码 (six digits) and 单位职能简介, kept up by the organisation's administrator (004 §1.2.2).
    postcode: Mapped[str | None] = mapped_column(String(6))
    functions: Mapped[str | None] = mapped_column(String(500))
    #: The HR bureau a training institution reports to when its parent is a supervisory department.
    hr_bureau_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    #: The uploaded scan of the USCC certificate (统一社会信用代码扫描件).
    licence_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    #: The user who applied and becomes the super administrator on approval.
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class VerificationCode(TimestampMixin, db.Model):
    """A one-time code sent by SMS or e-mail; only its hash is kept."""

    __tablename__ = "verification_code"
    __table_args__ = (Index("ix_verification_code_purpose_target", "purpose", "target", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: register / reset_password
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    #: sms / email
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The mobile number or e-mail address the code went to.
    target: Mapped[str] = mapped_column(String(200), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


#: The organisation picker's name search (app.registration.picker): ``name LIKE 'q%'`` as an index range
#: scan. ``varchar_pattern_ops`` makes that work on PostgreSQL whatever the database collation; SQLite
#: gets a plain index on the name.
ORGANISATION_NAME_PREFIX = Index("ix_organisation_name_prefix", Organisation.__table__.c.name,
                                 postgresql_ops={"name": "varchar_pattern_ops"})
