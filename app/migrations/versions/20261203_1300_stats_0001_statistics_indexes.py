"""Indexes of the statistics queries: organisation path prefix, people by unit with their title, a year's
verifications and credit records, review tasks and decisions of an organisation by time

Revision ID: stats_0001
Revises: reliability_0001
Create Date: 2026-12-03 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "stats_0001"
down_revision = "reliability_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_organisation_path_prefix", "organisation", ["path"], unique=False,
                    postgresql_ops={"path": "varchar_pattern_ops"})
    op.create_index("ix_person_unit_title", "person", ["unit_id", "id"], unique=False,
                    postgresql_include=["title_series", "title_level"])
    op.create_index("ix_annual_verification_year_person", "annual_verification", ["year", "person_id"],
                    unique=False, postgresql_include=["verified", "public_hours", "professional_hours",
                                                      "elective_hours", "total_hours"])
    op.create_index("ix_credit_record_year_person", "credit_record", ["year", "person_id"], unique=False,
                    postgresql_include=["learning_form", "recognised_hours"])
    op.create_index("ix_workflow_task_org_completed", "workflow_task", ["candidate_org_id", "completed_at"],
                    unique=False, postgresql_include=["created_at", "cancelled", "process_key"],
                    postgresql_where=sa.text("candidate_user_id IS NULL"),
                    sqlite_where=sa.text("candidate_user_id IS NULL"))
    op.create_index("ix_approval_event_org_at", "approval_event", ["organisation_id", "at"], unique=False,
                    postgresql_include=["outcome"])


def downgrade():
    op.drop_index("ix_approval_event_org_at", table_name="approval_event")
    op.drop_index("ix_workflow_task_org_completed", table_name="workflow_task")
    op.drop_index("ix_credit_record_year_person", table_name="credit_record")
    op.drop_index("ix_annual_verification_year_person", table_name="annual_verification")
    op.drop_index("ix_person_unit_title", table_name="person")
    op.drop_index("ix_organisation_path_prefix", table_name="organisation")
