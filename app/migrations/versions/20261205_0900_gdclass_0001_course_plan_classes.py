"""training_class.course_plan_class_id and planned_hours: the classes of an approved Guangdong professional-course
plan run as training classes (专业课计划 → 培训班设置)

Revision ID: gdclass_0001
Revises: files_0001
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "gdclass_0001"
down_revision = "files_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("training_class", schema=None) as batch_op:
        batch_op.add_column(sa.Column("course_plan_class_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("planned_hours", sa.Numeric(precision=6, scale=1), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_training_class_course_plan_class_id_course_plan_class"),
                                    "course_plan_class", ["course_plan_class_id"], ["id"])
        batch_op.create_unique_constraint("uq_training_class_course_plan_class_id", ["course_plan_class_id"])


def downgrade():
    with op.batch_alter_table("training_class", schema=None) as batch_op:
        batch_op.drop_constraint("uq_training_class_course_plan_class_id", type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_training_class_course_plan_class_id_course_plan_class"),
                                 type_="foreignkey")
        batch_op.drop_column("planned_hours")
        batch_op.drop_column("course_plan_class_id")
