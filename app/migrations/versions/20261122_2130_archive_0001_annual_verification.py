"""annual verification results, training days of credit records, declaration summaries

Revision ID: archive_0001
Revises: admins_0001
Create Date: 2026-11-22 21:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "archive_0001"
down_revision = "admins_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "annual_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("public_hours", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("professional_hours", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("elective_hours", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("total_hours", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("rule_name", sa.String(length=200), nullable=True),
        sa.Column("rule_hash", sa.String(length=64), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name="fk_annual_verification_person_id_person"),
        sa.PrimaryKeyConstraint("id", name="pk_annual_verification"),
        sa.UniqueConstraint("person_id", "year", name="uq_annual_verification_person_id_year"),
    )
    with op.batch_alter_table("annual_verification", schema=None) as batch_op:
        batch_op.create_index("ix_annual_verification_year_verified", ["year", "verified"], unique=False)
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("days", sa.Numeric(precision=5, scale=1), nullable=True))
    op.create_table(
        "credit_declaration",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("declared_by_unit", sa.Boolean(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=True),
        sa.Column("learning_form", sa.String(length=32), nullable=True),
        sa.Column("course_name", sa.String(length=200), nullable=True),
        sa.Column("hours", sa.Numeric(precision=6, scale=1), nullable=True),
        sa.Column("days", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"],
                                name="fk_credit_declaration_instance_id_process_instance"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name="fk_credit_declaration_person_id_person"),
        sa.ForeignKeyConstraint(["unit_id"], ["organisation.id"], name="fk_credit_declaration_unit_id_organisation"),
        sa.PrimaryKeyConstraint("instance_id", name="pk_credit_declaration"),
    )
    with op.batch_alter_table("credit_declaration", schema=None) as batch_op:
        batch_op.create_index("ix_credit_declaration_person_year", ["person_id", "year"], unique=False)
        batch_op.create_index("ix_credit_declaration_unit_year", ["unit_id", "year"], unique=False)


def downgrade():
    with op.batch_alter_table("credit_declaration", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_declaration_unit_year")
        batch_op.drop_index("ix_credit_declaration_person_year")
    op.drop_table("credit_declaration")
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.drop_column("days")
    with op.batch_alter_table("annual_verification", schema=None) as batch_op:
        batch_op.drop_index("ix_annual_verification_year_verified")
    op.drop_table("annual_verification")
