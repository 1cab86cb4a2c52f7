"""background_job: attempts, rq job id and heartbeat (reconciliation of jobs whose worker died);
process_version: at most one active version per process

Revision ID: reliability_0001
Revises: ratelimit_0001
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "reliability_0001"
down_revision = "ratelimit_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("background_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rq_job_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_background_job_status", ["status"], unique=False)
    # jobs handed out before attempts were counted ran once
    op.execute(sa.text("UPDATE background_job SET attempts = 1"))

    # Races could leave several active versions of a process: the newest of them stays active.
    op.execute(sa.text(
        "UPDATE process_version SET active = :no WHERE active = :yes AND version < ("
        " SELECT max(p.version) FROM process_version p"
        " WHERE p.process_key = process_version.process_key AND p.active = :yes)"
    ).bindparams(yes=True, no=False))
    with op.batch_alter_table("process_version", schema=None) as batch_op:
        batch_op.create_index("uq_process_version_active", ["process_key"], unique=True,
                              sqlite_where=sa.text("active = 1"), postgresql_where=sa.text("active"))


def downgrade():
    with op.batch_alter_table("process_version", schema=None) as batch_op:
        batch_op.drop_index("uq_process_version_active")
    with op.batch_alter_table("background_job", schema=None) as batch_op:
        batch_op.drop_index("ix_background_job_status")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("rq_job_id")
        batch_op.drop_column("attempts")
