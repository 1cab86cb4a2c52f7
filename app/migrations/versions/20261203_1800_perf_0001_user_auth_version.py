"""user_account.auth_version: renewed with every change to what a signed-in user holds, so each process's user
cache serves an entry only while it is current

Revision ID: perf_0001
Revises: stats2_0001
Create Date: 2026-12-03 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "perf_0001"
down_revision = "stats2_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_version", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("auth_version")
