"""form_edit: forms saved in the forms editor, kept in the database over the shipped files of forms/

Revision ID: forms_0001
Revises: online_0001
Create Date: 2026-12-04 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "forms_0001"
down_revision = "online_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "form_edit",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user_account.id"], ondelete="SET NULL",
                                name=op.f("fk_form_edit_updated_by_id_user_account")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_form_edit")),
    )


def downgrade():
    op.drop_table("form_edit")
