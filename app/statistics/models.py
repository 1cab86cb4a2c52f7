"""The indexes the statistics queries (app.statistics.queries) read through: each aggregate reads one index
of a year (or of an organisation's review tasks) instead of the table (migration stats_0001)."""

from __future__ import annotations

from sqlalchemy import Index, text

from app.accounts.models import Organisation
from app.archive.models import AnnualVerification, CreditRecord
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
