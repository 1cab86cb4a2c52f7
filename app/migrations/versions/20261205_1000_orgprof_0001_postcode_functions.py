"""organisation_profile.postcode (邮政编码) and functions (单位职能简介), kept up by the organisation's administrator

Revision ID: orgprof_0001
Revises: gdclass_0001
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "orgprof_0001"
down_revision = "gdclass_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organisation_profile", schema=None) as batch_op:
        batch_op.add_column(sa.Column("postcode", sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column("functions", sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table("organisation_profile", schema=None) as batch_op:
        batch_op.drop_column("functions")
        batch_op.drop_column("postcode")
