"""online_result (线上培训成果: one passed online course per person × platform × course × year) and
credit_record.platform

Revision ID: online_0001
Revises: perf_0001
Create Date: 2026-12-03 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "online_0001"
down_revision = "perf_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "online_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=100), nullable=False),
        sa.Column("course_name", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("hours", sa.Numeric(precision=6, scale=1), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_online_result_organisation_id_organisation")),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_online_result_person_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_online_result")),
        sa.UniqueConstraint("person_id", "platform", "course_name", "year",
                            name="uq_online_result_person_platform_course_year"),
    )
    with op.batch_alter_table("online_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_online_result_organisation_id"), ["organisation_id"], unique=False)
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform", sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.drop_column("platform")
    with op.batch_alter_table("online_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_online_result_organisation_id"))
    op.drop_table("online_result")
