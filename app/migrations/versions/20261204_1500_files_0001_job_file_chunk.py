"""job_file_chunk: the files of background jobs (uploads, results) kept in the database, in pieces

Revision ID: files_0001
Revises: forms_0001
Create Date: 2026-12-04 15:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "files_0001"
down_revision = "forms_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_file_chunk",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", "seq", name=op.f("pk_job_file_chunk")),
    )


def downgrade():
    op.drop_table("job_file_chunk")
