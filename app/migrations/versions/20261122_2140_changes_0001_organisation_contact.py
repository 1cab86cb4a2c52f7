"""organisation contact details (no review needed)

Revision ID: changes_0001
Revises: picker_0001
Create Date: 2026-11-22 21:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = "changes_0001"
down_revision = "picker_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_person", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("contact_email")
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("contact_person")
