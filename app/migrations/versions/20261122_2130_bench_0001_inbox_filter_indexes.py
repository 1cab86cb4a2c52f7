"""inbox filter indexes: covering open-org index, name / ID-number prefix indexes

Revision ID: bench_0001
Revises: cert_0001
Create Date: 2026-11-22 21:30:00

Measured with bench/bench_inbox.py (200,000 open tasks): the year / process filters and the
name / ID-number prefix search of a large inbox took 60-120 ms on PostgreSQL without them.
"""
from alembic import op
import sqlalchemy as sa


revision = "bench_0001"
down_revision = "cert_0001"
branch_labels = None
depends_on = None

_OPEN = sa.text("completed_at IS NULL")


def upgrade():
    with op.batch_alter_table("workflow_task", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_task_open_org", postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.create_index("ix_workflow_task_open_org", ["candidate_org_id", "created_at", "id"], unique=False,
                              postgresql_where=_OPEN, sqlite_where=_OPEN, postgresql_include=["year", "process_key"])
        batch_op.create_index("ix_workflow_task_open_org_name", ["candidate_org_id", "applicant_name"], unique=False,
                              postgresql_where=_OPEN, sqlite_where=_OPEN,
                              postgresql_ops={"applicant_name": "varchar_pattern_ops"})
        batch_op.create_index("ix_workflow_task_open_org_id_number", ["candidate_org_id", "applicant_id_number"],
                              unique=False, postgresql_where=_OPEN, sqlite_where=_OPEN,
                              postgresql_ops={"applicant_id_number": "varchar_pattern_ops"})


def downgrade():
    with op.batch_alter_table("workflow_task", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_task_open_org_id_number", postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.drop_index("ix_workflow_task_open_org_name", postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.drop_index("ix_workflow_task_open_org", postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.create_index("ix_workflow_task_open_org", ["candidate_org_id", "created_at", "id"], unique=False,
                              postgresql_where=_OPEN, sqlite_where=_OPEN)
