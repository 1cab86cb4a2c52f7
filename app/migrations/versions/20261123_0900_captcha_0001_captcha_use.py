"""captcha_use: answered captchas, so a signed session cookie cannot be replayed

Revision ID: captcha_0001
Revises: changes_0001
Create Date: 2026-11-23 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "captcha_0001"
down_revision = "changes_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "captcha_use",
        sa.Column("nonce", sa.String(length=16), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_captcha_use")),
    )
    with op.batch_alter_table("captcha_use", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_captcha_use_used_at"), ["used_at"], unique=False)


def downgrade():
    with op.batch_alter_table("captcha_use", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_captcha_use_used_at"))
    op.drop_table("captcha_use")
