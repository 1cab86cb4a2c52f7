"""The indexes the statistics queries (app.statistics.queries) read through: each aggregate reads one index
of a year (or of an organisation's review tasks) instead of the table (migration stats_0001)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.accounts.models import Organisation
from app.archive.models import AnnualVerification, CreditRecord
from app.extensions import db
from app.people.models import Person
from app.workflow.models import ApprovalEvent, WorkflowTask

#: ``path LIKE '/1/5/%'`` (an organisation and everything below it) as an index range on PostgreSQL
#: whatever the database collation.
ORGANISATION_PATH_PREFIX = Index("ix_organisation_path_prefix", Organisation.__table__.c.path,
                                 postgresql_ops={"path": "varchar_pattern_ops"})
#: People per unit with their title (people counts, the title-series distribution): an index-only scan.
PERSON_UNIT_TITLE = Index("ix_person_unit_title", Person.__table__.c.unit_id, Person.__table__.c.id,
                          postgresql_include=["title_series", "title_level"])
#: One year's stored verifications with their result and hours (completion, hours by subject).
VERIFICATION_YEAR = Index("ix_annual_verification_year_person", AnnualVerification.__table__.c.year,
                          AnnualVerification.__table__.c.person_id,
                          postgresql_include=["verified", "public_hours", "professional_hours", "elective_hours",
                                              "total_hours"])
#: One year's credit records by learning form (hours by learning form).
CREDIT_YEAR = Index("ix_credit_record_year_person", CreditRecord.__table__.c.year, CreditRecord.__table__.c.person_id,
                    postgresql_include=["learning_form", "recognised_hours"])
#: Review tasks of an organisation by decision time (review performance); applicants' own tasks left out.
TASK_ORG_COMPLETED = Index("ix_workflow_task_org_completed", WorkflowTask.__table__.c.candidate_org_id,
                           WorkflowTask.__table__.c.completed_at,
                           postgresql_include=["created_at", "cancelled", "process_key"],
                           postgresql_where=text("candidate_user_id IS NULL"),
                           sqlite_where=text("candidate_user_id IS NULL"))
#: Decisions of an organisation by time (returns per 100 decisions).
EVENT_ORG_AT = Index("ix_approval_event_org_at", ApprovalEvent.__table__.c.organisation_id,
                     ApprovalEvent.__table__.c.at, postgresql_include=["outcome"])


# --------------------------------------------------------------------------- summary tables (migration stats2_0001)
#
# Kept current by database triggers in the transaction that changes a person, a stored verification or a credit
# record (PostgreSQL and SQLite, see the migration), so the statistics read one row per unit (and year) instead of
# every person. ``app.statistics.summary.recount`` rebuilds them from the tables and checks them.


class UnitPeopleSummary(db.Model):
    """How many professionals each unit employs now (``person.unit_id``)."""

    __tablename__ = "statistics_unit_people"

    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"),
                                         primary_key=True)
    people: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class UnitYearSummary(db.Model):
    """The stored annual verifications of a unit's people (those it employs now) for one year."""

    __tablename__ = "statistics_unit_year"
    __table_args__ = (Index("ix_statistics_unit_year_year", "year", "unit_id"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"),
                                         primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: people with a stored verification of the year
    verifications: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: of them, meeting the rule
    completed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    public_hours: Mapped[Decimal] = mapped_column(Numeric(14, 1), nullable=False, default=Decimal("0"))
    professional_hours: Mapped[Decimal] = mapped_column(Numeric(14, 1), nullable=False, default=Decimal("0"))
    elective_hours: Mapped[Decimal] = mapped_column(Numeric(14, 1), nullable=False, default=Decimal("0"))
    total_hours: Mapped[Decimal] = mapped_column(Numeric(14, 1), nullable=False, default=Decimal("0"))


class UnitFormSummary(db.Model):
    """The credit records of a unit's people (those it employs now) for one year and learning form (``other``
    for a record without one)."""

    __tablename__ = "statistics_unit_form"
    __table_args__ = (Index("ix_statistics_unit_form_year", "year", "unit_id"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"),
                                         primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    learning_form: Mapped[str] = mapped_column(String(32), primary_key=True)
    records: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    hours: Mapped[Decimal] = mapped_column(Numeric(14, 1), nullable=False, default=Decimal("0"))


class UnitTitleSummary(db.Model):
    """How many professionals each unit employs now per title series and level ('' for none)."""

    __tablename__ = "statistics_unit_title"

    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    title_series: Mapped[str] = mapped_column(String(100), primary_key=True)
    title_level: Mapped[str] = mapped_column(String(32), primary_key=True)
    people: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class UnitTitleYearSummary(db.Model):
    """How many of a unit's people (now) of a title series and level met the rule in a year."""

    __tablename__ = "statistics_unit_title_year"
    __table_args__ = (Index("ix_statistics_unit_title_year_year", "year", "unit_id"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_series: Mapped[str] = mapped_column(String(100), primary_key=True)
    title_level: Mapped[str] = mapped_column(String(32), primary_key=True)
    completed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
